#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The guest boots under real QEMU and shares the ivshmem BAR with the host: the host writes a
token into the ivshmem file, the guest reads it through BAR2 (resource2_wc) and answers; the host
reads the answer from the file. Also: hugepages exist in the guest, and guest RAM is the file."""
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402

IVSHMEM_PCI = "0000:00:05.0"


def main():
    build = sys.argv[1]
    guest = vmlib.build_guest(build)
    with vmlib.Workdir("boot") as wd:
        vm = vmlib.Vm(wd, "vm", guest)
        boot_s = vm.wait_ready()
        c = vm.console
        _, out = c.run(f"cat /sys/bus/pci/devices/{IVSHMEM_PCI}/vendor "
                       f"/sys/bus/pci/devices/{IVSHMEM_PCI}/device")
        assert "0x1af4" in out and "0x1110" in out, f"no ivshmem at {IVSHMEM_PCI}: {out}"
        _, out = c.run("cat /proc/sys/vm/nr_hugepages")
        assert int(out.split()[-1]) > 0, f"no hugepages in the guest: {out}"
        _, out = c.run(f"ls /sys/bus/pci/devices/{IVSHMEM_PCI}/")
        wc = "resource2_wc" in out
        token = secrets.token_hex(8)
        with open(vm.ivshmem_path, "r+b") as f:
            f.seek(1024)
            f.write(token.encode())
        _, out = c.run(f"ixgbevf-lm-guest-probe peek {IVSHMEM_PCI} 1024 16")
        assert f"peek: {token}" in out, f"guest did not read the host's token {token}: {out}"
        c.run(f"ixgbevf-lm-guest-probe poke {IVSHMEM_PCI} 2048 reply-{token}")
        with open(vm.ivshmem_path, "rb") as f:
            f.seek(2048)
            got = f.read(6 + len(token)).decode(errors="replace")
        assert got == f"reply-{token}", f"host read {got!r} from the ivshmem file"
        # A page of guest RAM written by the guest is in the RAM file at its guest-physical address.
        _, out = c.run("ixgbevf-lm-guest-probe dmabuf boot 1")
        gpas = vmlib.dmabuf_gpas(out)
        assert len(gpas) == 512, f"expected 512 page addresses: {out[-500:]}"
        c.run("ixgbevf-lm-guest-probe check boot 0 >/dev/null || true")
        off = vmlib.gpa_to_offset(vm.machine, vm.ram_bytes, gpas[0])
        with open(vm.ram_path, "rb") as f:
            f.seek(off)
            assert f.read(vmlib.PAGE) == bytes(vmlib.PAGE), "the zeroed page is not zero in the file"
        print(f"PASS: guest booted in {boot_s:.1f} s ({vmlib.accel()}), ivshmem BAR2 shared both ways "
              f"({'resource2_wc' if wc else 'resource2'}), {len(gpas)} hugepage frames at "
              f"0x{gpas[0]:x}..")
        return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (vmlib.Failure, AssertionError) as e:
        print(f"FAIL: {e}")
        sys.exit(1)
