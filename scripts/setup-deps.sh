#!/usr/bin/env bash
# Installs what the build needs on Debian 12 and fetches DPDK's driver-SDK headers and Intel's ixgbe
# shared code from Debian's dpdk source package of exactly the installed libdpdk-dev version.
# Idempotent and quiet when everything is already there. Prints the SDK directory on its last line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${IXGBEVF_LM_CACHE:-$root/.cache}
packages=(libdpdk-dev dpdk-dev meson ninja-build pkg-config libnuma-dev libgtest-dev googletest
          dpkg-dev iproute2 iputils-ping python3 python3-pyelftools xz-utils libssl-dev)

log() { echo "setup: $*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

version=$(dpkg-query -W -f='${Version}' libdpdk-dev)
upstream=${version%%-*}
sdk="$cache/dpdk-$version"
if [[ ! -f $sdk/.complete ]]; then
  log "fetching Debian source package dpdk=$version for the driver-SDK headers"
  if ! apt-cache showsrc dpdk 2>/dev/null | grep -qx "Version: $version"; then
    src_list=/etc/apt/sources.list.d/ixgbevf-lm-deb-src.sources
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | as_root tee "$src_list" >/dev/null
    else
      grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | sed 's/^deb /deb-src /' | as_root tee "${src_list%.sources}.list" >/dev/null
    fi
    as_root apt-get update -qq
  fi
  rm -rf "$sdk.tmp" && mkdir -p "$sdk.tmp"
  (cd "$sdk.tmp" && apt-get source -qq --download-only "dpdk=$version" >/dev/null 2>&1)
  tar -C "$sdk.tmp" -xf "$sdk.tmp"/dpdk_"$upstream".orig.tar.*
  src=$(find "$sdk.tmp" -mindepth 1 -maxdepth 1 -type d -name 'dpdk*' | head -1)
  [[ -f $src/lib/ethdev/ethdev_driver.h ]] || { log "source package has no lib/ethdev/ethdev_driver.h"; exit 1; }
  rm -rf "$sdk" && mkdir -p "$sdk/include"
  mv "$src" "$sdk/src"
  for h in lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_pci.h lib/ethdev/ethdev_vdev.h \
           drivers/bus/vdev/bus_vdev_driver.h drivers/bus/pci/bus_pci_driver.h \
           lib/eal/include/bus_driver.h lib/eal/include/dev_driver.h; do
    cp "$sdk/src/$h" "$sdk/include/"
  done
  rm -rf "$sdk.tmp"
  touch "$sdk/.complete"
fi
ln -sfn "dpdk-$version" "$cache/dpdk"

# Hugepages make DPDK behave as in production; everything also runs with --no-huge without them.
if [[ $(id -u) -eq 0 && -w /proc/sys/vm/nr_hugepages ]]; then
  want=${IXGBEVF_LM_HUGEPAGES:-1024}
  have=$(cat /proc/sys/vm/nr_hugepages)
  ((have >= want)) || echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
    mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
  fi
fi
echo "$sdk"
