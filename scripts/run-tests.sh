#!/usr/bin/env bash
# Runs every meson test suite and prints one closing line, `N passed, N failed`, counting test
# cases: GoogleTest binaries count their own cases, every other test counts as one.
set -uo pipefail
build=${1:-build}
shift || true
cd "$(dirname "$0")/.."

meson test -C "$build" --no-rebuild --print-errorlogs --num-processes "${TEST_JOBS:-2}" "$@"
rc=$?

python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = skipped = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    print("0 passed, 1 failed")
    sys.exit(0)
for line in lines:
    t = json.loads(line)
    out = t.get("stdout") or ""
    result = t.get("result")
    gp = re.findall(r"^\[  PASSED  \] (\d+) tests?", out, re.M)
    gf = re.findall(r"^\[  FAILED  \] (\d+) tests?, listed below", out, re.M)
    gs = re.findall(r"^\[  SKIPPED \] (\d+) tests?", out, re.M)
    if gp or gf:
        passed += sum(map(int, gp))
        failed += sum(map(int, gf))
        skipped += sum(map(int, gs))
        if result not in ("OK", "EXPECTEDFAIL", "SKIP") and not gf:
            failed += 1          # crashed or timed out after printing a summary
    elif result == "SKIP":
        skipped += 1
    elif result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    else:
        failed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
PY
exit $rc
