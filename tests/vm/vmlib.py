# SPDX-License-Identifier: BSD-3-Clause
"""Real QEMU for the vm suite: the guest, its console, two QEMUs and a live migration between them.

    g = build_guest(build_dir)                       # scripts/build-guest.sh: kernel + initramfs
    with Workdir("mig") as wd:
        src = Vm(wd, "src", g)                       # RAM and ivshmem are files in wd
        dst = Vm(wd, "dst", g, incoming=True)        # -incoming unix:..., -S
        src.console.run("uname -r")
        m = Migration(src, dst); m.start(); m.wait("pre-switchover"); ...; m.proceed()
        assert compare_ram(src.ram_path, dst.ram_path).differing == 0

Guest RAM is a memory-backend-file with share=on (the host device process maps the same file) and
the ivshmem-plain device's memory another one (master=on, so that QEMU migrates it). Accelerator:
TCG unless IXGBEVF_LM_VM_ACCEL=kvm (the KVM guest hangs in early boot on the machines this was
made on). Every wait is bounded; on failure the QEMU stderr and console logs are printed.
"""
import mmap
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import Qmp, QmpError  # noqa: E402

SKIP = 77
PAGE = 4096

# meson's timeout sends SIGTERM: unwind, so that Workdir stops the QEMUs and removes their files.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))
QEMU = "qemu-system-x86_64"


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


class Failure(Exception):
    pass


