#!/usr/bin/env python3
"""io forwarding with --tx-first between two sim VFs on one PF: the first bursts circulate through
the PF's switch; both ports forward thousands of packets, port0 TX agrees with port1 RX (and the
other way) within what is in flight, and the driver's xstats agree with testpmd's counters.

Usage: test_io_forward.py <librte_net_ixgbevf_lm.so> <source dir>
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Testpmd, check, main, sim_vdev  # noqa: E402

MAC0, MAC1 = "02:00:00:00:00:10", "02:00:00:00:00:11"
BURST = 32
IN_FLIGHT = 4 * BURST  # tx_first sends one burst per port; allow a burst more in each direction


def body():
    pmd = sys.argv[1]
    pf = f"io{os.getpid()}"
    vdevs = [sim_vdev(0, pf, 0, MAC0), sim_vdev(1, pf, 1, MAC1)]
    # Each port's first burst is addressed to the other VF, so the switch delivers it there and io
    # forwarding sends it on unchanged: port0 TX -> port1 RX -> port0 TX ...
    app = ["--forward-mode=io", f"--burst={BURST}", f"--eth-peer=0,{MAC1}", f"--eth-peer=1,{MAC0}"]
    with Testpmd(pmd, vdevs, app, tag="io") as t:
        info = t.port_info(0)
        check(info.get("Driver name") == "net_ixgbevf_lm_sim" or "net_ixgbevf_lm" in info.get("Driver name", ""),
              f"port 0 driver is {info.get('Driver name')!r}")
        t.cmd("clear port stats all")
        t.cmd("start tx_first")
        t.wait_rx([0, 1], 20000, timeout=20)
        fwd = t.stop_forwarding()
        p0, p1 = fwd[0], fwd[1]
        print(f"forward stats: port0 {p0}  port1 {p1}")
        check(p0["rx"] > 10000 and p1["rx"] > 10000, f"too few packets: port0 rx={p0['rx']} port1 rx={p1['rx']}")
        check(abs(p0["tx"] - p1["rx"]) <= IN_FLIGHT, f"port0 TX {p0['tx']} vs port1 RX {p1['rx']} differ by more than {IN_FLIGHT}")
        check(abs(p1["tx"] - p0["rx"]) <= IN_FLIGHT, f"port1 TX {p1['tx']} vs port0 RX {p0['rx']} differ by more than {IN_FLIGHT}")
        check(p0["tx_dropped"] == 0 and p1["tx_dropped"] == 0, f"TX drops: {p0['tx_dropped']}, {p1['tx_dropped']}")
        # After stop the device still sends what its Tx rings held: wait (bounded) until its counters
        # stand still, then they must agree with testpmd's, exactly for what each port sent and within
        # what was in flight for what the other received.
        last = [None]

        def settled():
            now = (t.port_stats(0), t.port_stats(1))
            same = now == last[0]
            last[0] = now
            return same
        t.wait_until("device counters settled after stop", settled, timeout=10)
        s0, s1 = last[0]
        print(f"port stats: port0 {s0}  port1 {s1}")
        check(s0["tx"] >= p0["tx"] and s1["tx"] >= p1["tx"], f"device TX counters below testpmd's: {s0}, {s1}")
        check(abs(s0["tx"] - s1["rx"]) <= IN_FLIGHT and abs(s1["tx"] - s0["rx"]) <= IN_FLIGHT,
              f"device counters disagree across the switch: port0 {s0} port1 {s1}")
        for port, s in ((0, s0), (1, s1)):
            xs = t.xstats(port)
            check(xs, f"port {port}: no xstats")
            if "rx_good_packets" in xs:
                check(xs["rx_good_packets"] == s["rx"], f"port {port}: xstat rx_good_packets {xs['rx_good_packets']} != {s['rx']}")
            if "tx_good_packets" in xs:
                check(xs["tx_good_packets"] == s["tx"], f"port {port}: xstat tx_good_packets {xs['tx_good_packets']} != {s['tx']}")
            q_rx = sum(v for k, v in xs.items() if k.startswith("rx_q") and k.endswith("_packets"))
            if q_rx:
                check(abs(q_rx - s["rx"]) <= IN_FLIGHT, f"port {port}: per-queue rx packets {q_rx} vs device RX {s['rx']}")
        print(f"io forwarding over the PF switch: port0 rx={p0['rx']} tx={p0['tx']}, port1 rx={p1['rx']} tx={p1['tx']}")


main(body)
