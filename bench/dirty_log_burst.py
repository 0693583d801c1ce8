#!/usr/bin/env python3
"""Benchmark (not a test): what one forwarded frame costs in the PMD's rx_burst + tx_burst, on the scalar
and the vector path, with dirty-page logging off, bitmap (4 KiB, 2 MiB pages) and touch, beside DPDK's own
net_ring and net_null driven through the same harness in the same run (the floor). Measured with
build/bench/ixgbevf-lm-bench-dirty-log (see bench/dirty_log_burst.cpp): every measured burst finds exactly
--burst packets waiting, so the figures do not depend on the model thread's scheduling.

  1. instructions per packet: one process per mode under
     `valgrind --tool=callgrind --collect-atstart=no` (the program toggles collection around the
     measured calls only); Ir / packets. Exact: a rerun gives the same numbers.
  2. TSC cycles per packet: all modes of a pool kind in one native process, interleaved round by
     round, the measuring thread alone on its CPU (the model threads, which play the device, on the
     other); per mode the median over rounds of its cycles divided by the same path's off in the same
     round (paired), and that over --tsc-runs processes: their median, minimum and maximum.

Two pool kinds: `rings` (sized to the Rx and Tx rings, no mempool cache: every buffer cycles, the queue proof's
best case) and `testpmd` (testpmd's defaults: 8192 mbufs, a per-lcore cache of 250, Tx MBUF_FAST_FREE);
both ports' Rx queues share the pool in both.

Prints one `<mode> <N> Ir/packet` line per mode of this PMD (mode: <logging>-<path>[@testpmd]), and
`net_ring (floor) <N> Ir/packet`, `net_null (floor) <N> Ir/packet` for DPDK's own PMDs in the same run.

Usage: bench/dirty_log_burst.py [--build DIR] [--rounds N] [--cg-rounds N] [--tsc-runs N] [--huge] [--write]
"""
import argparse
import datetime
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from io_forward import machine  # noqa: E402

LOGGING = ["off", "bitmap4k", "bitmap2m", "touch"]
PATHS = ["scalar", "vector"]
FLOORS = ["ring", "null"]
POOLS = ["rings", "testpmd"]
DESCRIPTION = {
    "off": "`dirty_log=off`",
    "bitmap4k": "`bitmap`, 4 KiB region pages",
    "bitmap2m": "`bitmap`, 2 MiB region pages",
    "touch": "`touch`",
    "ring": "DPDK `net_ring` (loopback port)",
    "null": "DPDK `net_null`",
}


def modes_of(pool):
    ours = ["%s-%s" % (m, p) for p in PATHS for m in LOGGING]
    return ours + FLOORS


def label(mode, pool):
    return mode if pool == "rings" else mode + "@" + pool


HUGE = False  # --huge: the EAL's memory on hugepages (root, hugetlbfs mounted)


def eal(build, prefix):
    pmd = os.path.join(ROOT, build, "drivers/net/ixgbevf_lm/librte_net_ixgbevf_lm.so")
    memory = ["--legacy-mem", "--huge-unlink"] if HUGE else ["--no-huge"]  # legacy: valgrind cannot reserve the VA of dynamic memory
    return ["-l", "0", "--no-pci"] + memory + ["-m", "512", "--iova-mode=va", "--file-prefix", prefix,
            "--log-level", "pmd.net.ixgbevf_lm*:warning", "-d", pmd, "-d", pmd.replace(".so", "_sim.so")]


def run(cmd, timeout, modes):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, shlex.join(cmd), p.stdout[-3000:]))
    rows = {}
    for line in p.stdout.splitlines():
        f = line.split(",")
        if len(f) == 6 and f[0] == "over_report" and f[1] in modes:
            rows.setdefault("over_report", {})[f[1]] = {"written": int(f[2]), "reported": int(f[3]),
                                                        "ratio": float(f[4]), "missed": int(f[5])}
        if len(f) == 6 and f[0] in modes:
            rows[f[0]] = {"packets": int(f[1]), "median": float(f[2]), "p10": float(f[3]), "p90": float(f[4]),
                          "ratio": float(f[5])}
    return rows


