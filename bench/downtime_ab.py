#!/usr/bin/env python3
"""Benchmark (not a test): migration downtime of two builds of `ixgbevf-lm-migrate demo`, run
alternately in one session (A, B, A, B, ...) so that both see the same machine load. Prints per
build the median over all its migrations of the downtime, the blackout and every phase, the ratio
B / A, and the command lines.

Usage: bench/downtime_ab.py A_TOOL B_TOOL [--runs 4] [--migrations 20]
  A_TOOL, B_TOOL: paths of two ixgbevf-lm-migrate binaries (each finds its own libraries through
  its RUNPATH), e.g. a worktree's build of the previous commit and build/app/ixgbevf-lm-migrate.
"""
import argparse
import json
import statistics
import subprocess
import sys

KEYS = ["downtime_ms", "blackout_ms"]
PHASES = ["quiesce_ack", "final_fetch", "switch_rebuild_ack", "running_ack"]


def run(tool, migrations):
    cmd = [tool, "demo", "--migrations", str(migrations), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    recs = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{") and '"downtime_ms"' in l]
    if len(recs) != migrations:
        sys.exit(f"{' '.join(cmd)}: {len(recs)} migration records (exit {out.returncode}): {out.stderr[-400:]}")
    if any(r["missed_dirty_pages"] for r in recs):
        sys.exit(f"{' '.join(cmd)}: missed dirty pages")
    return " ".join(cmd), recs


def figures(recs):
    med = lambda f: statistics.median(f(r) for r in recs)
    fig = {k: med(lambda r: r[k]) for k in KEYS}
    fig.update({p: med(lambda r: r["phases_ms"][p]) for p in PHASES})
    fig["driver_restart"] = med(lambda r: r["ports"][0]["driver_restart_ms"])
    fig["downtime_max"] = max(r["downtime_ms"] for r in recs)
    return fig


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--migrations", type=int, default=20)
    a = ap.parse_args()
    recs = {"A": [], "B": []}
    cmds = {}
    for i in range(a.runs):
        for name, tool in (("A", a.a), ("B", a.b)):
            cmds[name], r = run(tool, a.migrations)
            recs[name] += r
            print(f"run {i + 1} {name}: downtime median {figures(r)['downtime_ms']:.3f} ms", file=sys.stderr)
    fa, fb = figures(recs["A"]), figures(recs["B"])
    print(f"A: {cmds['A']}\nB: {cmds['B']}\n{a.runs} alternating runs of {a.migrations} migrations each; medians (ms)")
    print(f"{'figure':20s} {'A':>9s} {'B':>9s} {'B/A':>6s}")
    for k in KEYS + PHASES + ["driver_restart", "downtime_max"]:
        print(f"{k:20s} {fa[k]:9.3f} {fb[k]:9.3f} {fb[k] / fa[k] if fa[k] else float('nan'):6.2f}")


if __name__ == "__main__":
    main()
