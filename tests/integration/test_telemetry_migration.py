#!/usr/bin/env python3
"""DPDK telemetry reports a port's migration state and counters, as an operator would read them.

The stock dpdk-testpmd runs one sim port attached to a migration region; a telemetry client (the
protocol of DPDK's usertools/dpdk-telemetry.py: a SOCK_SEQPACKET socket in the process's runtime dir,
JSON replies) reads `/ixgbevf_lm/migration`: before any migration the port is listed, running, with
no migration done; after `ixgbevf-lm-migrate run --migrations 2` from another process the same
command shows two migrations done and the measured quiesce and restart durations.

Usage: test_telemetry_migration.py <librte_net_ixgbevf_lm.so> <source dir> [dpdk source]
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Testpmd, check, main, run_batch, sim_vdev  # noqa: E402

MAC = "02:00:00:00:00:40"


def migrate_tool(pmd):
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(pmd)))))
    return os.path.join(build, "app", "ixgbevf-lm-migrate")


class Telemetry:
    """A client of one DPDK process's telemetry socket (v2 protocol)."""

    def __init__(self, prefix, timeout=20):
        path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):  # created by rte_eal_init before the prompt; bounded anyway
            check(time.monotonic() < deadline, f"no telemetry socket at {path}")
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        hello = json.loads(self.sock.recv(1 << 16).decode())
        self.max_len = hello.get("max_output_len", 1 << 16)

    def query(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.max_len).decode())
        print(f"telemetry {cmd}: {reply}", flush=True)
        return reply

    def close(self):
        self.sock.close()


def body():
    pmd = sys.argv[1]
    tool = migrate_tool(pmd)
    check(os.access(tool, os.X_OK), f"{tool} not built")
    region = f"/dev/shm/ixlm-it-tel-{os.getpid()}.region"
    rc, out = run_batch([tool, "create", "--region", region, "--range", "0:128T", "--page-size", "2M"], timeout=30)
    print(out)
    check(rc == 0, f"ixgbevf-lm-migrate create exited {rc}")
    try:
        vdev = sim_vdev(0, f"ittel{os.getpid()}", 0, MAC, uplink="loop") + f",mig_region={region}"
        app = ["--forward-mode=txonly", f"--eth-peer=0,{MAC}"]
        with Testpmd(pmd, [vdev], app, tag="tel", extra_eal=["--iova-mode=va"]) as t:
            tel = Telemetry(t.prefix)
            try:
                ports = tel.query("/ixgbevf_lm/migration")["/ixgbevf_lm/migration"]
                check(ports == [0], f"/ixgbevf_lm/migration lists {ports}, expected [0]")
                before = tel.query("/ixgbevf_lm/migration,0")["/ixgbevf_lm/migration"]
                check(before["state"].lower() == "running", f"state before migrating: {before['state']}")
                check(before["region_slot"] == 1, "the port holds no region slot")
                check(before["migrations_done"] == 0, f"migrations_done {before['migrations_done']} before any")

                t.cmd("start")
                rc, out = run_batch([tool, "run", "--region", region, "--migrations", "2", "--interval-ms", "200",
                                     "--json"], timeout=120)
                print(out)
                check(rc == 0, f"ixgbevf-lm-migrate run exited {rc}")

                after = tel.query("/ixgbevf_lm/migration,0")["/ixgbevf_lm/migration"]
                check(after["state"].lower() == "running", f"state after migrating: {after['state']}")
                check(after["migrations_done"] == 2, f"migrations_done {after['migrations_done']}, expected 2")
                check(after["last_quiesce_ns"] > 0, "no quiesce duration recorded")
                check(after["last_restart_ns"] > 0, "no restart duration recorded")
                check(after["pages_logged"] > before["pages_logged"], "no page logged during the migrations")
                missing = tel.query("/ixgbevf_lm/migration,7")["/ixgbevf_lm/migration"]
                check(missing is None, f"an unknown port answered {missing}")
            finally:
                tel.close()
    finally:
        try:
            os.unlink(region)
        except OSError:
            pass


if __name__ == "__main__":
    main(body)
