#!/usr/bin/env python3
"""The kernel's ping through a TAP uplink: a sim VF whose PF uplink is a TAP interface that this
test moves into its own network namespace (addresses from 192.0.2.0/24, TEST-NET, inside the
namespace only). testpmd in icmpecho mode answers the kernel's ARP and pings (>= 90% replies);
then in macswap mode the kernel's frames to the VF come back with the MACs swapped (counted on
the namespace's side of the TAP). Skips (77) without root, /dev/net/tun or netns support.

Usage: test_tap_ping.py <librte_net_ixgbevf_lm.so> <source dir>
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Failure, Testpmd, check, main, netns_preflight, sim_vdev, skip  # noqa: E402

VF_MAC = "02:00:00:00:00:30"
NS_ADDR, VF_ADDR, SWAP_ADDR = "192.0.2.1", "192.0.2.2", "192.0.2.3"


def sh(*argv, ns=None, check_rc=True, timeout=30):
    if ns:
        argv = ("ip", "netns", "exec", ns) + argv
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode(errors="replace")
    if check_rc and p.returncode != 0:
        raise Failure(f"{' '.join(argv)} failed ({p.returncode}): {out.strip()}")
    return p.returncode, out


def rx_packets(ns, ifname):
    _, out = sh("ip", "-s", "-j", "link", "show", "dev", ifname, ns=ns)
    return json.loads(out)[0]["stats64"]["rx"]["packets"]


def body():
    pmd = sys.argv[1]
    pid = os.getpid()
    ns, tap, pf = f"ixlm-ns{pid}", f"ixlm{pid % 10000000}", f"tap{pid}"
    netns_preflight(ns)
    t = None
    try:
        t = Testpmd(pmd, [sim_vdev(0, pf, 0, VF_MAC, uplink=f"tap:{tap}")], ["--forward-mode=icmpecho"], tag="tap",
                    lcores="0-1")
        t.start()
        try:
            # The PF model created the TAP at probe; move it into the namespace.
            t.wait_until(f"TAP {tap} to exist", lambda: os.path.exists(f"/sys/class/net/{tap}"), timeout=10)
            sh("ip", "link", "set", tap, "netns", ns)
            sh("sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1", ns=ns, check_rc=False)
            sh("ip", "addr", "add", f"{NS_ADDR}/24", "dev", tap, ns=ns)
            sh("ip", "link", "set", tap, "up", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
            tap_mac = json.loads(sh("ip", "-j", "link", "show", "dev", tap, ns=ns)[1])[0]["address"]

            # 1. icmpecho: testpmd answers the ARP request and the echo requests.
            t.cmd("start")
            rc, out = sh("ping", "-c", "20", "-i", "0.05", "-W", "2", VF_ADDR, ns=ns, check_rc=False, timeout=60)
            print(out.strip().splitlines()[-2] if out.strip() else "(no ping output)")
            m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
            check(m, f"no ping summary:\n{out}")
            sent, got = int(m.group(1)), int(m.group(2))
            fwd = t.stop_forwarding()
            print(f"icmpecho forward stats: {fwd[0]}")
            check(got * 10 >= sent * 9, f"ping {VF_ADDR}: {got}/{sent} replies (want >= 90%)")
            _, neigh = sh("ip", "neigh", "show", VF_ADDR, "dev", tap, ns=ns)
            check(VF_MAC in neigh.lower(), f"kernel neighbour entry for {VF_ADDR} is not the VF's MAC: {neigh.strip()}")

            # 2. macswap: frames to the VF's MAC come back to the TAP with source and destination swapped.
            t.cmd("set fwd macswap")
            sh("ip", "neigh", "replace", SWAP_ADDR, "lladdr", VF_MAC, "dev", tap, "nud", "permanent", ns=ns)
            t.cmd("clear port stats all")
            t.cmd("start")
            before = rx_packets(ns, tap)
            sh("ping", "-c", "20", "-i", "0.05", "-W", "1", SWAP_ADDR, ns=ns, check_rc=False, timeout=60)
            # Swapped frames are not echo replies: count what the TAP delivered to the kernel.
            t.wait_until("20 swapped frames back on the TAP", lambda: rx_packets(ns, tap) - before >= 20, timeout=10)
            fwd = t.stop_forwarding()
            print(f"macswap forward stats: {fwd[0]} (kernel side TAP rx +{rx_packets(ns, tap) - before}, TAP MAC {tap_mac})")
            check(fwd[0]["rx"] >= 20 and fwd[0]["tx"] >= 20, f"macswap forwarded too little: {fwd[0]}")
            print(f"TAP uplink in netns: ping {got}/{sent} replies (icmpecho); macswap returned {fwd[0]['tx']} frames")
        except Failure:
            t.close()
            t.dump(tail=60)
            raise
    finally:
        if t is not None:
            t.close()
        subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.path.exists(f"/sys/class/net/{tap}"):
            subprocess.run(["ip", "link", "del", tap], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


main(body)
