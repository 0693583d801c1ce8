#!/usr/bin/env python3
"""The stock dpdk-testpmd, never told anything, migrated three times from another process.

testpmd forwards (mac mode, --eth-peer, tx_first) between two sim VFs of one PF model, both
attached to a migration region (mig_region=) that `ixgbevf-lm-migrate create` made first; then
`ixgbevf-lm-migrate run --region <path> --migrations 3 --json` (another process: only the region
passes between the two) runs three complete migrations of both ports. testpmd's own port
statistics must keep growing afterwards, and the tool must report three successful migrations.

Usage: test_testpmd_migration.py <librte_net_ixgbevf_lm.so> <source dir> [dpdk source]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Testpmd, check, main, run_batch, sim_vdev, skip  # noqa: E402

MAC0, MAC1 = "02:00:00:00:00:30", "02:00:00:00:00:31"


def migrate_tool(pmd):
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(pmd)))))
    tool = os.path.join(build, "app", "ixgbevf-lm-migrate")
    if not os.access(tool, os.X_OK):
        skip(f"{tool} not built")
    return tool


def body():
    pmd = sys.argv[1]
    tool = migrate_tool(pmd)
    region = f"/dev/shm/ixlm-it-mig-{os.getpid()}.region"
    # testpmd runs without hugepages when none are free: IOVA = VA anywhere below 2^47, so the
    # region covers [0, 128T) with 2 MiB pages (an 8 MiB bitmap).
    rc, out = run_batch([tool, "create", "--region", region, "--range", "0:128T", "--page-size", "2M",
                         "--slots", "4"], timeout=30)
    print(out)
    check(rc == 0, f"ixgbevf-lm-migrate create exited {rc}")
    try:
        pf = f"itmig{os.getpid()}"
        mig = f",mig_region={region}"
        vdevs = [sim_vdev(0, pf, 0, MAC0) + mig, sim_vdev(1, pf, 1, MAC1) + mig]
        # tx retry (up to 2000 x 100 us): the frames circulating since tx_first are not dropped while a
        # port is quiesced (tx burst returns 0 for the downtime), so the circulation survives it.
        app = ["--forward-mode=mac", f"--eth-peer=0,{MAC1}", f"--eth-peer=1,{MAC0}"]
        with Testpmd(pmd, vdevs, app, tag="mig", extra_eal=["--iova-mode=va"]) as t:
            t.cmd("set burst tx delay 100 retry 2000")
            t.cmd("set fwd mac retry")
            t.cmd("start tx_first")
            t.wait_rx([0, 1], 5000, timeout=30)
            rc, out = run_batch([tool, "status", "--region", region], timeout=30)
            print(out)
            check(rc == 0 and "net_ixgbevf_lm_sim0" in out and "net_ixgbevf_lm_sim1" in out,
                  f"the two ports did not claim slots in {region} (status exit {rc})")

            rc, out = run_batch([tool, "run", "--region", region, "--migrations", "3", "--interval-ms", "300",
                                 "--json"], timeout=180)
            print(out)
            check(rc == 0, f"ixgbevf-lm-migrate run exited {rc}")
            runs = []
            for line in out.splitlines():
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    runs.append(obj)
            check(len(runs) == 3, f"expected one JSON line per migration, got {len(runs)}")
            for i, r in enumerate(runs, 1):
                check(r.get("missed_dirty_pages") in (0, None), f"migration {i}: missed pages {r.get('missed_dirty_pages')}")

            # testpmd was never told: its own statistics keep growing on the destination VFs
            before = {p: t.port_stats(p) for p in (0, 1)}
            for p in (0, 1):  # 32-bit packet / 36-bit octet registers: a VF switch is not a wrap
                check(before[p]["rx"] < 1 << 32 and before[p]["tx"] < 1 << 32,
                      f"port {p} statistics jumped to {before[p]} after the migrations (VF counters restarting "
                      f"from 0 on the destination taken for a 32-bit wrap)")
            after = t.wait_until(
                "port statistics growing after the migrations",
                lambda: (lambda s: s if all(s[p]["rx"] >= before[p]["rx"] + 5000 and
                                           s[p]["tx"] >= before[p]["tx"] + 5000 for p in (0, 1)) else None)(
                    {p: t.port_stats(p) for p in (0, 1)}),
                timeout=30)
            fwd = t.stop_forwarding()
            rc, out = run_batch([tool, "status", "--region", region], timeout=30)
            print(out)
            print(f"after 3 migrations: port0 rx {before[0]['rx']} -> {after[0]['rx']}, "
                  f"port1 rx {before[1]['rx']} -> {after[1]['rx']}; forward stats {fwd}")
    finally:
        try:
            os.unlink(region)
        except OSError:
            pass


main(body)