def source_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_guest(build_dir):
    """Runs the set-up; skips only when this machine cannot run QEMU at all."""
    if os.geteuid() != 0 and not shutil.which("sudo"):
        skip("the vm suite installs QEMU and the guest packages: needs root or sudo")
    script = os.path.join(source_root(), "scripts", "build-guest.sh")
    r = subprocess.run([script, build_dir], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise Failure(f"scripts/build-guest.sh failed:\n{r.stderr}")
    gdir = r.stdout.strip().splitlines()[-1]
    return {"kernel": os.path.join(gdir, "vmlinuz"), "initrd": os.path.join(gdir, "initramfs.cpio"),
            "dir": gdir}


def accel():
    return os.environ.get("IXGBEVF_LM_VM_ACCEL", "tcg")


def accel_arg():
    a = accel()
    return a + os.environ.get("IXGBEVF_LM_VM_TCG", "") if a == "tcg" else a


def below_4g(machine, ram_bytes):
    """Guest RAM under 4 GiB for QEMU's x86 machines with default options (the rest starts at
    4 GiB): q35 keeps everything below when RAM < 2.75 GiB, else 2 GiB; pc: 3.5 GiB, else 3 GiB.
    Mirrors lib/shmdev's GuestRam (the C++ side of the same layout)."""
    if machine == "q35":
        return ram_bytes if ram_bytes < 0xB0000000 else 0x80000000
    return ram_bytes if ram_bytes < 0xE0000000 else 0xC0000000


def gpa_to_offset(machine, ram_bytes, gpa):
    low = below_4g(machine, ram_bytes)
    if gpa < low:
        return gpa
    if gpa >= 1 << 32 and gpa - (1 << 32) < ram_bytes - low:
        return low + gpa - (1 << 32)
    raise ValueError(f"GPA 0x{gpa:x} is not guest RAM")


class Workdir:
    """A directory on tmpfs for RAM files and sockets, removed at exit."""

    def __init__(self, tag):
        base = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
        self.path = os.path.join(base, f"ixlm-vm-{tag}-{os.getpid()}")
        self.vms = []

    def __enter__(self):
        shutil.rmtree(self.path, ignore_errors=True)
        os.makedirs(self.path)
        return self

    def __exit__(self, *exc):
        for vm in reversed(self.vms):
            vm.kill()
        if exc[0] is not None:
            for vm in self.vms:
                vm.dump_logs()
        shutil.rmtree(self.path, ignore_errors=True)
        return False

    def file(self, name):
        return os.path.join(self.path, name)


class Console:
    """The guest's serial console (a QEMU chardev socket): run a shell command, get its output."""

    def __init__(self, path, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock.connect(path)
                break
            except OSError:
                self._sock.close()
                if time.monotonic() > deadline:
                    raise Failure(f"console socket {path} not accepting within {timeout} s")
                time.sleep(0.05)
        self._buf = ""
        self._pos = 0
        self._cv = threading.Condition()
        self._closed = False
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            with self._cv:
                if not chunk:
                    self._closed = True
                    self._cv.notify_all()
                    return
                self._buf += chunk.decode(errors="replace").replace("\r", "")
                self._cv.notify_all()

    def text(self):
        with self._cv:
            return self._buf

    def expect(self, pattern, timeout):
        """Waits for pattern after the last match; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                m = rx.search(self._buf, self._pos)
                if m:
                    self._pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    tail = self._buf[self._pos:][-2000:]
                    raise Failure(f"console: no /{pattern}/ within {timeout} s; "
                                  f"last output:\n{tail}")
                self._cv.wait(left)

    def send(self, line):
        self._sock.sendall(line.encode() + b"\n")

    def run(self, cmd, timeout=30.0, check=True):
        """Runs cmd in the guest's shell; returns (exit status, output)."""
        with self._cv:
            start = len(self._buf)
            self._pos = start
        self.send(f"{cmd}; echo @@RC=$?@@")
        m = self.expect(r"@@RC=(\d+)@@", timeout)
        with self._cv:
            out = self._buf[start:m.start()]
        rc = int(m.group(1))
        if check and rc != 0:
            raise Failure(f"guest command failed ({rc}): {cmd}\n{out}")
        return rc, out

    def close(self):
        self._sock.close()


class Vm:
    """One QEMU process: q35, guest RAM and the ivshmem memory as files in the work directory."""

    def __init__(self, wd, name, guest, ram_mib=1024, ivshmem_mib=4, incoming=False,
                 hugepages=96, extra_devices=()):
        self.name = name
        self.machine = "q35"
        self.ram_bytes = ram_mib << 20
        self.ram_path = wd.file(f"{name}.ram")
        self.ivshmem_path = wd.file(f"{name}.ivshmem")
        self.qmp_path = wd.file(f"{name}.qmp")
        self.console_path = wd.file(f"{name}.console")
        self.console_log = wd.file(f"{name}.console.log")
        self.stderr_path = wd.file(f"{name}.stderr")
        self.migrate_path = wd.file(f"{name}.migrate")
        # The ivshmem file exists with its size before QEMU opens it, so the host side can map it.
        with open(self.ivshmem_path, "wb") as f:
            f.truncate(ivshmem_mib << 20)
        cmdline = f"console=ttyS0 loglevel=4 panic=-1 hugepages={hugepages} tsc=reliable"
        args = [QEMU, "-machine", "q35,memory-backend=ram", "-accel", accel_arg(),
                "-cpu", "max", "-smp", "1", "-m", f"{ram_mib}M",
                "-object", f"memory-backend-file,id=ram,size={ram_mib}M,"
                           f"mem-path={self.ram_path},share=on",
                "-object", f"memory-backend-file,id=ivmem,size={ivshmem_mib}M,"
                           f"mem-path={self.ivshmem_path},share=on",
                "-device", "ivshmem-plain,memdev=ivmem,master=on,addr=0x5",
                "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
                "-chardev", f"socket,id=con,path={self.console_path},server=on,wait=off,"
                            f"logfile={self.console_log}",
                "-serial", "chardev:con",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                "-kernel", guest["kernel"], "-initrd", guest["initrd"], "-append", cmdline]
        for d in extra_devices:
            args += list(d)
        if incoming:
            args += ["-incoming", f"unix:{self.migrate_path}", "-S"]
        if not shutil.which(QEMU):
            raise Failure(f"{QEMU} not found after the set-up")
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=subprocess.STDOUT)
        wd.vms.append(self)
        try:
            self.qmp = Qmp(self.qmp_path, timeout=20)
        except (TimeoutError, ConnectionError, QmpError) as e:
            self.kill()
            raise Failure(f"QEMU {name} did not start: {e}\n{open(self.stderr_path).read()}")
        self.console = Console(self.console_path)

    def wait_ready(self, timeout=180):
        """Waits for the guest's init to reach its shell (the kernel's boot on TCG: ~6 s idle)."""
        t0 = time.monotonic()
        self.console.expect("IXLM-GUEST-READY", timeout)
        self.console.run("true", timeout=30)
        return time.monotonic() - t0

    def status(self):
        return self.qmp.cmd("query-status")["status"]

    def kill(self):
        if self.proc.poll() is None:
            try:
                self.qmp.cmd("quit", timeout=5)
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()

    def dump_logs(self):
        for what, path in (("stderr", self.stderr_path), ("console", self.console_log)):
            try:
                text = open(path, errors="replace").read()[-3000:]
            except OSError:
                continue
            print(f"--- QEMU {self.name} {what} (last 3000 bytes) ---\n{text}", file=sys.stderr)


class Migration:
    """The source's live migration to the destination over a unix socket, stopping at
    pause-before-switchover (source paused, its RAM final, the destination not yet running)."""

    def __init__(self, src, dst, pause_before_switchover=True):
        self.src, self.dst = src, dst
        caps = [{"capability": "pause-before-switchover", "state": pause_before_switchover}]
        src.qmp.cmd("migrate-set-capabilities", capabilities=caps)
        # Both QEMUs are on this machine: no bandwidth cap (the default is for a real network), and
        # QEMU's downtime target stays its default 300 ms.
        src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 8 << 30})
        self.t0 = None

    def start(self):
        self.t0 = time.monotonic()
        self.src.qmp.cmd("migrate", uri=f"unix:{self.dst.migrate_path}")

    def info(self):
        return self.src.qmp.cmd("query-migrate")

    def wait(self, status, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            info = self.info()
            s = info.get("status")
            if s == status:
                return info
            if s in ("failed", "cancelled") and status not in ("failed", "cancelled"):
                raise Failure(f"migration {s}: {info.get('error-desc', info)}")
            if time.monotonic() > deadline:
                raise Failure(f"migration still '{s}' after {timeout} s, waiting for '{status}'")
            time.sleep(0.02)  # polling QMP: QEMU has no blocking query

    def proceed(self, timeout=120):
        """migrate-continue at pre-switchover, then waits for completion; returns query-migrate."""
        self.src.qmp.cmd("migrate-continue", state="pre-switchover")
        info = self.wait("completed", timeout)
        self.total_s = time.monotonic() - self.t0
        return info


    def wait_destination(self, timeout=60):
        """Waits until the destination has loaded the whole stream: its own query-migrate says
        completed and it is paused (-S)."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.dst.qmp.cmd("query-migrate").get("status")
            st = self.dst.status()
            if s == "completed" and st == "paused":
                return
            if time.monotonic() > deadline:
                raise Failure(f"destination still {st}, incoming {s}, after {timeout} s")
            time.sleep(0.02)  # polling QMP: QEMU has no blocking query


def compare_settled(mig, settle_s=2.0):
    """compare_ram once the destination is done; when pages differ, compares again after settle_s
    and returns (first, second): a difference that disappears was still in flight."""
    mig.wait_destination()
    first = compare_ram(mig.src.ram_path, mig.dst.ram_path)
    if first.differing == 0:
        return first, first
    detail = describe_pages(mig.src.ram_path, mig.dst.ram_path, first.first)
    print(f"note: right after completion {first}:\n{detail}", file=sys.stderr)
    time.sleep(settle_s)  # diagnostic only: whether QEMU was still writing either RAM file
    return first, compare_ram(mig.src.ram_path, mig.dst.ram_path)


class RamDiff:
    def __init__(self, pages, differing, first):
        self.pages, self.differing, self.first = pages, differing, first

    def __repr__(self):
        return f"{self.differing} of {self.pages} pages differ" + (
            f" (first at offset 0x{self.first[0]:x})" if self.first else "")


def compare_ram(a_path, b_path, chunk=2 << 20):
    """Compares two RAM files page by page (both VMs paused): differing 4 KiB pages."""
    with open(a_path, "rb") as fa, open(b_path, "rb") as fb:
        size = os.fstat(fa.fileno()).st_size
        if os.fstat(fb.fileno()).st_size != size:
            raise Failure(f"{a_path} and {b_path} differ in size")
        ma = mmap.mmap(fa.fileno(), size, prot=mmap.PROT_READ)
        mb = mmap.mmap(fb.fileno(), size, prot=mmap.PROT_READ)
        differing, first = 0, []
        for off in range(0, size, chunk):
            if ma[off:off + chunk] == mb[off:off + chunk]:
                continue
            for p in range(off, min(off + chunk, size), PAGE):
                if ma[p:p + PAGE] != mb[p:p + PAGE]:
                    differing += 1
                    if len(first) < 8:
                        first.append(p)
        ma.close()
        mb.close()
        return RamDiff(size // PAGE, differing, first)


def differing_pages(a_path, b_path, offsets):
    """How many of the 4 KiB pages at these file offsets differ between two RAM files."""
    n = 0
    with open(a_path, "rb") as fa, open(b_path, "rb") as fb:
        for off in offsets:
            fa.seek(off)
            fb.seek(off)
            n += fa.read(PAGE) != fb.read(PAGE)
    return n


def describe_pages(a_path, b_path, offsets):
    """One line per page: how many bytes differ, and which side is all zero (for failures)."""
    lines = []
    with open(a_path, "rb") as fa, open(b_path, "rb") as fb:
        for off in offsets:
            fa.seek(off)
            fb.seek(off)
            x, y = fa.read(PAGE), fb.read(PAGE)
            nd = sum(1 for i in range(PAGE) if x[i] != y[i])
            lines.append(f"  offset 0x{off:x}: {nd} bytes differ, zero: a={x == bytes(PAGE)} "
                         f"b={y == bytes(PAGE)}")
    return "\n".join(lines)


def dmabuf_gpas(console_output):
    """The page GPAs of `ixgbevf-lm-guest-probe dmabuf` output."""
    gpas = []
    for start, n in re.findall(r"dmabuf-run 0x([0-9a-f]+) (\d+)", console_output):
        gpas += [int(start, 16) + i * PAGE for i in range(int(n))]
    return gpas


def copy_pages(src_path, dst_path, offsets):
    """Copies the 4 KiB pages at the given file offsets from one RAM file to another."""
    with open(src_path, "rb") as fs, open(dst_path, "r+b") as fd:
        for off in offsets:
            fs.seek(off)
            fd.seek(off)
            fd.write(fs.read(PAGE))
