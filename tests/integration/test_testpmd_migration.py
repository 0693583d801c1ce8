#!/usr/bin/env python3
"""The stock dpdk-testpmd in macswap, with the kernel at the other end of a TAP, migrated three
times from another process that tells it nothing.

A network namespace holds everything on the guest's side: testpmd runs in it (`ip netns exec`), so
the sim port's PF model creates the TAP there (uplink=tap:<if>, opened persistent) and every
destination PF finds it there again by name. The namespace's end of the TAP gets 192.0.2.1/24
(TEST-NET, in the namespace only) and a permanent neighbour entry 192.0.2.2 -> the VF's MAC.
A probe in the namespace (tap_probe.py) sends numbered frames to the VF's MAC every millisecond and
times the ones testpmd's macswap returns. `ixgbevf-lm-migrate run --region <r> --migrations 3`
(the root namespace, another process: only the region passes between the two) migrates the port
three times; each switch hands the TAP from the source PF model to the destination's.

Checks: three JSON migration records; the kernel saw a pause, not a new link (same ifindex, MAC,
address and permanent neighbour after the migrations); the probe's frames come back after the third
migration and testpmd's own port statistics keep growing; the longest gap per migration is printed.
Then testpmd switches to icmpecho and the kernel's ping gets >= 90% answers (macswap returns an
echo request with only the MACs swapped, which the kernel does not answer, so pings are measured
in icmpecho). When testpmd quits the TAP it created is gone. Skips (77) without root, /dev/net/tun,
ip, ping or network namespaces.

Usage: test_testpmd_migration.py <librte_net_ixgbevf_lm.so> <source dir> [dpdk source]
"""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd import Failure, Testpmd, check, main, netns_preflight, run_batch, sim_vdev, skip  # noqa: E402

VF_MAC = "02:00:00:00:00:30"
NS_ADDR, VF_ADDR = "192.0.2.1", "192.0.2.2"
MIGRATIONS = 3
HERE = os.path.dirname(os.path.abspath(__file__))


def migrate_tool(pmd):
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(pmd)))))
    tool = os.path.join(build, "app", "ixgbevf-lm-migrate")
    if not os.access(tool, os.X_OK):
        skip(f"{tool} not built")
    return tool


def sh(*argv, check_rc=True, timeout=30):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    out = p.stdout.decode(errors="replace")
    if check_rc and p.returncode != 0:
        raise Failure(f"{' '.join(argv)} failed ({p.returncode}): {out.strip()}")
    return p.returncode, out


def link(ns, ifname):
    """The namespace's view of the interface: {ifindex, address, operstate, ...} or None."""
    rc, out = sh("ip", "-n", ns, "-j", "link", "show", "dev", ifname, check_rc=False)
    return json.loads(out)[0] if rc == 0 else None


def carrier_changes(ns, ifname):
    """The kernel's count of carrier changes of the interface in the namespace."""
    rc, out = sh("ip", "netns", "exec", ns, "cat", f"/sys/class/net/{ifname}/carrier_changes", check_rc=False)
    check(rc == 0, f"cannot read {ifname}'s carrier_changes in {ns}: {out.strip()}")
    return int(out.strip())


def read_json_line(proc, deadline, what):
    """The next line of proc's stdout that is a JSON object, within the deadline."""
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            if proc.poll() is not None:
                break
            continue
        ch = os.read(fd, 1)
        if not ch:
            break
        buf += ch
        if ch == b"\n":
            try:
                obj = json.loads(buf)
                if isinstance(obj, dict):
                    return obj
            except ValueError:
                pass
            buf = b""
    raise Failure(f"no JSON line from {what} (last output {buf!r})")


