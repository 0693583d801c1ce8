#!/usr/bin/env python3
"""Installed like any DPDK PMD: `meson install` into a staging directory (DESTDIR) puts the
production PMD in libdir with a link in the installed DPDK's own plugin directory (where the EAL
looks without -d), the sim plugin in libdir/ixgbevf_lm/ (outside the plugin directory), the public
headers and a pkg-config file; a C program builds against them with pkg-config, and the stock
dpdk-testpmd loads the staged plugin directory and the staged sim plugin and probes a sim port.

Usage: test_install.py <librte_net_ixgbevf_lm.so> <source dir>
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import check, cleanup_prefix, eal_mem_args, main, run_batch, testpmd_binary, unique_prefix  # noqa: E402

PROGRAM = r"""
#include <stdio.h>
#include <rte_pmd_ixgbevf_lm.h>
#include <rte_pmd_ixgbevf_lm_migration.h>
int main(void) { printf("%d\n", rte_pmd_ixgbevf_lm_mbx_api(0)); return 0; }
"""


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, **kw)
    check(p.returncode == 0, f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout[-2000:]}")
    return p.stdout


def body():
    pmd = os.path.abspath(sys.argv[1])
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(pmd))))
    # Not under /tmp: the EAL refuses plugins below a world-writable directory.
    stage = os.path.join(build, "install-test-stage")
    shutil.rmtree(stage, ignore_errors=True)
    run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", stage])
    intro = run(["meson", "introspect", build, "--buildoptions"])
    opts = {o["name"]: o["value"] for o in json.loads(intro)}
    prefix, libdir = opts["prefix"], opts["libdir"]
    sysroot_lib = os.path.join(stage + prefix, libdir)
    dpdk_libdir = run(["pkg-config", "--variable=libdir", "libdpdk"]).strip()
    plugin_dir = stage + os.path.join(dpdk_libdir, "dpdk")
    plugin_dirs = [d for d in os.listdir(plugin_dir)] if os.path.isdir(plugin_dir) else []
    check(len(plugin_dirs) == 1 and plugin_dirs[0].startswith("pmds-"), f"plugin directory: {plugin_dirs}")
    plugin_dir = os.path.join(plugin_dir, plugin_dirs[0])
    link = os.path.join(plugin_dir, "librte_net_ixgbevf_lm.so")
    check(os.path.islink(link), f"no link {link}")
    check(os.path.realpath(link) == os.path.realpath(os.path.join(sysroot_lib, "librte_net_ixgbevf_lm.so")),
          f"{link} -> {os.readlink(link)}, not the installed PMD")
    check(sorted(os.listdir(plugin_dir)) == ["librte_net_ixgbevf_lm.so"],
          f"the plugin directory holds more than the production PMD: {os.listdir(plugin_dir)}")
    sim = os.path.join(sysroot_lib, "ixgbevf_lm", "librte_net_ixgbevf_lm_sim.so")
    check(os.path.isfile(sim), f"no sim plugin at {sim}")
    include = os.path.join(stage + prefix, "include")
    for h in ("rte_pmd_ixgbevf_lm.h", "rte_pmd_ixgbevf_lm_migration.h", "ixgbevf_lm_region.h"):
        check(os.path.isfile(os.path.join(include, h)), f"no {h} in {include}")
    pcdir = os.path.join(sysroot_lib, "pkgconfig")
    check(os.path.isfile(os.path.join(pcdir, "ixgbevf_lm.pc")), f"no ixgbevf_lm.pc in {pcdir}")
    print(f"staged: {os.path.relpath(link, stage)} -> {os.readlink(link)}; {os.path.relpath(sim, stage)}")

    # An application of the API, built with pkg-config against the staged tree (our .pc with its
    # prefix moved into the stage; libdpdk's stays the system's).
    staged_pc = os.path.join(stage, "pc")
    os.makedirs(staged_pc)
    with open(os.path.join(pcdir, "ixgbevf_lm.pc")) as f:
        pc = f.read().replace(f"prefix={prefix}\n", f"prefix={stage + prefix}\n", 1)
    with open(os.path.join(staged_pc, "ixgbevf_lm.pc"), "w") as f:
        f.write(pc)
    env = dict(os.environ, PKG_CONFIG_PATH=staged_pc)
    flags = run(["pkg-config", "--cflags", "--libs", "ixgbevf_lm"], env=env).split()
    src, exe = os.path.join(stage, "api.c"), os.path.join(stage, "api")
    with open(src, "w") as f:
        f.write(PROGRAM)
    run(["cc", "-o", exe, src] + flags)
    needed = run(["readelf", "-d", exe])
    check("librte_net_ixgbevf_lm.so" in needed, "the program does not link the PMD")

    # The stock testpmd with the staged plugin directory and the staged sim plugin.
    prefix_eal = unique_prefix("inst")
    argv = [testpmd_binary(), "-l", "0-1", "--no-pci"] + eal_mem_args(prefix_eal, 512) + \
        ["-d", plugin_dir, "-d", sim, "--vdev", f"net_ixgbevf_lm_sim0,pf=inst{os.getpid()},vf=0",
         "--", "-i", "--total-num-mbufs=2048"]
    rc, out = run_batch(argv, timeout=60, env=dict(os.environ, LD_LIBRARY_PATH=sysroot_lib))
    cleanup_prefix(prefix_eal)
    check(rc == 0 and "Port 0: " in out, f"staged plugins: testpmd rc {rc}:\n{out[-1500:]}")
    shutil.rmtree(stage, ignore_errors=True)
    print("testpmd probed a sim port from the staged plugins; an API program built with pkg-config")


main(body)
