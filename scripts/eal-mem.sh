#!/usr/bin/env bash
# Prints the EAL memory options for one DPDK process: hugepages when reserved and mounted, else --no-huge.
# Usage: eal-mem.sh <unique-prefix> [MiB]
prefix=${1:?prefix}; mem=${2:-1024}
if grep -q hugetlbfs /proc/mounts && (( $(awk '/HugePages_Free/{print $2}' /proc/meminfo) * 2 > mem )); then
  echo "--file-prefix $prefix"
else
  echo "--no-huge -m $mem --file-prefix $prefix"
fi
