#!/usr/bin/env bash
# The unit suites built with a sanitizer: `asan` (AddressSanitizer + UndefinedBehaviorSanitizer) or
# `tsan` (ThreadSanitizer), in build-asan/ or build-tsan/. Only the test executables are built. The
# integration suite drives Debian's testpmd, which is not instrumented: it is left out here.
# Prints the run's `N passed, N failed` line (scripts/run-tests.sh).
set -uo pipefail
kind=${1:?usage: run-sanitized.sh asan|tsan}
cd "$(dirname "$0")/.."
root=$PWD
build=build-$kind
supp=$root/tests/sanitizers
suites=(conformance model pmd migration fuzz)
# Test binaries that still end with a report of this sanitizer, left out of the run until fixed
# (issue 17, doc/figures/fuzzing.md says what each reports). Everything else must stay clean.
declare -A known_reports=(
  [asan]="pmd pmd_multiprocess"
  [tsan]="test_datapath pmd pmd_multiprocess mig_pmd"
)

case $kind in
  asan) sanitize=address,undefined ;;
  tsan) sanitize=thread ;;
  *) echo "unknown sanitizer $kind" >&2; exit 2 ;;
esac

./scripts/setup-deps.sh >/dev/null || exit 1
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Ddpdk_sdk="$root/.cache/dpdk" -Db_sanitize=$sanitize -Db_lundef=false \
    >"$build.setup.log" 2>&1 || { cat "$build.setup.log"; echo "0 passed, 1 failed"; exit 1; }
  rm -f "$build.setup.log"
fi

# regenerate first when a meson.build changed, so that the list below is current
ninja -C "$build" build.ninja >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
# the executables of the chosen suites, nothing else (bench/, app/ and examples/ are not run here)
mapfile -t targets < <(meson introspect "$build" --tests | python3 -c '
import json, os, sys
suites = set(sys.argv[2:])
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] in suites for s in t["suite"]):
        print(os.path.relpath(t["cmd"][0], sys.argv[1]))
' "$build" "${suites[@]}")
if ! ninja -C "$build" "${targets[@]}"; then
  echo "0 passed, 1 failed"
  exit 1
fi

# halt on the first report so that a finding fails its test; the suppressions cover DPDK only
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
# sanitized code runs several times slower: give every test more time than meson's default
args=(--timeout-multiplier "${SANITIZER_TIMEOUT_MULTIPLIER:-4}")
mapfile -t names < <(meson introspect "$build" --tests | python3 -c '
import json, sys
suites, skip = set(sys.argv[1].split()), set(sys.argv[2].split())
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] in suites for s in t["suite"]) and t["name"] not in skip:
        print(t["name"])
' "${suites[*]}" "${known_reports[$kind]:-}")
echo "== $kind: ${suites[*]} (left out, known reports: ${known_reports[$kind]:-none})"
exec ./scripts/run-tests.sh "$build" "${args[@]}" "${names[@]}"
