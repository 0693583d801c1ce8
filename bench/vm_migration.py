#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Figures of real QEMU migrating the vm suite's guest while a device process writes its RAM
(tests/vm/test_device_dma.py, one migration per run), side by side with the guest's CPU alone.

    bench/vm_migration.py BUILD_DIR [--runs N]

Prints one line per migration and a markdown table (doc/figures/vm-migration.md)."""
import argparse
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "vm"))
import test_device_dma  # noqa: E402
import vmlib  # noqa: E402


def cpu_only(build):
    guest = vmlib.build_guest(build)
    with vmlib.Workdir("bench-cpu") as wd:
        src = vmlib.Vm(wd, "src", guest)
        dst = vmlib.Vm(wd, "dst", guest, incoming=True)
        src.wait_ready()
        src.console.send("ixgbevf-lm-guest-probe scribble 16 100000 >/dev/null &")
        mig = vmlib.Migration(src, dst)
        mig.start()
        mig.wait("pre-switchover")
        info = mig.proceed()
        first, diff = vmlib.compare_settled(mig)
        return {"mode": "cpu only", "diff": diff.differing, "diff_at_completion": first.differing,
                "downtime_ms": info.get("downtime"),
                "total_s": mig.total_s, "logged": 0, "copied": 0, "copy_ms": 0.0, "guest_bad": None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    rows = []
    for mode in ("cpu only", "bitmap", "off"):
        for i in range(a.runs):
            r = cpu_only(a.build) if mode == "cpu only" else test_device_dma.run(a.build, mode)
            print(f"{mode:9} run {i + 1}: downtime {r['downtime_ms']} ms, "
                  f"total {r['total_s']:.2f} s, "
                  f"logged {r['logged']}, copied {r['copied']} ({r['copy_ms']:.1f} ms), "
                  f"{r['diff']} pages differ ({r.get('diff_at_completion', r['diff'])} right after "
                  f"the destination completed)", flush=True)
            rows.append(r)
    print(f"\nCommand: bench/vm_migration.py {a.build} --runs {a.runs}  "
          f"({time.strftime('%Y-%m-%d')}, QEMU {vmlib.accel_arg()})\n")
    print("| scenario | run | QEMU downtime ms | total s | pages logged | pages copied | copy ms "
          "| differing pages (at completion) | guest check |")
    print("|---|---|---|---|---|---|---|---|---|")
    n = {}
    for r in rows:
        n[r["mode"]] = n.get(r["mode"], 0) + 1
        check = "-" if r["guest_bad"] is None else ("FAIL" if r["guest_bad"] else "pass")
        print(f"| {r['mode']} | {n[r['mode']]} | {r['downtime_ms']} | {r['total_s']:.2f} "
              f"| {r['logged']} "
              f"| {r['copied']} | {r['copy_ms']:.1f} "
              f"| {r['diff']} ({r.get('diff_at_completion', r['diff'])}) "
              f"| {check} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
