#!/usr/bin/env bash
# Benchmark (not a test): io forwarding between two sim VFs beside DPDK's net_ring pair; see io_forward.py.
# Usage: bench/io_forward.sh [build dir] [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}; secs=${2:-5}
exec python3 "$here/io_forward.py" --pmd "$build/drivers/net/ixgbevf_lm/librte_net_ixgbevf_lm.so" --seconds "$secs"
