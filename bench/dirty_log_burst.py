#!/usr/bin/env python3
"""Benchmark (not a test): the cost of dirty-page logging per packet in the PMD's rx_burst + tx_burst,
measured with build/bench/ixgbevf-lm-bench-dirty-log (see bench/dirty_log_burst.cpp): every measured
burst finds exactly --burst packets waiting, so the figures do not depend on the model thread's
scheduling.

  1. instructions per packet: one process per mode under
     `valgrind --tool=callgrind --collect-atstart=no` (the program toggles collection around the
     measured calls only); Ir / packets. Exact: a rerun gives the same numbers.
  2. TSC cycles per packet: all modes in one native process, interleaved round by round, the
     measuring thread alone on its CPU (the model threads, which play the device, on the other);
     per mode the median over rounds of its cycles divided by off's in the same round (paired),
     and that over --tsc-runs processes: their median, minimum and maximum.

Usage: bench/dirty_log_burst.py [--build DIR] [--rounds N] [--cg-rounds N] [--write]
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

MODES = ["off", "bitmap4k", "bitmap2m", "touch"]
DESCRIPTION = {
    "off": "`dirty_log=off`",
    "bitmap4k": "`bitmap`, 4 KiB region pages",
    "bitmap2m": "`bitmap`, 2 MiB region pages",
    "touch": "`touch`",
}


HUGE = False  # --huge: the EAL's memory on hugepages (root, hugetlbfs mounted)


def eal(build, prefix):
    pmd = os.path.join(ROOT, build, "drivers/net/ixgbevf_lm/librte_net_ixgbevf_lm.so")
    memory = ["--legacy-mem", "--huge-unlink"] if HUGE else ["--no-huge"]  # legacy: valgrind cannot reserve the VA of dynamic memory
    return ["-l", "0", "--no-pci"] + memory + ["-m", "512", "--iova-mode=va", "--file-prefix", prefix,
            "--log-level", "pmd.net.ixgbevf_lm*:warning", "-d", pmd, "-d", pmd.replace(".so", "_sim.so")]


def run(cmd, timeout):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, shlex.join(cmd), p.stdout[-3000:]))
    rows = {}
    for line in p.stdout.splitlines():
        f = line.split(",")
        if len(f) == 6 and f[0] == "over_report" and f[1] in MODES:
            rows.setdefault("over_report", {})[f[1]] = {"written": int(f[2]), "reported": int(f[3]),
                                                        "ratio": float(f[4]), "missed": int(f[5])}
        if len(f) == 6 and f[0] in MODES:
            rows[f[0]] = {"packets": int(f[1]), "median": float(f[2]), "p10": float(f[3]), "p90": float(f[4]),
                          "ratio": float(f[5])}
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=20000, help="native rounds (cycles)")
    ap.add_argument("--cg-rounds", type=int, default=300, help="rounds under callgrind (instructions)")
    ap.add_argument("--tsc-runs", type=int, default=5, help="native processes (cycles)")
    ap.add_argument("--burst", type=int, default=32)
    ap.add_argument("--fetch-every", type=int, default=200,
                    help="bitmap modes: the host fetches-and-clears every N rounds (0: never)")
    ap.add_argument("--huge", action="store_true",
                    help="hugepage memory (mempool objects packed across 4 KiB pages) instead of --no-huge")
    ap.add_argument("--write", action="store_true",
                    help="write doc/figures/dirty-logging-burst.md (-hugepages.md with --huge)")
    a = ap.parse_args()
    global HUGE
    HUGE = a.huge
    exe = os.path.join(ROOT, a.build, "bench/ixgbevf-lm-bench-dirty-log")
    outdir = os.path.join(ROOT, ".scratch", "dirty-log-burst")
    os.makedirs(outdir, exist_ok=True)
    tag = str(os.getpid())
    commands = []

    ir = {}
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind): the instruction counts need callgrind")
    for mode in MODES:
        out = os.path.join(outdir, "callgrind.%s.out" % mode)
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--callgrind-out-file=" + out,
               exe] + eal(a.build, "ixlm-dlb-cg-" + mode + "-" + tag) + [
               "--", "--rounds", str(a.cg_rounds), "--warmup", "30", "--burst", str(a.burst),
               "--fetch-every", str(a.fetch_every), "--modes", mode]
        commands.append(cmd)
        rows = run(cmd, 600)
        total = None
        for line in open(out):
            m = re.match(r"^totals:\s+(\d+)", line)
            if m:
                total = int(m.group(1))
        if total is None or mode not in rows:
            sys.exit("no totals for %s" % mode)
        ir[mode] = total / rows[mode]["packets"]
        print("%-9s %7.1f Ir/packet (callgrind, %d packets)" % (mode, ir[mode], rows[mode]["packets"]), flush=True)

    runs = []
    for i in range(a.tsc_runs):
        cmd = [exe] + eal(a.build, "ixlm-dlb-tsc-%s-%d" % (tag, i)) + [
            "--", "--rounds", str(a.rounds), "--burst", str(a.burst), "--fetch-every", str(a.fetch_every),
            "--modes", ",".join(MODES)]
        if i == 0:
            commands.append(cmd)
        runs.append(run(cmd, 600))
    over = runs[0].get("over_report", {})
    for mode, o in sorted(over.items()):
        print("%-9s over-report %.3f (%d pages reported, %d written by the device, %d missed)" % (
            mode, o["ratio"], o["reported"], o["written"], o["missed"]), flush=True)
        if o["missed"] != 0:
            sys.exit("%s: %d pages written by the device were never reported" % (mode, o["missed"]))
    tsc = {}
    for mode in MODES:
        ratios = sorted(r[mode]["ratio"] for r in runs)
        medians = sorted(r[mode]["median"] for r in runs)
        tsc[mode] = {"cycles": medians[len(medians) // 2], "ratio": ratios[len(ratios) // 2],
                     "ratio_min": ratios[0], "ratio_max": ratios[-1]}
        t = tsc[mode]
        print("%-9s %7.1f cycles/packet (median of %d runs), vs off paired %.3f [%.3f, %.3f]" % (
            mode, t["cycles"], a.tsc_runs, t["ratio"], t["ratio_min"], t["ratio_max"]), flush=True)

    if a.write:
        write_doc(a, ir, tsc, over, commands)


MEMORY_NOTE = {
    False: "Memory: `--no-huge` (4 KiB pages). The mempool then keeps each 2.3 KiB mbuf object within one "
           "4 KiB page, so every 128-byte frame lies in its mbuf header's page: `touch` needs no access beyond "
           "the Rx loop's own store into the header (RxBufTouchLog). See -hugepages.md for packed objects.",
    True: "Memory: 2 MiB hugepages (`--legacy-mem --huge-unlink`). Mbuf objects are packed across 4 KiB page boundaries, so "
          "some frames run past their header's 4 KiB page and `touch` writes one byte of the next page, and "
          "a 4 KiB bitmap has more pages to mark after each fetch.",
}


def write_doc(a, ir, tsc, over, commands):
    path = os.path.join(ROOT, "doc", "figures", "dirty-logging-burst%s.md" % ("-hugepages" if a.huge else ""))
    lines = [
        "# Dirty-page logging: cost per packet in rx_burst + tx_burst, deterministic%s" % (
            ", hugepage memory" if a.huge else ""),
        "",
        "Produced by `bench/dirty_log_burst.py --rounds %d --cg-rounds %d --tsc-runs %d --fetch-every %d%s --write` on %s." % (
            a.rounds, a.cg_rounds, a.tsc_runs, a.fetch_every, " --huge" if a.huge else "",
            datetime.date.today().isoformat()),
        "Machine: %s." % machine(),
        "",
        "`build/bench/ixgbevf-lm-bench-dirty-log` (bench/dirty_log_burst.cpp): per mode a pair of sim VFs on",
        "their own PF model; a burst of %d frames of 128 bytes goes back and forth, each port receiving it" % a.burst,
        "with rx_burst and sending it back with tx_burst. Before each measured call the bench waits, unmeasured,",
        "until the whole burst is written back, so every measured call does the same work whatever the",
        "model thread's scheduling. Bitmap modes: a region covering the EAL's memory (IOVA as VA), logging",
        "requested by the host and acknowledged before the first round, and the host fetching-and-clearing",
        "the bitmap every %d rounds (%d packets per port pair), as a pre-copy round does. Each pair's mbuf" % (
            a.fetch_every, a.fetch_every * 2 * a.burst),
        "pool is sized to its rings, without a per-lcore cache, so every buffer cycles through the rings as",
        "at a high packet rate: after each fetch the bursts mark buffers and ring pages until the control",
        "thread has proven the queues' pages marked again (QueueMarkScan), then mark none until the next",
        "fetch. Touch mode touches no ring page (the refill and the next transmit rewrite each descriptor).",
        "Ratios are against `off` in the same run.",
        "",
        MEMORY_NOTE[a.huge],
        "",
        "| mode | Ir/packet (callgrind) | vs off | cycles/packet | cycles vs off, paired: median of %d runs | [min, max] | over-report (reported / written, missed) |" % a.tsc_runs,
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for mode in MODES:
        t = tsc[mode]
        o = over.get(mode)
        lines.append("| %s | %.1f | %.3f | %.1f | %.3f | [%.3f, %.3f] | %s |" % (
            DESCRIPTION[mode], ir[mode], ir[mode] / ir["off"], t["cycles"], t["ratio"], t["ratio_min"], t["ratio_max"],
            "%.3f (%d / %d, %d)" % (o["ratio"], o["reported"], o["written"], o["missed"]) if o else "n/a"))
    lines += [
        "",
        "Instruction counts repeat exactly. Cycles are TSC around the two calls, all modes interleaved",
        "round by round in one process (%d rounds, each 2 bursts per mode), the measuring thread alone" % a.rounds,
        "on CPU 0 and every other thread (the model threads that play the devices, the PMD's control",
        "threads) moved to the other CPU, so that the device's writes reach the measuring core from",
        "outside as DMA does. Per run and mode: the median over rounds of the mode's cycles divided by",
        "off's in the same round (what slows a whole round down cancels out); then the median, minimum",
        "and maximum of that over %d processes. cycles/packet: the median over rounds, median of the runs." % a.tsc_runs,
        "",
        "Over-report (bitmap modes, first native run): after the measured rounds each bitmap mode runs",
        "alone for 5 fetch intervals of %d rounds; at the end of each the host's clearing read and the" % max(a.fetch_every, 100),
        "model's ground truth are taken at one instant (model frozen), the last after the burst in flight",
        "was received. Pages the host's fetches reported / pages the device wrote, at the region's page",
        "size, and pages written but never reported (must be 0). Every buffer of these pools cycles in each",
        "interval, so nothing beyond the device's writes is reported here; at a low packet rate the pool",
        "proof marks up to 1/64 of a pool's pages no frame reached, once per fetch (the migration figures",
        "of `ixgbevf-lm-migrate`, dirty-logging.md and migration.md, show 1.3 to 3.5 there).",
        "",
        "Commands:",
        "",
        "```",
    ] + [shlex.join(c) for c in commands] + ["```", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("wrote", path)


if __name__ == "__main__":
    main()
