#!/usr/bin/env bash
# Builds the guest of the vm suite (tests/vm) and `make demo-vm`: a Debian kernel and an initramfs
# made at set-up from Debian packages and this build, never committed.
#
#   scripts/build-guest.sh BUILD_DIR      prints the guest directory (BUILD_DIR/vm-guest) last
#
# Installs qemu-system-x86, linux-image-amd64 and busybox-static when missing. The initramfs holds
# busybox, the host's dpdk-testpmd and the DPDK libraries it loads (its ldd closure, copied from the
# host), the mempool_ring PMD, this build's PMD plugins, the example reflector, the guest helper of
# the vm suite and tests/vm/guest/init. Idempotent: rebuilt only when an input is newer.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=$build/vm-guest
packages=(qemu-system-x86 linux-image-amd64 busybox-static cpio)

log() { echo "build-guest: $*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  # initramfs-tools is not needed: the guest's initramfs is ours
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

kernel=$(ls -1 /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
if [[ ! -r $kernel ]]; then
  log "no readable /boot/vmlinuz-*-amd64 after installing linux-image-amd64"
  exit 1
fi

pmd_dir=$build/drivers/net/ixgbevf_lm
inputs=("$root/tests/vm/guest/init" "$pmd_dir/librte_net_ixgbevf_lm.so" "$kernel"
        /usr/bin/dpdk-testpmd)
for f in "$build/tests/vm/ixgbevf-lm-guest-probe" "$build/examples/reflector/ixgbevf-lm-reflector" \
         "$pmd_dir/librte_net_ixgbevf_lm_sim.so" "$pmd_dir/librte_net_ixgbevf_lm_shm.so"; do
  [[ -e $f ]] && inputs+=("$f")
done
for f in "${inputs[@]}"; do [[ -e $f ]] || { log "missing input $f (build first)"; exit 1; }; done

stale=0
[[ -f $out/initramfs.cpio && -f $out/vmlinuz ]] || stale=1
if ((!stale)); then
  for f in "${inputs[@]}"; do [[ $f -nt $out/initramfs.cpio ]] && stale=1; done
fi
if ((!stale)); then
  echo "$out"
  exit 0
fi

log "building the guest initramfs in $out"
rm -rf "$out.tmp" && mkdir -p "$out.tmp/root"
r=$out.tmp/root
mkdir -p "$r"/{bin,sbin,dev,proc,sys,tmp,run,mnt/huge,etc,ixlm} "$r/usr/lib/x86_64-linux-gnu"

cp /bin/busybox "$r/bin/busybox"
for applet in $(/bin/busybox --list); do
  [[ -e $r/bin/$applet ]] || ln -s busybox "$r/bin/$applet"
done

# A binary and its shared libraries at the same paths as on the host (the loader included).
copy_closure() {
  local f lib
  for f in "$@"; do
    mkdir -p "$r$(dirname "$f")"
    cp -L "$f" "$r$f"
    while read -r lib; do
      [[ -e $r$lib ]] && continue
      mkdir -p "$r$(dirname "$lib")"
      cp -L "$lib" "$r$lib"
    done < <(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' | sort -u)
  done
}
# EAL loads every PMD of its plugin directory: only the one mempool driver goes there.
eal_pmds=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
copy_closure /usr/bin/dpdk-testpmd "$eal_pmds/librte_mempool_ring.so.23"
ln -sf librte_mempool_ring.so.23 "$r$eal_pmds/librte_mempool_ring.so"

# Our plugins and programs at their build paths (their RUNPATHs name the build's libraries), with
# links under /ixlm; the loader knows a file by its inode, so a plugin is loaded once either way.
for f in "$pmd_dir"/librte_net_ixgbevf_lm*.so "$build/tests/vm/ixgbevf-lm-guest-probe" \
         "$build/examples/reflector/ixgbevf-lm-reflector"; do
  [[ -e $f ]] || continue
  copy_closure "$f"
  ln -sf "$f" "$r/ixlm/$(basename "$f")"
done

install -m 0755 "$root/tests/vm/guest/init" "$r/init"
(cd "$r" && find . -print0 | cpio --null -o -H newc --quiet) > "$out.tmp/initramfs.cpio"
cp "$kernel" "$out.tmp/vmlinuz"
rm -rf "$out.tmp/root"
rm -rf "$out" && mv "$out.tmp" "$out"
log "guest: $(du -sh "$out/initramfs.cpio" | cut -f1) initramfs, kernel $(basename "$kernel")"
echo "$out"
