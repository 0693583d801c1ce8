#!/usr/bin/env python3
"""The plugins the way users get them: the stock dpdk-testpmd loads both with -d and lists the sim
port with the driver's name; dpdk-pmdinfo.py on the production .so lists the PCI driver alone, with
the ixgbe VF PCI IDs (8086: 10ed 1515 1565 15a8 15c5) and its devargs, and on the sim plugin the
sim vdev with its devargs. Skips (77) when no dpdk-pmdinfo.py can
be found (PATH, then the DPDK source tree's usertools/) or it cannot run (python3-pyelftools).

Usage: test_plugin_pmdinfo.py <librte_net_ixgbevf_lm.so> <source dir> [<dpdk source dir>]
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import SIM_PLUGIN, Testpmd, check, main, sim_vdev, skip  # noqa: E402

VF_IDS = {"10ed", "1515", "1565", "15a8", "15c5"}
# every devarg key the drivers accept (ixgbevf_lm_devargs.cpp kSimKeys / kPciKeys)
PCI_PARAMS = ("tx_head_wb=", "mig_region=", "dirty_log=", "dirty_addr=", "mig_poll_us=", "recover=",
              "quiesce_timeout_us=")
SIM_PARAMS = ("pf=", "vf=", "mac=", "uplink=") + PCI_PARAMS


def pmdinfo_tool():
    for name in ("dpdk-pmdinfo.py", "dpdk-pmdinfo"):
        exe = shutil.which(name)
        if exe:
            return [exe]
    candidates = []
    if len(sys.argv) > 3 and sys.argv[3]:
        candidates.append(os.path.join(sys.argv[3], "usertools", "dpdk-pmdinfo.py"))
    candidates.append(os.path.join(sys.argv[2], ".cache", "dpdk", "src", "usertools", "dpdk-pmdinfo.py"))
    script = next((c for c in candidates if os.path.isfile(c)), None)
    if not script:
        skip("dpdk-pmdinfo.py not found (not on PATH, no DPDK source tree)")
    # The tool needs pyelftools: use the first interpreter that has it (Debian's python3-pyelftools
    # lives in /usr/bin/python3's path, which a pyenv or venv python3 does not see).
    for py in dict.fromkeys([sys.executable, shutil.which("python3"), "/usr/bin/python3"]):
        if py and subprocess.run([py, "-c", "import elftools"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL).returncode == 0:
            return [py, script]
    skip("dpdk-pmdinfo.py cannot run here: no python3 with pyelftools (python3-pyelftools)")


def body():
    pmd = os.path.abspath(sys.argv[1])
    check(os.path.isfile(pmd), f"no plugin at {pmd}")

    # 1. -d into the stock testpmd: the port is there and named after the driver.
    with Testpmd(pmd, [sim_vdev(0, f"pi{os.getpid()}", 0)], tag="pi") as t:
        info = t.port_info(0)
        check("net_ixgbevf_lm" in info.get("Driver name", ""), f"port 0 driver {info.get('Driver name')!r}")
        print(f"testpmd -d {os.path.basename(pmd)}: port 0 is {info.get('Device name')} ({info.get('Driver name')})")

    # 2. dpdk-pmdinfo.py, on each plugin
    tool = pmdinfo_tool()

    def pmdinfo(so):
        p = subprocess.run(tool + [so], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        check(p.returncode == 0, f"{' '.join(tool)} {so} failed: {p.stderr.decode(errors='replace')}")
        return {d.get("name"): d for d in json.loads(p.stdout)}

    drivers = pmdinfo(pmd)
    print(f"dpdk-pmdinfo {os.path.basename(pmd)}: drivers {sorted(drivers)}")
    pci = drivers.get("net_ixgbevf_lm")
    check(pci, f"no net_ixgbevf_lm in pmdinfo: {json.dumps(list(drivers.values()))}")
    check(sorted(drivers) == ["net_ixgbevf_lm"], f"the production PMD carries other drivers: {sorted(drivers)}")
    ids = {e.get("device") for e in pci.get("pci_ids", []) if e.get("vendor") == "8086"}
    check(VF_IDS <= ids, f"PCI IDs listed {sorted(ids)}, missing {sorted(VF_IDS - ids)}")
    sim_so = os.path.join(os.path.dirname(pmd), SIM_PLUGIN)
    check(os.path.isfile(sim_so), f"no sim plugin at {sim_so}")
    sim_drivers = pmdinfo(sim_so)
    print(f"dpdk-pmdinfo {SIM_PLUGIN}: drivers {sorted(sim_drivers)}")
    sim = next((d for n, d in sim_drivers.items() if n and n.startswith("net_ixgbevf_lm_sim")), None)
    check(sim, f"no net_ixgbevf_lm_sim in pmdinfo: {sorted(sim_drivers)}")
    params = sim.get("params", "")
    missing = [k for k in SIM_PARAMS if k not in params]
    check(not missing, f"sim driver params {params!r} lack {missing}")
    missing = [k for k in PCI_PARAMS if k not in pci.get("params", "")]
    check(not missing, f"PCI driver params {pci.get('params', '')!r} lack {missing}")
    print(f"pmdinfo: net_ixgbevf_lm ids {sorted(ids)} params {pci.get('params', '')!r}; "
          f"{sim['name']} params {params!r}")


main(body)
