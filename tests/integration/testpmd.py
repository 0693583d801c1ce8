"""Drive the stock dpdk-testpmd as a real process for the integration suite.

One `Testpmd` is one DPDK process with its own --file-prefix. It is driven over stdin/stdout in
interactive mode: every command waits for the next `testpmd> ` prompt with a deadline, and every
wait on the forwarding reads counters until a condition holds or a deadline passes (no sleep as
synchronisation). On failure the whole log of the process is printed.
"""
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77
PROMPT = b"testpmd> "


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


class Failure(Exception):
    pass


def unique_prefix(tag):
    return f"ixlm-{tag}-{os.getpid()}"


def hugepages_ready(mem_mib):
    """Hugepages mounted and enough of them free (same rule as scripts/eal-mem.sh)."""
    try:
        with open("/proc/mounts") as f:
            if "hugetlbfs" not in f.read():
                return False
        with open("/proc/meminfo") as f:
            m = re.search(r"HugePages_Free:\s+(\d+)", f.read())
        return bool(m) and int(m.group(1)) * 2 > mem_mib
    except OSError:
        return False


def eal_mem_args(prefix, mem_mib=1024):
    if hugepages_ready(mem_mib):
        return ["--file-prefix", prefix]
    return ["--no-huge", "-m", str(mem_mib), "--file-prefix", prefix]


def cleanup_prefix(prefix):
    """Remove what an exited DPDK process of this prefix may leave behind: its hugepage files (a
    process that exits through rte_exit keeps them, and they hold hugepages) and its runtime dir."""
    try:
        with open("/proc/mounts") as f:
            mounts = [l.split()[1] for l in f if l.split()[2:3] == ["hugetlbfs"]]
    except OSError:
        mounts = []
    for m in mounts:
        try:
            for name in os.listdir(m):
                if name.startswith(prefix + "map_"):
                    os.unlink(os.path.join(m, name))
        except OSError:
            pass
    shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)


def testpmd_binary():
    exe = shutil.which("dpdk-testpmd")
    if not exe:
        skip("dpdk-testpmd not installed")
    return exe


SIM_PLUGIN = "librte_net_ixgbevf_lm_sim.so"


def plugin_args(pmd_so):
    """EAL -d arguments for the production PMD and, beside it, the sim plugin built on it."""
    args = ["-d", pmd_so]
    sim = os.path.join(os.path.dirname(pmd_so), SIM_PLUGIN)
    if os.path.exists(sim):
        args += ["-d", sim]
    return args


def sim_vdev(index, pf, vf, mac=None, uplink=None, trusted=None):
    s = f"net_ixgbevf_lm_sim{index},pf={pf},vf={vf}"
    if mac:
        s += f",mac={mac}"
    if uplink:
        s += f",uplink={uplink}"
    if trusted is not None:
        s += f",trusted={1 if trusted else 0}"
    return s


