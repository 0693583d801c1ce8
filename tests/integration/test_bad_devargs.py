#!/usr/bin/env python3
"""Bad devargs fail the probe of the sim port with a log line that names the key: testpmd either
exits non-zero or comes up without the port, and its log names the refused key (and value).

Usage: test_bad_devargs.py <librte_net_ixgbevf_lm.so> <source dir>
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import check, cleanup_prefix, eal_mem_args, main, plugin_args, run_batch, testpmd_binary, unique_prefix  # noqa: E402

# (devargs after the device name, the key the log must name, the refused value it should name)
CASES = [
    ("pf={pf},vf=99", "vf", "99"),
    ("pf={pf},vf=0,mac=zz", "mac", "zz"),
    ("pf={pf},vf=0,foo=1", "foo", None),
    ("pf={pf},vf=0,uplink=bogus", "uplink", "bogus"),
    ("pf={pf},vf=x", "vf", "x"),
    ("vf=0", "pf", None),
]


def body():
    pmd = sys.argv[1]
    exe = testpmd_binary()
    failures = []
    for i, (args, key, value) in enumerate(CASES):
        pf = f"bad{os.getpid()}_{i}"
        vdev = "net_ixgbevf_lm_sim0," + args.format(pf=pf)
        prefix = unique_prefix(f"bad{i}")
        argv = [exe, "-l", "0", "--no-pci"] + eal_mem_args(prefix, 512) + \
               plugin_args(pmd) + ["--vdev", vdev, "--", "-i", "--total-num-mbufs=2048"]
        rc, out = run_batch(argv, timeout=60)
        cleanup_prefix(prefix)
        has_port = re.search(r"Configuring Port \d+", out) is not None
        # lines from the driver or from EAL's probe, not testpmd's echo of its command line
        lines = [l for l in out.splitlines() if re.search(r"ixgbevf_lm|devarg|kvargs", l, re.I)]
        named = [l for l in lines if re.search(rf"\b{key}\b", l) and (value is None or value in l)]
        verdict = "ok"
        if rc is None:
            verdict = "testpmd did not exit"
        elif rc == 0 and has_port:
            verdict = "port probed despite bad devargs"
        elif not named:
            verdict = f"no log line names the key {key!r}" + (f" and value {value!r}" if value else "")
        print(f"--vdev {vdev}: rc={rc} port={'yes' if has_port else 'no'} -> {verdict}")
        for l in (named or lines)[:3]:
            print(f"    {l.strip()}")
        if verdict != "ok":
            failures.append(f"{vdev}: {verdict}")
            print("\n".join(out.splitlines()[-15:]))
    check(not failures, "; ".join(failures))


main(body)
