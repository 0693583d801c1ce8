#!/usr/bin/env python3
"""An interactive testpmd session over stdin on two sim VFs of one PF, each command with its
expected effect: show port info, port stop/start (link back, forwarding after), set promisc on/off,
port config mtu (accepted; too large refused), mac_addr add (traffic to the new MAC received,
and no longer after mac_addr remove), show port xstats (per-queue counters), show port stats.

Usage: test_interactive.py <librte_net_ixgbevf_lm.so> <source dir>
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Failure, Testpmd, check, main, sim_vdev  # noqa: E402

MAC0, MAC1 = "02:00:00:00:00:20", "02:00:00:00:00:21"
ALIAS = "02:00:00:00:00:2a"


def forward_burst(t, what, need=5000):
    t.cmd("clear port stats all")
    t.cmd("start tx_first")
    try:
        t.wait_rx([0, 1], need, timeout=20)
    finally:
        fwd = t.stop_forwarding()
        print(f"{what}: port0 {fwd.get(0)} port1 {fwd.get(1)}")
    return fwd


def body():
    pmd = sys.argv[1]
    pf = f"ia{os.getpid()}"
    # trusted: the host lets the VFs choose their receive mode and add MAC filters (Linux's ixgbe
    # refuses both to an untrusted VF whose address the host set)
    vdevs = [sim_vdev(0, pf, 0, MAC0, trusted=True), sim_vdev(1, pf, 1, MAC1, trusted=True)]
    app = ["--forward-mode=mac", f"--eth-peer=0,{MAC1}", f"--eth-peer=1,{MAC0}"]
    with Testpmd(pmd, vdevs, app, tag="ia") as t:
        # show port info
        info = t.port_info(0)
        check("net_ixgbevf_lm" in info.get("Driver name", ""), f"driver name {info.get('Driver name')!r}")
        check(info.get("MAC address", "").lower() == MAC0, f"MAC address {info.get('MAC address')!r}, want {MAC0}")
        check(info.get("Link status") == "up", f"link {info.get('Link status')!r} after start")
        print(f"show port info 0: driver {info['Driver name']}, MAC {info['MAC address']}, link up")

        # port stop / start
        out = t.cmd("port stop 0")
        check("Done" in out, f"port stop 0:\n{out}")
        t.port_info(0)  # must still answer while stopped
        out = t.cmd("port start 0", timeout=30)
        check("Done" in out and "Fail" not in out, f"port start 0:\n{out}")
        t.wait_until("link up after port start",
                     lambda: t.port_info(0).get("Link status") == "up", timeout=10)
        forward_burst(t, "after port stop/start")
        print("port stop 0 / port start 0: link up again, forwarding works")

        # set promisc on/off
        t.cmd("set promisc 0 off")
        check(t.port_info(0).get("Promiscuous mode") == "disabled", "set promisc 0 off not reflected")
        t.cmd("set promisc 0 on")
        check(t.port_info(0).get("Promiscuous mode") == "enabled", "set promisc 0 on not reflected")
        print("set promisc 0 off/on: reflected in show port info")

        # port config mtu: on a stopped port, accepted; too large refused and MTU unchanged
        t.cmd("port stop 0")
        out = t.cmd("port config mtu 0 3000")
        check("fail" not in out.lower() and "error" not in out.lower(), f"port config mtu 0 3000 refused:\n{out}")
        out = t.cmd("port start 0", timeout=30)
        check("Done" in out and "Fail" not in out, f"port start 0 after MTU 3000:\n{out}")
        check(t.port_info(0).get("MTU") == "3000", f"MTU after config: {t.port_info(0).get('MTU')!r}")
        out = t.cmd("port config mtu 0 16000")
        check(out.strip() != "", "port config mtu 0 16000: no error printed")
        check(t.port_info(0).get("MTU") == "3000", f"MTU changed by a refused request: {t.port_info(0).get('MTU')!r}")
        print(f"port config mtu 0 3000: accepted; 16000 refused ({out.strip().splitlines()[-1]})")
        t.wait_until("link up after MTU change", lambda: t.port_info(0).get("Link status") == "up", timeout=10)
        forward_burst(t, "after MTU 3000")

        # mac_addr add: with promiscuous mode off, frames to the new address reach port 0
        t.cmd("set promisc all off")
        out = t.cmd(f"mac_addr add 0 {ALIAS}")
        check("error" not in out, f"mac_addr add 0 {ALIAS}:\n{out}")
        t.cmd(f"set eth-peer 1 {ALIAS}")
        fwd = forward_burst(t, f"port1 sending to {ALIAS}")
        check(fwd[0]["rx"] >= 5000, f"port 0 received {fwd[0]['rx']} frames sent to its added MAC")
        out = t.cmd(f"mac_addr remove 0 {ALIAS}")
        check("error" not in out, f"mac_addr remove 0 {ALIAS}:\n{out}")
        t.cmd("clear port stats all")
        t.cmd("start tx_first")
        # port 1 keeps sending to the removed address: the switch has no one to deliver to.
        t.wait_until("port 1 to send", lambda: t.port_stats(1)["tx"] >= 32, timeout=10)
        fwd = t.stop_forwarding()
        check(fwd[0]["rx"] == 0, f"port 0 still receives frames to a removed MAC: {fwd[0]}")
        t.cmd(f"set eth-peer 1 {MAC0}")
        t.cmd("set promisc all on")
        print(f"mac_addr add 0 {ALIAS}: traffic to it received; after remove: not received")

        # show port xstats: per-queue counters of the driver
        xs = t.xstats(0)
        check(xs, "show port xstats 0: no counters")
        per_queue = sorted(k for k in xs if re.search(r"q_?0", k))
        check(per_queue, f"show port xstats 0 has no per-queue counters: {sorted(xs)}")
        print(f"show port xstats 0: {len(xs)} counters, per-queue: {per_queue}")
        names = [n for n, _ in t.xstats_list(0)]
        dups = sorted({n for n in names if names.count(n) > 1})

        # show port stats agree with the forward statistics
        t.cmd("clear port stats all")
        fwd = forward_burst(t, "final")
        s0 = t.port_stats(0)
        check(s0["rx"] == fwd[0]["rx"] + fwd[0]["rx_dropped"] or abs(s0["rx"] - fwd[0]["rx"]) <= 64,
              f"show port stats 0 RX {s0['rx']} vs forward stats {fwd[0]}")
        check(s0["tx"] >= fwd[0]["tx"], f"show port stats 0 TX {s0['tx']} below forward stats {fwd[0]}")
        print(f"show port stats 0: {s0}")
        # last, so that the checks above report first
        check(not dups, f"show port xstats 0 lists names twice (ethdev's own and the driver's?): {dups}")


main(body)
