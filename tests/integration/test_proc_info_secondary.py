#!/usr/bin/env python3
"""Multi-process: the stock dpdk-testpmd is the primary (two sim VFs on one PF, io forwarding over
the PF's switch) and the stock dpdk-proc-info attaches as a secondary process with the same
--file-prefix and the plugin. While the primary forwards, the secondary reads counters that grow
and never exceed what the primary reports afterwards; once forwarding stopped and the device
counters settled, `--stats` and `--xstats` of the secondary equal the primary's `show port stats`
and `show port xstats` (the driver's counters, per queue and of the device). The primary is still
running after each secondary exited (it outlives them).

Usage: test_proc_info_secondary.py <librte_net_ixgbevf_lm.so> <source dir>
"""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Testpmd, check, hugepages_ready, main, plugin_args, run_batch, sim_vdev, skip  # noqa: E402

MAC0, MAC1 = "02:00:00:00:00:20", "02:00:00:00:00:21"
BURST = 32
# Counters the driver keeps in shared memory or takes from the device: the same in both processes
# once the port is idle. (Migration xstats are compared too: no migration runs here.)
SECONDARY_TIMEOUT = 60


def proc_info(t, pmd, what):
    exe = shutil.which("dpdk-proc-info")
    argv = [exe, "--file-prefix", t.prefix, "--proc-type=secondary", "--no-pci",
            "--log-level", "pmd.net.ixgbevf_lm*:info"] + plugin_args(pmd) + ["--", what]
    rc, out = run_batch(argv, timeout=SECONDARY_TIMEOUT)
    if rc != 0:
        print(out)
    check(rc == 0, f"dpdk-proc-info {what} exited with {rc}")
    check(t.proc.poll() is None, "the primary exited while the secondary ran")
    return out


def parse_stats(out):
    """{port: {rx, rx_bytes, tx, tx_bytes}} from dpdk-proc-info --stats."""
    stats = {}
    for m in re.finditer(r"NIC statistics for port (\d+).*?RX-packets:\s*(\d+)\s+RX-errors:\s*\d+\s+RX-bytes:\s*(\d+)"
                         r".*?TX-packets:\s*(\d+)\s+TX-errors:\s*\d+\s+TX-bytes:\s*(\d+)", out, re.S):
        stats[int(m.group(1))] = {"rx": int(m.group(2)), "rx_bytes": int(m.group(3)),
                                  "tx": int(m.group(4)), "tx_bytes": int(m.group(5))}
    return stats


def parse_xstats(out):
    """{port: {name: value}} from dpdk-proc-info --xstats."""
    xs = {}
    port = None
    for line in out.splitlines():
        m = re.match(r"#+ NIC extended statistics for port (\d+)", line)
        if m:
            port = int(m.group(1))
            xs[port] = {}
            continue
        m = re.match(r"^(\w+): (\d+)$", line)
        if m and port is not None:
            xs[port][m.group(1)] = int(m.group(2))
    return xs


def body():
    pmd = sys.argv[1]
    if not shutil.which("dpdk-proc-info"):
        skip("dpdk-proc-info not installed")
    if not hugepages_ready(1024):
        skip("secondary processes need hugepages (shared memory)")
    pf = f"mp{os.getpid()}"
    vdevs = [sim_vdev(0, pf, 0, MAC0), sim_vdev(1, pf, 1, MAC1)]
    app = ["--forward-mode=io", f"--burst={BURST}", f"--eth-peer=0,{MAC1}", f"--eth-peer=1,{MAC0}"]
    with Testpmd(pmd, vdevs, app, tag="mp") as t:
        t.cmd("clear port stats all")
        t.cmd("start tx_first")
        t.wait_rx([0, 1], 5000, timeout=20)

        # While the primary forwards: the secondary reads growing counters.
        first = parse_stats(proc_info(t, pmd, "--stats"))
        check(set(first) == {0, 1}, f"secondary saw ports {sorted(first)}, expected [0, 1]")
        check(all(first[p]["rx"] > 0 and first[p]["tx"] > 0 for p in (0, 1)), f"secondary counters: {first}")
        second = parse_stats(proc_info(t, pmd, "--stats"))
        check(all(second[p]["rx"] > first[p]["rx"] for p in (0, 1)),
              f"counters did not grow between two secondaries while forwarding: {first} then {second}")

        t.stop_forwarding()
        last = [None]

        def settled():
            now = (t.port_stats(0), t.port_stats(1))
            same = now == last[0]
            last[0] = now
            return same
        t.wait_until("device counters settled after stop", settled, timeout=10)
        prim = {0: last[0][0], 1: last[0][1]}
        for p in (0, 1):
            check(second[p]["rx"] <= prim[p]["rx"] and second[p]["tx"] <= prim[p]["tx"],
                  f"port {p}: the secondary saw more than the primary has: {second[p]} vs {prim[p]}")

        # Idle: the secondary's --stats equal the primary's.
        sec = parse_stats(proc_info(t, pmd, "--stats"))
        for p in (0, 1):
            for k in ("rx", "rx_bytes", "tx", "tx_bytes"):
                check(sec[p][k] == prim[p][k], f"port {p} {k}: secondary {sec[p][k]} != primary {prim[p][k]}")

        # --xstats: the same names, the same values.
        sec_x = parse_xstats(proc_info(t, pmd, "--xstats"))
        for p in (0, 1):
            prim_x = t.xstats(p)
            check(p in sec_x and sec_x[p], f"port {p}: no xstats from the secondary")
            check(set(sec_x[p]) == set(prim_x),
                  f"port {p}: xstat names differ: only secondary {sorted(set(sec_x[p]) - set(prim_x))}, "
                  f"only primary {sorted(set(prim_x) - set(sec_x[p]))}")
            differ = {k: (sec_x[p][k], prim_x[k]) for k in prim_x
                      if sec_x[p][k] != prim_x[k] and k != "mailbox_pf_messages"}
            check(not differ, f"port {p}: xstats differ (secondary, primary): {differ}")
            check(sec_x[p]["rx_good_packets"] == prim[p]["rx"] and sec_x[p]["rx_q0_packets"] > 0,
                  f"port {p}: rx_good_packets {sec_x[p]['rx_good_packets']} vs {prim[p]['rx']}")

        # The primary keeps working after its secondaries left.
        t.cmd("start tx_first")
        t.wait_rx([0, 1], prim[0]["rx"] + 1000, timeout=20)
        t.stop_forwarding()
        print(f"secondary counters agree with the primary: port0 {sec[0]} port1 {sec[1]}")


main(body)
