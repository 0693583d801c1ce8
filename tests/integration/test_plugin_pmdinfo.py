#!/usr/bin/env python3
"""The plugin the way users get it: the stock dpdk-testpmd loads it with -d and lists its sim port
with the driver's name, and dpdk-pmdinfo.py on the .so lists both drivers, the ixgbe VF PCI IDs
(8086: 10ed 1515 1565 15a8 15c5) and the devargs of each. Skips (77) when no dpdk-pmdinfo.py can
be found (PATH, then the DPDK source tree's usertools/) or it cannot run (python3-pyelftools).

Usage: test_plugin_pmdinfo.py <librte_net_ixgbevf_lm.so> <source dir> [<dpdk source dir>]
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Testpmd, check, main, sim_vdev, skip  # noqa: E402

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

    # 2. dpdk-pmdinfo.py
    tool = pmdinfo_tool()
    p = subprocess.run(tool + [pmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check(p.returncode == 0, f"{' '.join(tool)} {pmd} failed: {p.stderr.decode(errors='replace')}")
    drivers = {d.get("name"): d for d in json.loads(p.stdout)}
    print(f"dpdk-pmdinfo: drivers {sorted(drivers)}")
    pci = drivers.get("net_ixgbevf_lm")
    check(pci, f"no net_ixgbevf_lm in pmdinfo: {json.dumps(list(drivers.values()))}")
    ids = {e.get("device") for e in pci.get("pci_ids", []) if e.get("vendor") == "8086"}
    check(VF_IDS <= ids, f"PCI IDs listed {sorted(ids)}, missing {sorted(VF_IDS - ids)}")
    sim = next((d for n, d in drivers.items() if n and n.startswith("net_ixgbevf_lm_sim")), None)
    check(sim, f"no net_ixgbevf_lm_sim in pmdinfo: {sorted(drivers)}")
    params = sim.get("params", "")
    missing = [k for k in SIM_PARAMS if k not in params]
    check(not missing, f"sim driver params {params!r} lack {missing}")
    missing = [k for k in PCI_PARAMS if k not in pci.get("params", "")]
    check(not missing, f"PCI driver params {pci.get('params', '')!r} lack {missing}")
    print(f"pmdinfo: net_ixgbevf_lm ids {sorted(ids)} params {pci.get('params', '')!r}; "
          f"{sim['name']} params {params!r}")


main(body)
