#!/usr/bin/env python3
"""Benchmark (not a test): the cost of dirty-page logging in testpmd io forwarding between two sim
VFs, dirty_log=off, bitmap and touch measured side by side in one run (testpmd's cycles/packet,
--record-core-cycles), plus the over-report ratio from `ixgbevf-lm-migrate demo --json` when that
tool is built. Writes doc/figures/dirty-logging-tsc.md (its own file: the callgrind figures in
doc/figures/dirty-logging.md, written by bench/dirty_log_callgrind.py, link to it and are left alone).

The bitmap run needs a region whose ranges cover the process's IOVAs. testpmd runs with --no-huge
(IOVA = VA, anywhere below 2^47), so the region has one range [0, 2^47) with 2 MiB pages (an 8 MiB
bitmap); the page size changes which bit is set, not what a mark costs.

Usage: bench/dirty_log_bench.py [--build DIR] [--seconds N] [--no-write] [--json]
"""
import argparse
import ctypes
import datetime
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from testpmd import Failure, Testpmd, sim_vdev  # noqa: E402
from io_forward import machine  # noqa: E402

MAC0, MAC1 = "02:00:00:00:00:50", "02:00:00:00:00:51"
ALL_SLOTS = -1


class Range(ctypes.Structure):
    _fields_ = [("gpa_base", ctypes.c_uint64), ("length", ctypes.c_uint64)]


class Region:
    """The host side through the region's C ABI."""

    def __init__(self, lib_path, path):
        self.lib = ctypes.CDLL(lib_path)
        self.h = ctypes.c_void_p()
        rng = (Range * 1)(Range(0, 1 << 47))
        rc = self.lib.ixgbevf_lm_region_create(path.encode(), ctypes.c_uint64(2 << 20), rng, 1, 8, ctypes.byref(self.h))
        if rc != 0:
            raise RuntimeError(f"region create {path}: {rc}")

    def start_logging(self, timeout_ms=2000):
        g = ctypes.c_uint32()
        rc = self.lib.ixgbevf_lm_region_start_logging(self.h, ALL_SLOTS, ctypes.byref(g))
        if rc != 0:
            raise RuntimeError(f"start_logging: {rc}")
        for ident in ("net_ixgbevf_lm_sim0", "net_ixgbevf_lm_sim1"):
            s = self.lib.ixgbevf_lm_region_find_slot(self.h, ident.encode())
            if s < 0 or self.lib.ixgbevf_lm_region_wait_ack(self.h, s, g.value, timeout_ms) != 0:
                raise RuntimeError(f"{ident} did not acknowledge logging")

    def destroy(self):
        self.lib.ixgbevf_lm_region_destroy(self.h)


def measure(mode, pmd, region_lib, seconds, lcores, log):
    path = f"/dev/shm/ixgbevf_lm_bench_{os.getpid()}_{mode}.region"
    region = Region(region_lib, path) if mode == "bitmap" else None
    mig = ""
    if mode == "bitmap":
        mig = f",mig_region={path},dirty_log=bitmap"
    elif mode == "touch":
        mig = ",dirty_log=touch"
    pf = f"dl{os.getpid()}{mode}"
    vdevs = [sim_vdev(0, pf, 0, MAC0) + mig, sim_vdev(1, pf, 1, MAC1) + mig]
    app = ["--forward-mode=io", "--record-core-cycles", "--burst=32", f"--eth-peer=0,{MAC1}", f"--eth-peer=1,{MAC0}"]
    t = Testpmd(pmd, vdevs, app, tag=f"dlbench-{mode}", lcores=lcores, mbufs=32768)
    try:
        t.start()
        t.cmd("start tx_first")
        t.wait_rx([0, 1], 1000, timeout=20)
        if region:
            region.start_logging()
        t.cmd("clear port stats all")
        t0 = time.monotonic()
        base = sum(t.port_stats(p)["rx"] for p in (0, 1))
        log(f"{mode}: measuring {seconds} s")
        while time.monotonic() - t0 < seconds:
            t._read_some(seconds - (time.monotonic() - t0))
        pkts = sum(t.port_stats(p)["rx"] for p in (0, 1)) - base
        dt = time.monotonic() - t0
        out = t.cmd("stop", timeout=30)
        m = re.search(r"CPU cycles/packet=([\d.]+)", out)
        return {"dirty_log": mode, "mpps": pkts / dt / 1e6, "packets": pkts,
                "cycles_per_packet": float(m.group(1)) if m else None, "command": " ".join(t.argv)}
    except Failure:
        t.dump(tail=40)
        raise
    finally:
        t.close()
        if region:
            region.destroy()


