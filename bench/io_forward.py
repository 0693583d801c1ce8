#!/usr/bin/env python3
"""Benchmark (not a test): testpmd io forwarding between two sim VFs on one PF, beside DPDK's
net_ring pair measured in the same run. Prints Mpps and testpmd's cycles/packet
(--record-core-cycles) for both and the command lines, and writes doc/figures/pmd-forwarding.md.

Usage: bench/io_forward.py [--pmd PATH] [--seconds N] [--lcores 0-1] [--no-write] [--json]
"""
import argparse
import datetime
import json
import os
import platform
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from testpmd import Failure, Testpmd, sim_vdev  # noqa: E402

MAC0, MAC1 = "02:00:00:00:00:40", "02:00:00:00:00:41"


def measure(name, pmd, vdevs, seconds, lcores, log, bursts=1):
    app = ["--forward-mode=io", "--record-core-cycles", "--burst=32",
           f"--eth-peer=0,{MAC1}", f"--eth-peer=1,{MAC0}"]
    t = Testpmd(pmd, vdevs, app, tag=f"bench-{name}", lcores=lcores, mbufs=32768)
    try:
        t.start()
        t.cmd(f"start tx_first {bursts}" if bursts > 1 else "start tx_first")
        t.wait_rx([0, 1], 1000, timeout=20)  # warm: packets are circulating
        t.cmd("clear port stats all")
        t0 = time.monotonic()
        s = {p: t.port_stats(p) for p in (0, 1)}
        base = sum(v["rx"] for v in s.values())
        log(f"{name}: measuring {seconds} s")
        t._read_some(seconds)  # the measurement window itself
        while time.monotonic() - t0 < seconds:
            t._read_some(seconds - (time.monotonic() - t0))
        s = {p: t.port_stats(p) for p in (0, 1)}
        dt = time.monotonic() - t0
        pkts = sum(v["rx"] for v in s.values()) - base
        out = t.cmd("stop", timeout=30)
        m = re.search(r"CPU cycles/packet=([\d.]+) \(total cycles=(\d+) / total \S+ packets=(\d+)\) at (\d+) MHz", out)
        cpp = float(m.group(1)) if m else None
        mhz = int(m.group(4)) if m else None
        res = {"name": name, "mpps": pkts / dt / 1e6, "packets": pkts, "seconds": round(dt, 3),
               "cycles_per_packet": cpp, "tsc_mhz": mhz, "command": " ".join(t.argv)}
        return res
    except Failure:
        t.close()
        t.dump(tail=40)
        raise
    finally:
        t.close()


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            model = m.group(1).strip() if m else ""
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Linux {platform.release()}"


def write_figure(path, sim, ring, seconds, cmdline):
    ratio = sim["mpps"] / ring["mpps"] if ring["mpps"] else float("nan")
    cpp_ratio = (sim["cycles_per_packet"] / ring["cycles_per_packet"]
                 if sim["cycles_per_packet"] and ring["cycles_per_packet"] else float("nan"))
    fmt = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
    text = f"""# PMD forwarding: io forwarding in the stock testpmd, sim VFs vs net_ring

Produced by `{cmdline}` on {datetime.date.today().isoformat()}.
Machine: {machine()}; a shared, noisy virtual machine with 2 cores. In the sim runs the PF model's
thread (descriptor engines and switch) shares these cores with testpmd's main and forwarding lcores,
so the figures are a property of this machine and of the model, not of the driver on hardware.

| ports | Mpps (both ports, RX) | cycles/packet (testpmd) | packets | seconds |
|---|---:|---:|---:|---:|
| 2 sim VFs on one PF (`net_ixgbevf_lm_sim`) | {sim['mpps']:.3f} | {fmt(sim['cycles_per_packet'])} | {sim['packets']} | {sim['seconds']} |
| DPDK `net_ring` pair | {ring['mpps']:.3f} | {fmt(ring['cycles_per_packet'])} | {ring['packets']} | {ring['seconds']} |
| ratio sim / ring | {ratio:.3g} | {cpp_ratio:.3g} | | |

cycles/packet is testpmd's `--record-core-cycles` figure for the forwarding lcore only (TSC at
{sim['tsc_mhz']} MHz): it counts the driver's burst functions, not the model thread that moves the
frames between the VFs' rings on the sim side. Mpps counts frames received on both ports during the
measurement window after warm-up (packets injected by `start tx_first`, 32 per port, circulating).
`net_ring` moves mbuf pointers through an rte_ring and touches no packet data; the sim path goes
through descriptor rings, the model's DMA copies and its switch on another thread, so the ratio
measures the model's cost far more than the driver's.

Commands (testpmd, interactive, driven by the script: `start tx_first`, warm-up, `clear port stats all`,
window, `show port stats`, `stop`):

```
{sim['command']}
{ring['command']}
```
"""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pmd", default=os.path.join(ROOT, "build", "drivers", "net", "ixgbevf_lm", "librte_net_ixgbevf_lm.so"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--lcores", default="0-1")
    ap.add_argument("--no-write", action="store_true", help="do not write doc/figures/pmd-forwarding.md")
    ap.add_argument("--json", action="store_true", help="one JSON object per line instead of the table")
    a = ap.parse_args()
    pmd = os.path.abspath(a.pmd)
    if not os.path.isfile(pmd):
        sys.exit(f"no plugin at {pmd} (build it, or pass --pmd)")
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if a.json else (lambda s: print(s, flush=True))
    pf = f"bench{os.getpid()}"
    sim = measure("sim", pmd, [sim_vdev(0, pf, 0, MAC0), sim_vdev(1, pf, 1, MAC1)], a.seconds, a.lcores, log)
    ring = measure("ring", None, ["net_ring0", "net_ring1"], a.seconds, a.lcores, log)
    if a.json:
        for r in (sim, ring):
            print(json.dumps(r))
    else:
        print(f"\n{'ports':<10}{'Mpps':>10}{'cycles/pkt':>12}{'packets':>12}")
        for r in (sim, ring):
            cpp = "n/a" if r["cycles_per_packet"] is None else f"{r['cycles_per_packet']:.1f}"
            print(f"{r['name']:<10}{r['mpps']:>10.3f}{cpp:>12}{r['packets']:>12}")
        print(f"ratio sim/ring: {sim['mpps'] / ring['mpps']:.3g} (Mpps)\n")
        for r in (sim, ring):
            print(f"{r['name']}: {r['command']}")
    if not a.no_write:
        rel = os.path.relpath(sys.argv[0], ROOT) if os.path.isabs(sys.argv[0]) else sys.argv[0]
        cmd = " ".join([rel] + sys.argv[1:])
        path = os.path.join(ROOT, "doc", "figures", "pmd-forwarding.md")
        write_figure(path, sim, ring, a.seconds, cmd)
        log(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
