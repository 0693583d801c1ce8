#!/usr/bin/env python3
"""`ixgbevf-lm-migrate demo --migrations 3 --json`: the fail-closed record of every migration.

Each record must carry, per port, the logging errors the driver reported (`ports[*].log_errors`),
all 0 in the demo's traffic, no page missed, the host not forced to copy everything, and the
over-report ratio (pages the driver reported / pages the device wrote) at most 1.5; the exit code
is 0 only then.

Usage: test_demo_fail_closed.py <ixgbevf-lm-migrate>
"""
import json
import subprocess
import sys

MAX_OVER_REPORT = 1.5


def main():
    exe = sys.argv[1]
    cmd = [exe, "demo", "--migrations", "3", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    recs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{") and '"downtime_ms"' in l]
    fails = []
    if len(recs) != 3:
        fails.append(f"{len(recs)} migration records, expected 3")
    for r in recs:
        n = r.get("migration")
        ports = r.get("ports", [])
        if not ports:
            fails.append(f"migration {n}: no port record")
        for port in ports:
            if "log_errors" not in port:
                fails.append(f"migration {n}: port {port.get('identity')} has no log_errors")
            elif port["log_errors"] != 0 or port.get("log_incomplete"):
                fails.append(f"migration {n}: port {port.get('identity')} reported {port['log_errors']} "
                             f"failures to log: {port.get('log_error', '')}")
        if r.get("missed_dirty_pages") != 0:
            fails.append(f"migration {n}: missed {r.get('missed_dirty_pages')} pages")
        if r.get("copied_all"):
            fails.append(f"migration {n}: the host had to copy all memory")
        if r.get("over_report_ratio") is None or r["over_report_ratio"] > MAX_OVER_REPORT:
            fails.append(f"migration {n}: over-report ratio {r.get('over_report_ratio')} > {MAX_OVER_REPORT} "
                         f"({r.get('pages_reported')} reported / {r.get('dma_pages_written')} written)")
    if p.returncode != 0:
        fails.append(f"exit code {p.returncode}")
    print("$ " + " ".join(cmd))
    for r in recs:
        print(f"migration {r.get('migration')}: over-report {r.get('over_report_ratio')}, "
              f"log_errors {[x.get('log_errors') for x in r.get('ports', [])]}, missed {r.get('missed_dirty_pages')}")
    if fails:
        print("FAIL:\n  " + "\n  ".join(fails))
        print(p.stderr[-3000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