def over_report(build):
    tool = os.path.join(build, "app", "ixgbevf-lm-migrate")
    if not os.access(tool, os.X_OK):
        return None, f"{tool} not built"
    cmd = [tool, "demo", "--rounds", "5", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    for line in reversed(p.stdout.splitlines()):
        try:
            return json.loads(line), " ".join(cmd)
        except ValueError:
            continue
    return None, " ".join(cmd) + f" gave no JSON (exit {p.returncode})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build-mig"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--lcores", default="0-1")
    ap.add_argument("--reps", type=int, default=3, help="off/bitmap/touch interleaved this many times; medians")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    pmd = os.path.join(a.build, "drivers", "net", "ixgbevf_lm", "librte_net_ixgbevf_lm.so")
    region_lib = os.path.join(a.build, "lib", "region", "libixgbevf_lm_region.so")
    for f in (pmd, region_lib):
        if not os.path.isfile(f):
            sys.exit(f"missing {f} (build first, or pass --build)")
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if a.json else (lambda s: print(s, flush=True))
    # Interleaved (off, bitmap, touch, off, ...) so that a noisy machine's drift hits every mode alike;
    # each mode's figure is the median of its repetitions.
    modes = ("off", "bitmap", "touch")
    samples = {m: [] for m in modes}
    for rep in range(a.reps):
        for m in modes:
            samples[m].append(measure(m, pmd, region_lib, a.seconds, a.lcores, log))
    def median(v):
        v = sorted(x for x in v if x is not None)
        return v[len(v) // 2] if v else None
    rows = []
    for m in modes:
        r = dict(samples[m][0])
        r["mpps"] = median([x["mpps"] for x in samples[m]])
        r["cycles_per_packet"] = median([x["cycles_per_packet"] for x in samples[m]])
        r["samples_cycles_per_packet"] = [x["cycles_per_packet"] for x in samples[m]]
        rows.append(r)
    ov, ov_cmd = over_report(a.build)
    base = rows[0]["cycles_per_packet"]
    for r in rows:
        r["vs_off"] = (r["cycles_per_packet"] / base) if (base and r["cycles_per_packet"]) else None
    if a.json:
        for r in rows:
            print(json.dumps(r))
        if ov:
            print(json.dumps({"over_report": ov}))
    else:
        print(f"\n{'dirty_log':<10}{'Mpps':>9}{'cycles/pkt':>12}{'vs off':>9}")
        for r in rows:
            cpp = "n/a" if r["cycles_per_packet"] is None else f"{r['cycles_per_packet']:.1f}"
            vs = "n/a" if r["vs_off"] is None else f"{r['vs_off']:.3f}"
            print(f"{r['dirty_log']:<10}{r['mpps']:>9.3f}{cpp:>12}{vs:>9}")
        print(f"over-report: {ov.get('over_report_ratio') if ov else 'n/a'} ({ov_cmd})")
    if a.no_write:
        return
    fmt = lambda v, p=1: "n/a" if v is None else f"{v:.{p}f}"  # noqa: E731
    table = "\n".join(f"| `{r['dirty_log']}` | {r['mpps']:.3f} | {fmt(r['cycles_per_packet'])} | {fmt(r['vs_off'], 3)} | "
                      + ", ".join(fmt(x) for x in r["samples_cycles_per_packet"]) + " |"
                      for r in rows)
    ov_text = (f"over-report ratio {ov.get('over_report_ratio')} (pages reported / pages the model DMA-wrote, "
               f"{ov.get('rounds')} rounds), from `{ov_cmd}`" if ov else f"over-report ratio: not measured ({ov_cmd})")
    text = f"""# Dirty-page logging: cycles per packet (testpmd --record-core-cycles) and over-report

The primary figure, instructions per packet under callgrind, is in [dirty-logging.md](dirty-logging.md).

Produced by `bench/dirty_log_bench.py {' '.join(sys.argv[1:])}` on {datetime.date.today().isoformat()}.
Machine: {machine()}. testpmd io forwarding between two sim VFs on one PF, logging on for the whole
window (bitmap: the host requested logging through the region before the window started).

Modes interleaved (off, bitmap, touch) {a.reps} times, {a.seconds:g} s each; figures are medians, the
last column every sample. The machine has 2 cores shared with the model's threads: noisy, read the
samples' spread before a difference of a few per cent.

| dirty_log | Mpps | cycles/packet (testpmd) | vs off | samples (cycles/packet) |
|---|---:|---:|---:|---|
{table}

{ov_text}.

Commands:

```
""" + "\n".join(r["command"] for r in rows) + "\n```\n"
    path = os.path.join(ROOT, "doc", "figures", "dirty-logging-tsc.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    log(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
