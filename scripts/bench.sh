#!/usr/bin/env bash
# `make bench`: every benchmark (not tests), each printing its figures and the commands behind them.
# Figures go into doc/figures/ only when a benchmark is run by hand with --write.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
echo "== io forwarding: sim VF pair beside net_ring (bench/io_forward.py)"
python3 bench/io_forward.py --pmd "$build/drivers/net/ixgbevf_lm/librte_net_ixgbevf_lm.so" --seconds 5 --no-write
echo "== dirty logging per packet, deterministic bursts (bench/dirty_log_burst.py)"
python3 bench/dirty_log_burst.py --build "$build"
if [ "$(id -u)" = 0 ] && [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)" -ge 256 ]; then
  echo "== the same on hugepage memory (mbuf objects packed across 4 KiB pages)"
  python3 bench/dirty_log_burst.py --build "$build" --huge
fi
echo "== dirty logging in testpmd io forwarding, TSC (bench/dirty_log_bench.py)"
python3 bench/dirty_log_bench.py --build "$build" --seconds 3 --reps 3 --no-write
