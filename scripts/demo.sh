#!/usr/bin/env bash
# `make demo`: the project's main job. A DPDK application reflects traffic over a sim VF while the
# simulated hypervisor migrates its VM several times; prints the figures and a verdict.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
migrate=$build/app/ixgbevf-lm-migrate
if [[ -x $migrate ]]; then
  exec "$migrate" demo --migrations "${DEMO_MIGRATIONS:-5}" --rounds "${DEMO_ROUNDS:-4}"
fi

# Before the migration tool exists: stock testpmd forwarding between two sim VFs on one PF.
pmd=$PWD/$build/drivers/net/ixgbevf_lm/librte_net_ixgbevf_lm.so
log=$(mktemp)
trap 'rm -f "$log"' EXIT
( echo "start tx_first"; sleep 4; echo "stop"; sleep 1; echo "quit" ) |
  timeout 60 dpdk-testpmd -l 0-1 --no-pci $(scripts/eal-mem.sh demo$$) -d "$pmd" -d "${pmd%.so}_sim.so" \
    --vdev "net_ixgbevf_lm_sim0,pf=demo,vf=0,mac=02:00:00:00:00:10" \
    --vdev "net_ixgbevf_lm_sim1,pf=demo,vf=1,mac=02:00:00:00:00:11" \
    -- -i --forward-mode=mac --eth-peer=0,02:00:00:00:00:11 --eth-peer=1,02:00:00:00:00:10 >"$log" 2>&1 || true
grep -A12 'Accumulated forward statistics' "$log" || { tail -20 "$log"; exit 1; }