def measure(a, exe, pool, commands):
    outdir = os.path.join(ROOT, ".scratch", "dirty-log-burst")
    os.makedirs(outdir, exist_ok=True)
    tag = str(os.getpid())
    modes = modes_of(pool)
    ir = {}
    for mode in modes:
        out = os.path.join(outdir, "callgrind.%s.%s.out" % (pool, mode))
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--callgrind-out-file=" + out,
               exe] + eal(a.build, "ixlm-dlb-cg-%s-%s-%s" % (pool, mode, tag)) + [
               "--", "--rounds", str(a.cg_rounds), "--warmup", "30", "--burst", str(a.burst),
               "--fetch-every", str(a.fetch_every), "--pool", pool, "--modes", mode]
        commands.append(cmd)
        rows = run(cmd, 600, modes)
        total = None
        for line in open(out):
            m = re.match(r"^totals:\s+(\d+)", line)
            if m:
                total = int(m.group(1))
        if total is None or mode not in rows:
            sys.exit("no totals for %s" % mode)
        ir[mode] = total / rows[mode]["packets"]
        # The floors (DPDK's own net_ring/net_null) print as "net_ring (floor)", not as a mode of
        # ours: "<mode> <N> Ir/packet" lines are this PMD's paths only.
        name = label(mode, pool) if mode not in FLOORS else "net_%s (floor)" % label(mode, pool)
        print("%-22s %7.1f Ir/packet (callgrind, %d packets)" % (name, ir[mode], rows[mode]["packets"]),
              flush=True)
    runs = []
    for i in range(a.tsc_runs):
        cmd = [exe] + eal(a.build, "ixlm-dlb-tsc-%s-%s-%d" % (pool, tag, i)) + [
            "--", "--rounds", str(a.rounds), "--burst", str(a.burst), "--fetch-every", str(a.fetch_every),
            "--pool", pool, "--modes", ",".join(modes)]
        if i == 0:
            commands.append(cmd)
        runs.append(run(cmd, 900, modes))
    over = runs[0].get("over_report", {})
    for mode, o in sorted(over.items()):
        print("%-22s over-report %.3f (%d pages reported, %d written by the device, %d missed)" % (
            label(mode, pool), o["ratio"], o["reported"], o["written"], o["missed"]), flush=True)
        if o["missed"] != 0:
            sys.exit("%s: %d pages written by the device were never reported" % (mode, o["missed"]))
    tsc = {}
    for mode in modes:
        ratios = sorted(r[mode]["ratio"] for r in runs)
        medians = sorted(r[mode]["median"] for r in runs)
        # the floor and scalar/vector from each run's medians, then the median over runs
        to_ring = sorted(r[mode]["median"] / r["ring"]["median"] for r in runs)
        tsc[mode] = {"cycles": medians[len(medians) // 2], "ratio": ratios[len(ratios) // 2],
                     "ratio_min": ratios[0], "ratio_max": ratios[-1], "to_ring": to_ring[len(to_ring) // 2]}
        if mode.endswith("-vector"):
            sv = sorted(r[mode.replace("-vector", "-scalar")]["median"] / r[mode]["median"] for r in runs)
            tsc[mode]["scalar_over_vector"] = sv[len(sv) // 2]
        t = tsc[mode]
        print("%-22s %7.1f cycles/packet (median of %d runs), vs off paired %.3f [%.3f, %.3f], vs net_ring %.2f" % (
            label(mode, pool), t["cycles"], a.tsc_runs, t["ratio"], t["ratio_min"], t["ratio_max"], t["to_ring"]),
            flush=True)
    return ir, tsc, over


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3000, help="native rounds (cycles)")
    ap.add_argument("--cg-rounds", type=int, default=300, help="rounds under callgrind (instructions)")
    ap.add_argument("--tsc-runs", type=int, default=3, help="native processes (cycles)")
    ap.add_argument("--burst", type=int, default=32)
    ap.add_argument("--fetch-every", type=int, default=200,
                    help="bitmap modes: the host fetches-and-clears every N rounds (0: never)")
    ap.add_argument("--pools", default=",".join(POOLS), help="pool kinds to measure: rings,testpmd")
    ap.add_argument("--huge", action="store_true",
                    help="hugepage memory (mempool objects packed across 4 KiB pages) instead of --no-huge")
    ap.add_argument("--write", action="store_true",
                    help="write doc/figures/dirty-logging-burst.md (-hugepages.md with --huge) and datapath.md")
    a = ap.parse_args()
    global HUGE
    HUGE = a.huge
    exe = os.path.join(ROOT, a.build, "bench/ixgbevf-lm-bench-dirty-log")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind): the instruction counts need callgrind")
    commands = []
    results = {}
    for pool in a.pools.split(","):
        results[pool] = measure(a, exe, pool, commands)
    if a.write:
        write_docs(a, results, commands)


MEMORY_NOTE = {
    False: "Memory: `--no-huge` (4 KiB pages). The mempool then keeps each 2.3 KiB mbuf object within one "
           "4 KiB page, so every 128-byte frame lies in its mbuf header's page: `touch` needs no access beyond "
           "the Rx loop's own store into the header (RxBufTouchLog). See -hugepages.md for packed objects.",
    True: "Memory: 2 MiB hugepages (`--legacy-mem --huge-unlink`). Mbuf objects are packed across 4 KiB page "
          "boundaries, so some frames run past their header's 4 KiB page and `touch` writes one byte of the "
          "next page, and a 4 KiB bitmap has more pages to mark after each fetch.",
}

POOL_NOTE = {
    "rings": "pool sized to the rings (2 x 512 Rx + 2 x 512 Tx + 4 bursts), no mempool cache: every buffer cycles through "
             "the rings, so after each fetch the queue proof (QueueMarkScan) soon holds again",
    "testpmd": "testpmd's default pool (8192 mbufs, per-lcore cache of 250, LIFO reuse) and Tx "
               "`MBUF_FAST_FREE` as testpmd sets it",
}


def table(ir, tsc, over, modes):
    lines = ["| mode | path | Ir/packet | Ir vs off | Ir vs net_ring | cycles/packet | cycles vs off, paired "
             "[min, max] | cycles vs net_ring | scalar/vector (Ir, cycles) | over-report (reported / written, "
             "missed) |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for mode in modes:
        log, _, path = mode.partition("-")
        off = "off-" + path if path else mode
        t = tsc[mode]
        o = over.get(mode)
        sv = ""
        if path == "vector":
            sc = mode.replace("-vector", "-scalar")
            sv = "%.2f, %.2f" % (ir[sc] / ir[mode], t["scalar_over_vector"])
        lines.append("| %s | %s | %.1f | %.3f | %.2f | %.1f | %.3f [%.3f, %.3f] | %.2f | %s | %s |" % (
            DESCRIPTION[log], path or "-", ir[mode], ir[mode] / ir[off], ir[mode] / ir["ring"], t["cycles"],
            t["ratio"], t["ratio_min"], t["ratio_max"], t["to_ring"], sv,
            "%.3f (%d / %d, %d)" % (o["ratio"], o["reported"], o["written"], o["missed"]) if o else "n/a"))
    return lines


def write_docs(a, results, commands):
    huge = " --huge" if a.huge else ""
    produced = ("Produced by `bench/dirty_log_burst.py --rounds %d --cg-rounds %d --tsc-runs %d --fetch-every %d "
                "--pools %s%s --write` on %s." % (a.rounds, a.cg_rounds, a.tsc_runs, a.fetch_every, a.pools, huge,
                                                   datetime.date.today().isoformat()))
    method = [
        "`build/bench/ixgbevf-lm-bench-dirty-log` (bench/dirty_log_burst.cpp): per mode a pair of ports (our",
        "sim VFs on their own PF model; DPDK's `net_ring` as two loopback ports; `net_null`); a burst of %d" % a.burst,
        "frames of 128 bytes goes back and forth, each port receiving it with rx_burst and sending it with",
        "tx_burst. Before each measured call the bench waits, unmeasured, until the whole burst is written",
        "back, so every measured call does the same work whatever the model thread's scheduling. Bitmap",
        "modes: a region covering the EAL's memory, the host fetching-and-clearing every %d rounds." % a.fetch_every,
        "`scalar`/`vector`: the port's `vector=0|1`. Instruction counts (callgrind, collected inside the",
        "measured calls only) repeat exactly. Cycles: TSC around the two calls, all modes of a pool kind",
        "interleaved round by round in one process (%d rounds), the measuring thread alone on its CPU and" % a.rounds,
        "the model threads on the other; `vs off`: per round against the same path's `off`, median over",
        "rounds, then median [min, max] over %d processes; `vs net_ring` and scalar/vector: ratios of" % a.tsc_runs,
        "each process's medians, median over processes. Everything in one run, side by side.",
        "",
        MEMORY_NOTE[a.huge],
    ]
    cmds = ["Commands:", "", "```"] + [shlex.join(c) for c in commands] + ["```", ""]
    # dirty-logging-burst*.md: every mode of every pool kind
    path = os.path.join(ROOT, "doc", "figures", "dirty-logging-burst%s.md" % ("-hugepages" if a.huge else ""))
    lines = ["# Dirty-page logging: cost per packet in rx_burst + tx_burst, scalar and vector paths%s" % (
        ", hugepage memory" if a.huge else ""), "", produced, "Machine: %s." % machine(), ""] + method + [""]
    for pool, (ir, tsc, over) in results.items():
        lines += ["## Pool: %s" % POOL_NOTE[pool], ""] + table(ir, tsc, over, modes_of(pool)) + [""]
    lines += ["Over-report (bitmap modes, first native run): pages the host's fetches reported / pages the",
              "device wrote (the model's ground truth), and pages written but never reported (must be 0).", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines + cmds))
    print("wrote", path)
    if a.huge:
        return
    # datapath.md: logging off, both paths, against the floor
    path = os.path.join(ROOT, "doc", "figures", "datapath.md")
    lines = ["# Datapath: rx_burst + tx_burst per forwarded frame, scalar and vector, against DPDK's floor", "",
             produced, "Machine: %s." % machine(), ""] + method + [""]
    for pool, (ir, tsc, over) in results.items():
        modes = ["off-scalar", "off-vector"] + FLOORS
        lines += ["## Pool: %s" % POOL_NOTE[pool], ""] + table(ir, tsc, over, modes) + [""]
    lines += ["The logging modes on both paths: dirty-logging-burst.md (same run).", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines + cmds))
    print("wrote", path)


if __name__ == "__main__":
    main()