class Testpmd:
    """An interactive dpdk-testpmd. Use as a context manager: the process is always reaped."""

    def __init__(self, pmd_so, vdevs, app_args=(), tag="t", lcores="0-1", mbufs=16384, extra_eal=(), wrapper=()):
        """wrapper: a command line testpmd runs under, e.g. ("ip", "netns", "exec", ns)."""
        self.prefix = unique_prefix(tag)
        eal = ["-l", lcores, "--no-pci", "--log-level", "pmd.net.ixgbevf_lm*:info"]
        eal += eal_mem_args(self.prefix)
        if pmd_so:
            eal += plugin_args(pmd_so)
        for v in vdevs:
            eal += ["--vdev", v]
        eal += list(extra_eal)
        app = ["-i", f"--total-num-mbufs={mbufs}"] + list(app_args)
        # stdbuf: testpmd prints with stdio, which a pipe would block-buffer behind the prompt.
        self.argv = list(wrapper) + [testpmd_binary()] + eal + ["--"] + app
        self.log = bytearray()
        self._pending = bytearray()
        self.proc = None

    # -- process -------------------------------------------------------------------------------
    def start(self, timeout=60):
        print("+ " + " ".join(self.argv), flush=True)
        self.proc = subprocess.Popen(["stdbuf", "-oL", "-eL"] + self.argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self.wait_for(PROMPT, timeout)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if exc_type is not None:
            self.dump()
        return False

    def close(self, timeout=20):
        """quit, then wait for the exit; kill the process group if it does not go."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
            deadline = time.monotonic() + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                self._read_some(0.2)
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                self.log += b"\n[harness: killed after quit timed out]\n"
        while self._read_some(0):
            pass
        cleanup_prefix(self.prefix)
        return self.proc.returncode

    def dump(self, tail=None):
        text = self.log.decode(errors="replace")
        if tail:
            text = "\n".join(text.splitlines()[-tail:])
        print("----- testpmd log -----\n" + text + "\n----- end of log -----", flush=True)

    # -- I/O -----------------------------------------------------------------------------------
    def _read_some(self, timeout):
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [], max(0.0, timeout))
        if not r:
            return False
        data = os.read(fd, 65536)
        if not data:
            return False
        self.log += data
        self._pending += data
        return True

    def wait_for(self, pattern, timeout):
        """Read until `pattern` (bytes or compiled bytes regex) appears; return everything up to it."""
        deadline = time.monotonic() + timeout
        while True:
            if isinstance(pattern, bytes):
                i = self._pending.find(pattern)
                end = i + len(pattern) if i >= 0 else -1
            else:
                m = pattern.search(self._pending)
                end = m.end() if m else -1
            if end >= 0:
                out = bytes(self._pending[:end])
                del self._pending[:end]
                return out.decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"timed out after {timeout}s waiting for {pattern!r}")
            if not self._read_some(min(left, 0.5)) and self.proc.poll() is not None:
                while self._read_some(0):
                    pass
                raise Failure(f"testpmd exited ({self.proc.returncode}) while waiting for {pattern!r}")

    def cmd(self, line, timeout=15):
        """Send one command; return its output (without the echo of the line and the prompt)."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        out = self.wait_for(PROMPT, timeout)
        out = out[: -len(PROMPT.decode())]
        first, _, rest = out.partition("\n")
        return rest if line.strip() in first else out

    # -- testpmd output parsing ----------------------------------------------------------------
    def port_stats(self, port):
        out = self.cmd(f"show port stats {port}")
        rx = re.search(r"RX-packets:\s*(\d+)\s+RX-missed:\s*(\d+)\s+RX-bytes:\s*(\d+)", out)
        tx = re.search(r"TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)\s+TX-bytes:\s*(\d+)", out)
        if not rx or not tx:
            raise Failure(f"cannot parse 'show port stats {port}':\n{out}")
        return {"rx": int(rx.group(1)), "rx_missed": int(rx.group(2)), "rx_bytes": int(rx.group(3)),
                "tx": int(tx.group(1)), "tx_errors": int(tx.group(2)), "tx_bytes": int(tx.group(3))}

    def xstats_list(self, port):
        """[(name, value)] in the order testpmd lists them (duplicates kept)."""
        out = self.cmd(f"show port xstats {port}")
        return [(m.group(1), int(m.group(2))) for m in re.finditer(r"^\s*(\S+):\s+(\d+)\s*$", out, re.M)]

    def xstats(self, port):
        return dict(self.xstats_list(port))

    def port_info(self, port):
        out = self.cmd(f"show port info {port}")
        info = {}
        for line in out.splitlines():
            k, sep, v = line.partition(":")
            if sep:
                info.setdefault(k.strip(), v.strip())
        info["_raw"] = out
        return info

    def wait_until(self, what, predicate, timeout, poll=0.2):
        """Evaluate predicate() (which may issue commands) until true; the wait between tries is a
        poll interval on a condition with a deadline."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            self._read_some(poll)  # idle wait that also drains any asynchronous output
        raise Failure(f"timed out after {timeout}s waiting for {what} (last: {last!r})")

    def wait_rx(self, ports, at_least, timeout):
        def enough():
            stats = {p: self.port_stats(p) for p in ports}
            return stats if all(s["rx"] >= at_least for s in stats.values()) else None
        return self.wait_until(f"RX-packets >= {at_least} on ports {ports}", enough, timeout)

    def stop_forwarding(self, timeout=20):
        """`stop`, returning the per-port forward statistics {port: {rx, rx_dropped, tx, tx_dropped}}."""
        out = self.cmd("stop", timeout)
        stats = {}
        for m in re.finditer(r"Forward statistics for port (\d+)\s*-+\s*\n\s*RX-packets:\s*(\d+)\s+"
                             r"RX-dropped:\s*(\d+)\s+RX-total:\s*(\d+)\s*\n\s*TX-packets:\s*(\d+)\s+"
                             r"TX-dropped:\s*(\d+)\s+TX-total:\s*(\d+)", out):
            stats[int(m.group(1))] = {"rx": int(m.group(2)), "rx_dropped": int(m.group(3)),
                                      "tx": int(m.group(5)), "tx_dropped": int(m.group(6))}
        if not stats:
            raise Failure(f"no forward statistics in the output of 'stop':\n{out}")
        return stats


def run_batch(argv, timeout=60, env=None):
    """Run a non-interactive process to completion with a deadline; return (rc, output)."""
    print("+ " + " ".join(argv), flush=True)
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env,
                           stderr=subprocess.STDOUT, timeout=timeout, start_new_session=True)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        return None, out + "\n[harness: timed out]"


def netns_preflight(ns):
    """Skip (77) unless a TAP interface and a network namespace can be had; creates the namespace."""
    if os.geteuid() != 0:
        skip("needs root (TAP interface and network namespace)")
    if not os.path.exists("/dev/net/tun"):
        skip("no /dev/net/tun")
    for tool in ("ip", "ping"):
        if not shutil.which(tool):
            skip(f"{tool} not installed")
    if subprocess.run(["ip", "netns", "add", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        skip("cannot create a network namespace")


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def main(body):
    """Run body(); print PASS, or FAIL with the reason, and exit with the right code."""
    try:
        body()
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        sys.exit(1)
    print("PASS", flush=True)
    sys.exit(0)
