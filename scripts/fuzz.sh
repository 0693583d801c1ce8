#!/usr/bin/env bash
# `make fuzz`: builds the tests/fuzz targets with clang and libFuzzer (+ ASan and UBSan) in
# build-fuzz/ and runs each for FUZZ_SECONDS (default 600), printing executions and coverage.
#   FUZZ_TARGETS="devargs mailbox"  only these targets
#   FUZZ_PARALLEL=2                  targets run at the same time (default 1)
#   FUZZ_MERGE=1                     merge the inputs that add coverage into tests/fuzz/corpus/<target>
# A crash is written to tests/fuzz/crashes/<target>/, where `make test` replays it from then on.
# Not a test: it installs clang on demand and takes FUZZ_SECONDS per target.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=build-fuzz
seconds=${FUZZ_SECONDS:-600}
targets=(${FUZZ_TARGETS:-devargs mailbox region_guest region_host model_vf writeback})
parallel=${FUZZ_PARALLEL:-1}

./scripts/setup-deps.sh >/dev/null || exit 1
need=()
for p in clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  echo "fuzz: installing ${need[*]}"
  as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || exit 1
fi

if [[ ! -f $build/build.ninja ]]; then
  # coverage instrumentation for every library the targets reach; libFuzzer's main only in them
  CC=clang-14 CXX=clang++-14 meson setup "$build" -Ddpdk_sdk="$root/.cache/dpdk" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link -Dcpp_args=-fsanitize=fuzzer-no-link >/dev/null || exit 1
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz_}" || exit 1

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

run_one() {
  local t=$1 work=$build/fuzz-corpus/$1 log=$build/fuzz-$1.log
  mkdir -p "$work" "tests/fuzz/crashes/$t"
  # new inputs go to the scratch corpus; the tree's corpus is read only unless FUZZ_MERGE=1
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=4096 -artifact_prefix="tests/fuzz/crashes/$t/" "$work" "tests/fuzz/corpus/$t" \
    >"$log" 2>&1
  local rc=$?
  local done_line execs cov ft
  done_line=$(grep -E '^#[0-9]+\s+(DONE|INITED)' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
  printf 'fuzz %-13s %4ss  %10s execs  cov %6s  ft %6s  corpus %5s  %s\n' "$t" "$seconds" "${execs:-?}" \
    "${cov:-?}" "${ft:-?}" "$(ls "$work" | wc -l)" "$([[ $rc -eq 0 ]] && echo ok || echo "FINDING (see $log)")"
  if [[ ${FUZZ_MERGE:-0} == 1 && $rc -eq 0 ]]; then
    "$build/tests/fuzz/fuzz_$t" -merge=1 "tests/fuzz/corpus/$t" "$work" >>"$log" 2>&1
  fi
  return $rc
}

echo "fuzz: ${targets[*]}, ${seconds}s each, $parallel at a time (logs: $build/fuzz-<target>.log)"
failed=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if ((${#pids[@]} >= parallel)); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do
  wait "$p" || failed=1
done
exit $failed
