#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A device process writes the guest's RAM behind QEMU's back while stock QEMU live-migrates the
guest (build/app/ixgbevf-lm-vmhost: the model's DmaSpace on QEMU's memory-backend file).

  mode bitmap: at pause-before-switchover (source paused, its RAM final) the device takes its dirty
               log; after QEMU completes, the tool copies every logged page into the destination's
               RAM before `cont`: 0 differing pages, and the guest's own check of every DMA-written
               byte passes on the destination.
  mode off:    the same run without the copy (the negative control): pages differ, and the guest's
               check fails. This proves the comparison and the guest check can fail.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402

HUGEPAGES = 4          # the guest buffer the device writes: 4 x 2 MiB = 2048 pages
ROUNDS = 3             # device write rounds during pre-copy
MAX_QEMU_LOST = 64     # pages QEMU 7.2's TCG migration may leave different itself (doc/design/vm.md)


class VmHost:
    def __init__(self, exe, ram_path):
        self.p = subprocess.Popen([exe, "--ram", ram_path, "--machine", "q35"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.hello = self._reply("start")

    def _reply(self, what):
        line = self.p.stdout.readline()  # the tool answers every command at once (no waits)
        if not line:
            raise vmlib.Failure(f"ixgbevf-lm-vmhost exited at {what}: {self.p.stderr.read()}")
        r = json.loads(line)
        if not r.get("ok"):
            raise vmlib.Failure(f"ixgbevf-lm-vmhost {what}: {r.get('error')}")
        return r

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self._reply(line)

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
            self.p.wait(timeout=10)


def runs(gpas):
    """Contiguous runs (gpa, pages) of a sorted page list."""
    out = []
    for g in gpas:
        if out and out[-1][0] + out[-1][1] * vmlib.PAGE == g:
            out[-1][1] += 1
        else:
            out.append([g, 1])
    return out


def device_round(host, buf_runs, gen):
    written = 0
    for gpa, n in buf_runs:
        written += host.cmd(f"dma {gen} 0x{gpa:x} {n}")["written"]
    return written


def main():
    r = run(sys.argv[1], sys.argv[3])
    print(f"PASS ({r['mode']}): {r['summary']}; guest {r['guest_check']}")
    return 0


def run(build, mode):
    """One migration with the device writing; asserts the mode's verdict, returns its figures."""
    exe = os.path.join(build, "app", "ixgbevf-lm-vmhost")
    if not os.path.exists(exe):
        raise vmlib.Failure(f"{exe} not built")
    guest = vmlib.build_guest(build)
    with vmlib.Workdir(f"dma-{mode}") as wd:
        src = vmlib.Vm(wd, "src", guest)
        dst = vmlib.Vm(wd, "dst", guest, incoming=True)
        src.wait_ready()
        _, out = src.console.run(f"ixgbevf-lm-guest-probe dmabuf dma {HUGEPAGES}")
        gpas = sorted(vmlib.dmabuf_gpas(out))
        assert len(gpas) == HUGEPAGES * 512, f"guest buffer: {len(gpas)} pages"
        buf = runs(gpas)
        host = VmHost(exe, src.ram_path)
        try:
            # a descriptor pointing outside guest RAM is a DMA fault, not a crash
            r = host.cmd("dma 1 0xfff00000000 1")
            assert r["faults"] == 1 and r["written"] == 0, r
            gen = 1
            device_round(host, buf, gen)
            host.cmd("dirty")
            mig = vmlib.Migration(src, dst)
            mig.start()
            for _ in range(ROUNDS):  # the device keeps writing during pre-copy
                gen += 1
                device_round(host, buf, gen)
            mig.wait("pre-switchover")
            # the source is paused: a last DMA lands (a frame received before the quiesce), then
            # the final dirty log
            gen += 1
            device_round(host, buf, gen)
            logged = host.cmd("dirty")["logged"]
            info = mig.proceed()
            mig.wait_destination()
            copied = 0
            t_copy = time.monotonic()
            if mode == "bitmap":
                copied = host.cmd(f"copy-to {dst.ram_path}")["copied"]
            t_copy = time.monotonic() - t_copy
            stats = host.cmd("stats")
        finally:
            host.close()
        first, diff = vmlib.compare_settled(mig)
        offsets = [vmlib.gpa_to_offset(src.machine, src.ram_bytes, g) for g in gpas]
        device_diff = vmlib.differing_pages(src.ram_path, dst.ram_path, offsets)
        dst.qmp.cmd("cont")
        rc, out = dst.console.run(f"ixgbevf-lm-guest-probe check dma {gen}", timeout=120, check=False)
        summary = (f"QEMU downtime {info.get('downtime')} ms, total {mig.total_s:.2f} s; device log "
                   f"{logged} pages, copied {copied} in {t_copy * 1000:.1f} ms; RAM: {diff}, "
                   f"{device_diff} of the device's {len(gpas)}; "
                   f"{stats['faults']} DMA fault(s)")
        if mode == "bitmap":
            assert copied == logged == len(gpas), f"copied {copied}, logged {logged}: {summary}"
            assert device_diff == 0, f"device pages lost although the log was copied: {summary}"
            # other pages: what QEMU's TCG migration itself may leave (test_migration_ram.py)
            assert diff.differing <= MAX_QEMU_LOST, f"pages lost: {summary}"
            assert rc == 0, f"the guest's check failed on the destination: {out[-400:]}"
        else:
            assert device_diff > 0, f"negative control: no page lost without the copy: {summary}"
            assert rc != 0, f"negative control: the guest's check passed: {out[-400:]}"
        check = [l for l in out.splitlines() if l.startswith("check:")][-1]
        return {"mode": mode, "summary": summary, "guest_check": check, "diff": diff.differing,
                "downtime_ms": info.get("downtime"), "total_s": mig.total_s, "logged": logged,
                "copied": copied, "copy_ms": t_copy * 1000, "guest_bad": rc != 0,
                "device_diff": device_diff,
                "diff_at_completion": first.differing}


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (vmlib.Failure, AssertionError) as e:
        print(f"FAIL: {e}")
        sys.exit(1)
