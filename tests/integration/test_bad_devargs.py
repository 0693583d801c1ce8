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
    # a bare key reaches the driver with no value (it crashed the process with SIGSEGV)
    ("pf={pf},vf", "vf", "missing"),
    ("pf,vf=0", "pf", "missing"),
    ("pf={pf},vf=0,mig_region", "mig_region", "missing"),
    # signs and spaces that strtol/sscanf would have taken
    ("pf={pf},vf=+1", "vf", "+1"),
    ("pf={pf},vf=0,mac= 2:00:00:00:00:01", "mac", "the value starts or ends with a space"),
    # an overlong value leaves the reason on the line
    ("pf={pf},vf=0,uplink=" + "z" * 3000, "uplink", "refused: unknown kind"),
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
        elif rc < 0 or rc >= 124:
            verdict = f"testpmd died (status {rc})"
        elif rc == 0 and has_port:
            verdict = "port probed despite bad devargs"
        elif not named:
            verdict = f"no log line names the key {key!r}" + (f" and value {value!r}" if value else "")
        print(f"--vdev {vdev[:100]}: rc={rc} port={'yes' if has_port else 'no'} -> {verdict}")
        for l in (named or lines)[:3]:
            print(f"    {l.strip()[:300]}")
        if verdict != "ok":
            failures.append(f"{vdev[:100]}: {verdict}")
            print("\n".join(out.splitlines()[-15:]))
    check(not failures, "; ".join(failures))


main(body)
