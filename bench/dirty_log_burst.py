#!/usr/bin/env python3
"""Benchmark (not a test): the cost of dirty-page logging per packet in the PMD's rx_burst + tx_burst,
measured with build/bench/ixgbevf-lm-bench-dirty-log (see bench/dirty_log_burst.cpp): every measured
burst finds exactly --burst packets waiting, so the figures do not depend on the model thread's
scheduling.

  1. instructions per packet: one process per mode under
     `valgrind --tool=callgrind --collect-atstart=no` (the program toggles collection around the
     measured calls only); Ir / packets. Exact: a rerun gives the same numbers.
  2. TSC cycles per packet: all modes in one native process, interleaved round by round; the
     median and the 10th percentile over rounds (the machine has 2 cores shared with the model
     thread: read the spread).

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


def eal(build, prefix):
    pmd = os.path.join(ROOT, build, "drivers/net/ixgbevf_lm/librte_net_ixgbevf_lm.so")
    return ["-l", "0", "--no-pci", "--no-huge", "-m", "512", "--iova-mode=va", "--file-prefix", prefix,
            "--log-level", "pmd.net.ixgbevf_lm*:warning", "-d", pmd]


def run(cmd, timeout):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, shlex.join(cmd), p.stdout[-3000:]))
    rows = {}
    for line in p.stdout.splitlines():
        f = line.split(",")
        if len(f) == 5 and f[0] in MODES:
            rows[f[0]] = {"packets": int(f[1]), "median": float(f[2]), "p10": float(f[3]), "p90": float(f[4])}
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=20000, help="native rounds (cycles)")
    ap.add_argument("--cg-rounds", type=int, default=300, help="rounds under callgrind (instructions)")
    ap.add_argument("--burst", type=int, default=32)
    ap.add_argument("--fetch-every", type=int, default=200,
                    help="bitmap modes: the host fetches-and-clears every N rounds (0: never)")
    ap.add_argument("--write", action="store_true", help="write doc/figures/dirty-logging-burst.md")
    a = ap.parse_args()
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

    cmd = [exe] + eal(a.build, "ixlm-dlb-tsc-" + tag) + ["--", "--rounds", str(a.rounds), "--burst", str(a.burst),
                                                          "--fetch-every", str(a.fetch_every), "--modes", ",".join(MODES)]
    commands.append(cmd)
    tsc = run(cmd, 600)
    for mode in MODES:
        t = tsc[mode]
        print("%-9s %7.1f cycles/packet median, p10 %.1f, p90 %.1f" % (mode, t["median"], t["p10"], t["p90"]))

    if a.write:
        write_doc(a, ir, tsc, commands)


def write_doc(a, ir, tsc, commands):
    path = os.path.join(ROOT, "doc", "figures", "dirty-logging-burst.md")
    lines = [
        "# Dirty-page logging: cost per packet in rx_burst + tx_burst, deterministic",
        "",
        "Produced by `bench/dirty_log_burst.py --rounds %d --cg-rounds %d --fetch-every %d --write` on %s." % (
            a.rounds, a.cg_rounds, a.fetch_every, datetime.date.today().isoformat()),
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
        "at a high packet rate: after each fetch the Rx bursts mark buffers until the control thread has",
        "proven the pool's pages marked again (RxPoolMarkScan), then mark none until the next fetch.",
        "Ratios are against `off` in the same run.",
        "",
        "| mode | Ir/packet (callgrind) | vs off | cycles/packet median | vs off | cycles/packet p10 | vs off |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        lines.append("| %s | %.1f | %.3f | %.1f | %.3f | %.1f | %.3f |" % (
            DESCRIPTION[mode], ir[mode], ir[mode] / ir["off"], tsc[mode]["median"],
            tsc[mode]["median"] / tsc["off"]["median"], tsc[mode]["p10"], tsc[mode]["p10"] / tsc["off"]["p10"]))
    lines += [
        "",
        "Instruction counts repeat exactly; cycles are TSC around the two calls, all modes interleaved",
        "round by round in one process (%d rounds, each 2 bursts per mode)." % a.rounds,
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
