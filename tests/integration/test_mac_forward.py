#!/usr/bin/env python3
"""mac forwarding (--forward-mode=mac --eth-peer) between two sim VFs on one PF, as the acceptance
check 03-pmd-testpmd runs it, then again with promiscuous mode off: frames addressed to the peer
VF's own MAC still cross the switch (exact unicast filter), in both directions.

Usage: test_mac_forward.py <librte_net_ixgbevf_lm.so> <source dir>
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Testpmd, check, main, sim_vdev  # noqa: E402

MAC0, MAC1 = "02:00:00:00:00:10", "02:00:00:00:00:11"


def run(t, what):
    t.cmd("clear port stats all")
    t.cmd("start tx_first")
    t.wait_rx([0, 1], 20000, timeout=20)
    fwd = t.stop_forwarding()
    p0, p1 = fwd[0], fwd[1]
    print(f"{what}: port0 {p0}  port1 {p1}")
    check(p0["rx"] > 10000 and p1["rx"] > 10000, f"{what}: too few packets: port0 rx={p0['rx']} port1 rx={p1['rx']}")
    check(abs(p0["tx"] - p1["rx"]) <= 128 and abs(p1["tx"] - p0["rx"]) <= 128,
          f"{what}: TX of one port and RX of the other disagree: port0 {p0} port1 {p1}")
    return p0, p1


def body():
    pmd = sys.argv[1]
    pf = f"mac{os.getpid()}"
    vdevs = [sim_vdev(0, pf, 0, MAC0), sim_vdev(1, pf, 1, MAC1)]
    app = ["--forward-mode=mac", f"--eth-peer=0,{MAC1}", f"--eth-peer=1,{MAC0}"]
    with Testpmd(pmd, vdevs, app, tag="mac") as t:
        for port, mac in ((0, MAC0), (1, MAC1)):
            info = t.port_info(port)
            check(info.get("MAC address", "").lower() == mac, f"port {port} MAC is {info.get('MAC address')!r}, want {mac} (mac= devarg)")
        p0, p1 = run(t, "promiscuous")
        t.cmd("set promisc all off")
        for port in (0, 1):
            check(t.port_info(port).get("Promiscuous mode") == "disabled", f"port {port} still promiscuous")
        q0, q1 = run(t, "promiscuous off")
        print(f"testpmd mac forwarding over two sim VFs: port0 rx={p0['rx']} port1 rx={p1['rx']}; "
              f"without promiscuous mode port0 rx={q0['rx']} port1 rx={q1['rx']}")


main(body)
