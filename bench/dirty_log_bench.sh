#!/usr/bin/env bash
# Benchmark (not a test): dirty_log=off|bitmap|touch cycles/packet side by side; see dirty_log_bench.py.
# Usage: bench/dirty_log_bench.sh [build dir] [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/dirty_log_bench.py" --build "${1:-build-mig}" --seconds "${2:-5}"