def stop_process(proc, sig=signal.SIGTERM, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_migrations(tool, region, t, timeout=180):
    """`ixgbevf-lm-migrate run` as another process, draining testpmd meanwhile. Returns
    (rc, output, [(json record, CLOCK_MONOTONIC time its line arrived)], start time)."""
    argv = [tool, "run", "--region", region, "--migrations", str(MIGRATIONS), "--interval-ms", "300", "--json"]
    print("+ " + " ".join(argv), flush=True)
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    out, records, pending = [], [], b""
    deadline = start + timeout
    try:
        fd = p.stdout.fileno()
        while time.monotonic() < deadline:
            t._read_some(0)  # testpmd's log must not fill its pipe while the driver works
            r, _, _ = select.select([fd], [], [], 0.05)
            if not r:
                if p.poll() is not None:
                    break
                continue
            data = os.read(fd, 65536)
            if not data:
                break
            now = time.monotonic()
            pending += data
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                text = line.decode(errors="replace")
                out.append(text)
                try:
                    obj = json.loads(text)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    records.append((obj, now))
        rc = p.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        rc = None
        out.append("[harness: timed out]")
    finally:
        stop_process(p, signal.SIGKILL)
    return rc, "\n".join(out), records, start


def ping(ns, count, interval, timeout=60):
    _, out = sh("ip", "netns", "exec", ns, "ping", "-c", str(count), "-i", str(interval), "-W", "1", VF_ADDR,
                check_rc=False, timeout=timeout)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    check(m, f"no ping summary:\n{out}")
    return int(m.group(1)), int(m.group(2)), out


def body():
    pmd = sys.argv[1]
    tool = migrate_tool(pmd)
    pid = os.getpid()
    ns, tap, pf = f"ixlm-xp{pid}", f"ixlmxp{pid % 1000000}", f"xp{pid}"
    region = f"/dev/shm/ixlm-xp-{pid}.region"
    netns_preflight(ns)
    t = probe = None
    try:
        # testpmd runs with or without hugepages: IOVA = VA anywhere below 2^47, so the region covers
        # [0, 128T) with 2 MiB pages (an 8 MiB bitmap).
        rc, out = run_batch([tool, "create", "--region", region, "--range", "0:128T", "--page-size", "2M",
                             "--slots", "4"], timeout=30)
        print(out)
        check(rc == 0, f"ixgbevf-lm-migrate create exited {rc}")

        vdev = sim_vdev(0, pf, 0, VF_MAC, uplink=f"tap:{tap}") + f",mig_region={region}"
        t = Testpmd(pmd, [vdev], ["--forward-mode=macswap"], tag="xmig", extra_eal=["--iova-mode=va"],
                    wrapper=("ip", "netns", "exec", ns))
        t.start()
        try:
            before_link = t.wait_until(f"TAP {tap} in {ns}", lambda: link(ns, tap), timeout=10)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1", check_rc=False)
            sh("ip", "-n", ns, "addr", "add", f"{NS_ADDR}/24", "dev", tap)
            sh("ip", "-n", ns, "link", "set", tap, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "neigh", "replace", VF_ADDR, "lladdr", VF_MAC, "dev", tap, "nud", "permanent")
            t.cmd("start")
            t.wait_until("the port's slot claimed in the region",
                         lambda: "net_ixgbevf_lm_sim0" in run_batch([tool, "status", "--region", region], 30)[1],
                         timeout=30)

            argv = ["ip", "netns", "exec", ns, sys.executable, os.path.join(HERE, "tap_probe.py"), tap, VF_MAC,
                    "--interval-ms", "1", "--gap-ms", "5", "--max-s", "150"]
            print("+ " + " ".join(argv), flush=True)
            probe = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True)
            read_json_line(probe, time.monotonic() + 20, "tap_probe.py (ready)")
            t.wait_rx([0], 500, timeout=30)  # the probe's frames reach testpmd

            carrier_before = carrier_changes(ns, tap)
            rc, out, records, mig_start = run_migrations(tool, region, t)
            print(out)
            check(rc == 0, f"ixgbevf-lm-migrate run exited {rc}")
            check(len(records) == MIGRATIONS, f"expected {MIGRATIONS} JSON migration records, got {len(records)}")

            # The kernel saw a pause, not a new link.
            after_link = link(ns, tap)
            check(after_link is not None, f"{tap} disappeared from {ns} during the migrations")
            check(after_link["ifindex"] == before_link["ifindex"] and after_link["address"] == before_link["address"],
                  f"{tap} was re-created: ifindex {before_link['ifindex']} -> {after_link['ifindex']}, "
                  f"MAC {before_link['address']} -> {after_link['address']}")
            # The destination PF opened the (multi-queue) TAP before the source let go: no carrier loss,
            # which would have made the kernel flush its neighbours.
            carrier_after = carrier_changes(ns, tap)
            check(carrier_after == carrier_before,
                  f"{tap}'s carrier changed during the migrations: carrier_changes {carrier_before} -> {carrier_after}")
            _, addrs = sh("ip", "-n", ns, "-4", "addr", "show", "dev", tap)
            check(f"{NS_ADDR}/24" in addrs, f"{tap} lost its address: {addrs.strip()}")
            _, neigh = sh("ip", "-n", ns, "neigh", "show", VF_ADDR, "dev", tap)
            check(VF_MAC in neigh.lower() and "PERMANENT" in neigh, f"neighbour entry lost: {neigh.strip()!r}")

            # testpmd was never told: its own statistics keep growing on the destination VF.
            before = t.port_stats(0)
            after = t.wait_until(
                "port 0 statistics growing after the migrations",
                lambda: (lambda s: s if s["rx"] >= before["rx"] + 1000 and s["tx"] >= before["tx"] + 1000
                         else None)(t.port_stats(0)),
                timeout=30)

            os.killpg(probe.pid, signal.SIGTERM)
            try:
                pout, _ = probe.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                raise Failure("tap_probe.py did not stop within 15 s")
            probe = None
            res = json.loads(pout.decode(errors="replace").strip().splitlines()[-1])
            check(res["received"] > 0, f"no frame came back to the kernel: {res}")
            ends = [mig_start] + [when for _, when in records]
            worst = []
            for i in range(MIGRATIONS):
                g = [e - s for s, e in res["gaps"] if ends[i] < e <= ends[i + 1] + 0.05]
                worst.append(max(g) * 1000.0 if g else None)
            last_rx_after = [e for _, e in res["gaps"] if e > ends[-1] + 0.05]
            lost = res["sent"] - res["received"]
            for i, (r, _) in enumerate(records):
                gap = "<= 5 ms" if worst[i] is None else f"{worst[i]:.1f} ms"
                print(f"migration {i + 1}: driver downtime {r.get('downtime_ms')} ms, "
                      f"longest gap of the kernel's frames through the TAP {gap}")
            print(f"probe: {res['sent']} frames sent, {res['received']} returned ({lost} lost), "
                  f"longest gap {res['longest_gap_ms']:.1f} ms; {len(last_rx_after)} gaps > 5 ms after the last "
                  f"migration; port 0 rx {before['rx']} -> {after['rx']}, tx {before['tx']} -> {after['tx']}")
            check(res["received"] * 10 >= res["sent"] * 9,
                  f"only {res['received']}/{res['sent']} frames came back through the TAP")

            # The kernel's ping after the third migration (icmpecho: macswap does not answer an echo request).
            t.cmd("stop")
            t.cmd("set fwd icmpecho")
            t.cmd("start")
            sent, got, pout = ping(ns, 20, 0.02)
            print(pout.strip().splitlines()[-2] if pout.strip() else "(no ping output)")
            check(got * 10 >= sent * 9, f"ping {VF_ADDR} after {MIGRATIONS} migrations: {got}/{sent} (want >= 90%)")
            fwd = t.stop_forwarding()
            print(f"after {MIGRATIONS} migrations: ping {got}/{sent} answered (icmpecho), forward stats {fwd[0]}")
        except Failure:
            t.close()
            t.dump(tail=80)
            raise
        rc = t.close()
        check(rc == 0, f"testpmd exited {rc}")
        check(link(ns, tap) is None, f"{tap} left behind in {ns} after testpmd quit")
    finally:
        stop_process(probe, signal.SIGKILL)
        if t is not None:
            t.close()
        remove_setup(ns, tap, region)


def remove_setup(ns, tap, region):
    """The namespace, a TAP left in the root namespace, the region file: whatever of them exists."""
    subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.path.exists(f"/sys/class/net/{tap}"):
        subprocess.run(["ip", "link", "del", tap], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        os.unlink(region)
    except OSError:
        pass


if __name__ == "__main__":  # bench/ping_migration.py imports the helpers
    main(body)
