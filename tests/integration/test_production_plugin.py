#!/usr/bin/env python3
"""The production PMD stands alone: librte_net_ixgbevf_lm.so (what an operator loads on a real VF)
needs no device model and no simulated hypervisor, neither as a library (DT_NEEDED) nor as a symbol
it defines or imports, and registers no simulated device. The sim plugin beside it is built on it
(DT_NEEDED) and does name the model: the same checks on it must find what they look for, so they
can fail.

Usage: test_production_plugin.py <librte_net_ixgbevf_lm.so> <source dir>
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import SIM_PLUGIN, check, main, skip  # noqa: E402

SIM_LIBS = re.compile(r"libixgbevf_lm_(model|hypervisor)")
SIM_SYMBOLS = re.compile(r"ixgbevf_lm::(model|hv)::|PfModel|SimPlatform|DmaSpace|VfPort|net_ixgbevf_lm_sim")


def needed(so):
    out = subprocess.run(["readelf", "-d", so], stdout=subprocess.PIPE, check=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def symbols(so):
    out = subprocess.run(["nm", "-DC", so], stdout=subprocess.PIPE, check=True, text=True).stdout
    return out.splitlines()


def body():
    for tool in ("readelf", "nm"):
        if not shutil.which(tool):
            skip(f"{tool} not found (binutils)")
    pmd = os.path.abspath(sys.argv[1])
    sim = os.path.join(os.path.dirname(pmd), SIM_PLUGIN)
    check(os.path.isfile(pmd) and os.path.isfile(sim), f"expected {pmd} and {sim}")

    libs = [n for n in needed(pmd) if SIM_LIBS.search(n)]
    check(not libs, f"the production PMD needs {libs}")
    named = [line for line in symbols(pmd) if SIM_SYMBOLS.search(line)]
    check(not named, f"the production PMD names {len(named)} symbols of the simulation: {named[:5]}")

    sim_needed = needed(sim)
    check(os.path.basename(pmd) in sim_needed, f"the sim plugin does not build on the PMD: {sim_needed}")
    check(any(SIM_LIBS.search(n) for n in sim_needed), f"the check finds no model in the sim plugin: {sim_needed}")
    check(any(SIM_SYMBOLS.search(line) for line in symbols(sim)), "the check finds no model symbol in the sim plugin")
    print(f"{os.path.basename(pmd)}: needs {needed(pmd)}, {len(symbols(pmd))} dynamic symbols, none of the "
          f"simulation; {SIM_PLUGIN} needs {sim_needed}")


main(body)
