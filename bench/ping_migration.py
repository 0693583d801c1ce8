#!/usr/bin/env python3
"""Benchmark (not a test): the kernel's 1 ms ping to stock testpmd (icmpecho) through a TAP uplink
while `ixgbevf-lm-migrate run` migrates the port N times, with an ordinary neighbour entry (the
kernel resolves the VF's address by ARP, which icmpecho answers) and no permanent one. Prints the
pings sent and answered, the lost per migration, the gaps between answers over 5 ms, the longest
gap, the TAP's carrier changes and the neighbour entry's state at the end, and the commands.

Needs root, /dev/net/tun, ip and ping (as the integration tests that drive the TAP).

Usage: bench/ping_migration.py [--build build] [--migrations 100]
(`ixgbevf-lm-migrate run --interval-ms 300` between migrations, as the integration test runs it.)
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import test_testpmd_migration as tm  # noqa: E402
from testpmd import Failure, Testpmd, netns_preflight, run_batch, sim_vdev  # noqa: E402

VF_MAC = "02:00:00:00:00:31"
NS_ADDR, VF_ADDR = "192.0.2.1", "192.0.2.2"


def gaps_of(ping_out):
    """Timestamps of the answers (ping -D) and the gaps between consecutive ones."""
    ts = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\] \d+ bytes from", ping_out, re.M)]
    return ts, [b - a for a, b in zip(ts, ts[1:])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--migrations", type=int, default=100)
    a = ap.parse_args()
    pmd = os.path.join(os.path.abspath(a.build), "drivers", "net", "ixgbevf_lm", "librte_net_ixgbevf_lm.so")
    tool = tm.migrate_tool(pmd)
    pid = os.getpid()
    ns, tap, pf = f"ixlm-pb{pid}", f"ixlmpb{pid % 1000000}", f"pb{pid}"
    region = f"/dev/shm/ixlm-pb-{pid}.region"
    netns_preflight(ns)
    t = ping = None
    try:
        create = [tool, "create", "--region", region, "--range", "0:128T", "--page-size", "2M", "--slots", "4"]
        rc, out = run_batch(create, timeout=30)
        if rc != 0:
            raise Failure(f"{' '.join(create)}: {out}")
        vdev = sim_vdev(0, pf, 0, VF_MAC, uplink=f"tap:{tap}") + f",mig_region={region}"
        t = Testpmd(pmd, [vdev], ["--forward-mode=icmpecho"], tag="pingb", extra_eal=["--iova-mode=va"],
                    wrapper=("ip", "netns", "exec", ns))
        t.start()
        t.wait_until(f"TAP {tap} in {ns}", lambda: tm.link(ns, tap), timeout=10)
        tm.sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1", check_rc=False)
        tm.sh("ip", "-n", ns, "addr", "add", f"{NS_ADDR}/24", "dev", tap)
        tm.sh("ip", "-n", ns, "link", "set", tap, "up")
        tm.sh("ip", "-n", ns, "link", "set", "lo", "up")
        t.cmd("start")
        t.wait_until("the port's slot claimed in the region",
                     lambda: "net_ixgbevf_lm_sim0" in run_batch([tool, "status", "--region", region], 30)[1],
                     timeout=30)
        carrier_before = tm.carrier_changes(ns, tap)
        ping_cmd = ["ip", "netns", "exec", ns, "ping", "-D", "-n", "-i", "0.001", "-W", "1", VF_ADDR]
        print("+ " + " ".join(ping_cmd), flush=True)
        ping_log = tempfile.TemporaryFile()  # a file, not a pipe: ping must never block on its output
        ping = subprocess.Popen(ping_cmd, stdin=subprocess.DEVNULL, stdout=ping_log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        time.sleep(1.0)  # a benchmark's warm-up, not a synchronisation: ARP resolved, answers flowing
        tm.MIGRATIONS = a.migrations
        rc, out, records, _ = tm.run_migrations(tool, region, t, timeout=60 + a.migrations * 1.5)
        if rc != 0 or len(records) != a.migrations:
            raise Failure(f"ixgbevf-lm-migrate run exited {rc} with {len(records)} records:\n{out[-2000:]}")
        time.sleep(0.5)
        os.killpg(ping.pid, signal.SIGINT)
        ping.wait(timeout=15)
        ping = None
        ping_log.seek(0)
        pout = ping_log.read().decode(errors="replace")
        m = re.search(r"(\d+) packets transmitted, (\d+) received", pout)
        if not m:
            raise Failure(f"no ping summary:\n{pout[-2000:]}")
        sent, got = int(m.group(1)), int(m.group(2))
        ts, gaps = gaps_of(pout)
        long_gaps = sorted(g for g in gaps if g > 0.005)
        carrier_after = tm.carrier_changes(ns, tap)
        _, neigh = tm.sh("ip", "-n", ns, "neigh", "show", VF_ADDR, "dev", tap)
        downs = sorted(r["downtime_ms"] for r, _ in records if "downtime_ms" in r)
        print(f"command: {' '.join(sys.argv)}")
        print(f"migrations: {len(records)}; driver downtime p50 {downs[len(downs) // 2]:.3f} ms, "
              f"max {downs[-1]:.3f} ms")
        print(f"ping: {sent} sent, {got} answered, {sent - got} lost ({(sent - got) / len(records):.2f} per "
              f"migration); longest gap between answers {max(gaps) * 1000 if gaps else 0:.1f} ms; "
              f"{len(long_gaps)} gaps over 5 ms" + (f" (longest ones, ms: "
              f"{', '.join(f'{g * 1000:.1f}' for g in long_gaps[-5:])})" if long_gaps else ""))
        print(f"TAP carrier_changes {carrier_before} -> {carrier_after}; neighbour at the end: {neigh.strip()}")
        t.stop_forwarding()
    finally:
        tm.stop_process(ping, signal.SIGKILL)
        if t is not None:
            t.close()
        tm.remove_setup(ns, tap, region)


if __name__ == "__main__":
    main()
