#!/usr/bin/env python3
"""Benchmark (not a test): instructions per packet in the PMD's rx+tx burst functions for
dirty_log=off, bitmap and touch, counted by valgrind's callgrind (repeatable, unlike TSC cycles on a
shared 2-core machine). Stock dpdk-testpmd, io forwarding between two sim VFs on one PF, as in
bench/dirty_log_bench.py.

Method, per mode, one testpmd process under
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect=<rx_burst>* --toggle-collect=<tx_burst>*
so that only the PMD's burst functions (and what they call) are counted:
  1. bitmap: the region is created beforehand with `ixgbevf-lm-migrate create` and logging is
     started through the region's C ABI once testpmd is up (both ports acknowledge);
  2. idle phase: `start` with no traffic for --idle-seconds, `stop`, then `callgrind_control -d`
     dumps and zeroes the counters. Every rx_burst call there finds no descriptor done: its cost
     E (Ir per call) is the exact cost of an empty poll in that mode;
  3. traffic phase: `start tx_first N`, --seconds of forwarding, `stop` (forward statistics give the
     packets), `quit` (the final dump).
Under valgrind the threads run one at a time, so the forwarding lcore spends most of its time in
empty polls while the model thread waits for its turn; their number depends on scheduling, not on
the driver. The figure is therefore

  Ir/packet = (Ir(rx_burst + tx_burst) - E * calls(rx_burst)) / RX packets

the instructions the bursts spend beyond an empty poll, per packet forwarded (received once and
sent once); exact integer arithmetic, since every empty call costs exactly E. The logger's share is
the self cost of the lines of ixgbevf_lm_dirtylog.h/.cpp and region/guest.h (inlined into the
bursts) per packet; `--lines N` prints the N lines whose Ir/packet grew most against off.

Usage: bench/dirty_log_callgrind.py [--build DIR] [--seconds N] [--write] [--json]
"""
import argparse
import collections
import ctypes
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from testpmd import Failure, Testpmd, cleanup_prefix, sim_vdev, testpmd_binary  # noqa: E402
from io_forward import machine  # noqa: E402

MAC0, MAC1 = "02:00:00:00:00:50", "02:00:00:00:00:51"
ALL_SLOTS = -1
RX_FN = "ixgbevf_lm::pmd::rx_burst"
TX_FN = "ixgbevf_lm::pmd::tx_burst"
LOGGER_FILES = ("ixgbevf_lm_dirtylog.h", "ixgbevf_lm_dirtylog.cpp", "ixgbevf_lm_rxbuf_log.h", "ixgbevf_lm_rxbuf_log.cpp", "region/guest.h", "region/guest.cpp",
                "region/detail")
REGION_PAGE = 2 << 20
REGION_RANGE = (0, 1 << 47)


class Region:
    """Host side of the region through its C ABI (start logging, wait for the ports' acks)."""

    def __init__(self, lib_path, path):
        self.lib = ctypes.CDLL(lib_path)
        self.h = ctypes.c_void_p()
        rc = self.lib.ixgbevf_lm_region_open(path.encode(), ctypes.byref(self.h))
        if rc != 0:
            raise RuntimeError(f"region open {path}: {rc}")

    def start_logging(self, idents, timeout_ms=60000):
        g = ctypes.c_uint32()
        rc = self.lib.ixgbevf_lm_region_start_logging(self.h, ALL_SLOTS, ctypes.byref(g))
        if rc != 0:
            raise RuntimeError(f"start_logging: {rc}")
        for ident in idents:
            s = self.lib.ixgbevf_lm_region_find_slot(self.h, ident.encode())
            if s < 0 or self.lib.ixgbevf_lm_region_wait_ack(self.h, s, g.value, timeout_ms) != 0:
                raise RuntimeError(f"{ident} did not acknowledge logging")

    def close(self):
        self.lib.ixgbevf_lm_region_close(self.h)


# ---------------------------------------------------------------------------------------------
# callgrind output parsing: self cost per (file, line), inclusive cost and call counts per callee.

def parse_callgrind(path):
    names = {k: {} for k in ("fl", "fn", "ob")}
    self_line = collections.Counter()      # (file, line) -> Ir
    self_fn = collections.Counter()        # fn -> Ir
    calls_to = collections.Counter()       # callee fn -> calls (from anywhere)
    incl_to = collections.Counter()        # callee fn -> inclusive Ir of those calls
    total = None
    fl = fi = fn = None
    cfn = None
    pending_call = None
    last = 0

    def name(kind, v):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", v)
        if not m:
            return v
        table = names["fl" if kind in ("fl", "fi", "fe", "cfi", "cfl") else ("fn" if kind in ("fn", "cfn") else "ob")]
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), v)

    def pos(tok):
        nonlocal last
        if tok == "*":
            return last
        if tok[0] in "+-":
            last = last + int(tok)
        else:
            last = int(tok, 0)
        return last

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                ln = pos(parts[0])
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending_call is not None:
                    calls_to[cfn] += pending_call
                    incl_to[cfn] += ir
                    pending_call = None
                else:
                    self_line[(fi or fl, ln)] += ir
                    self_fn[fn] += ir
                continue
            key, _, val = line.partition("=")
            if key == "fl":
                fl = name("fl", val)
                fi = None
            elif key in ("fi", "fe"):
                fi = name(key, val)
            elif key == "fn":
                fn = name("fn", val)
                fi = None
            elif key in ("cfi", "cfl"):
                name(key, val)
            elif key == "cfn":
                cfn = name("cfn", val)
            elif key in ("ob", "cob"):
                name(key, val)
            elif key == "calls":
                pending_call = int(val.split()[0])
            elif key in ("summary", "totals"):
                total = int(val.split()[0]) if total is None else total
    return {"self_line": self_line, "self_fn": self_fn, "calls_to": calls_to, "incl_to": incl_to,
            "total": total}


def fn_match(fn, prefix):
    return fn is not None and fn.startswith(prefix + "(")


def sum_by(counter, prefix):
    return sum(v for k, v in counter.items() if fn_match(k, prefix))


def is_logger_file(f):
    return f is not None and any(s in f for s in LOGGER_FILES)


# ---------------------------------------------------------------------------------------------

def measure(mode, a, pmd, region_lib, tool, outdir, log):
    tag = f"cg{os.getpid()}{mode}"
    region_path = f"/dev/shm/ixgbevf_lm_cgbench_{os.getpid()}_{mode}.region"
    out = os.path.join(outdir, f"callgrind.{mode}.out")
    for f in os.listdir(outdir):
        if f.startswith(f"callgrind.{mode}.out"):
            os.unlink(os.path.join(outdir, f))
    commands = []
    mig = ""
    if mode == "bitmap":
        create = [tool, "create", "--region", region_path, "--page-size", str(REGION_PAGE),
                  "--range", f"{REGION_RANGE[0]:#x}:{REGION_RANGE[1]:#x}", "--slots", "8"]
        commands.append(" ".join(create))
        subprocess.run(create, check=True, capture_output=True, timeout=60)
        mig = f",mig_region={region_path},dirty_log=bitmap"
    elif mode == "touch":
        mig = ",dirty_log=touch"
    vdevs = [sim_vdev(0, tag, 0, MAC0) + mig, sim_vdev(1, tag, 1, MAC1) + mig]
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", f"--log-file={out}.vglog",
          "--collect-atstart=no", f"--toggle-collect={RX_FN}*", f"--toggle-collect={TX_FN}*"]
    app = ["--forward-mode=io", f"--burst={a.burst}", f"--eth-peer=0,{MAC1}", f"--eth-peer=1,{MAC0}"]
    t = Testpmd(pmd, vdevs, app, tag=f"cg-{mode}", lcores="0-1", mbufs=a.mbufs)
    # Own EAL memory arguments: --no-huge under valgrind whatever the machine has; IOVA as VA.
    i = t.argv.index("--file-prefix")
    j = i
    while t.argv[j - 1] in ("--no-huge", "-m") or t.argv[j - 2] == "-m":
        j -= 1
    t.argv = vg + [testpmd_binary()] + t.argv[1:j] + ["--no-huge", "-m", str(a.mem), "--iova-mode=va"] \
        + t.argv[i:]
    commands.append(" ".join(shlex.quote(x) for x in t.argv))
    region = None
    try:
        log(f"{mode}: starting testpmd under callgrind")
        t.start(timeout=a.timeout)
        if mode == "bitmap":
            region = Region(region_lib, region_path)
            region.start_logging(["net_ixgbevf_lm_sim0", "net_ixgbevf_lm_sim1"])
            log(f"{mode}: logging acknowledged by both ports")
        # Idle phase: the exact cost of an empty poll.
        t.cmd("start", timeout=a.timeout)
        t0 = time.monotonic()
        while time.monotonic() - t0 < a.idle_seconds:
            t._read_some(a.idle_seconds - (time.monotonic() - t0))
        t.cmd("stop", timeout=a.timeout)
        subprocess.run(["callgrind_control", "-d", "idle", str(t.proc.pid)], check=True, capture_output=True,
                       timeout=a.timeout)
        # Traffic phase.
        t.cmd(f"start tx_first {a.tx_first}", timeout=a.timeout)
        log(f"{mode}: forwarding {a.seconds:g} s")
        t0 = time.monotonic()
        while time.monotonic() - t0 < a.seconds:
            t._read_some(a.seconds - (time.monotonic() - t0))
        fwd = t.stop_forwarding(timeout=a.timeout)
        rc = t.close(timeout=a.timeout)
        if rc != 0:
            raise Failure(f"testpmd exited {rc}")
    except (Failure, RuntimeError, subprocess.SubprocessError):
        t.dump(tail=60)
        t.close(timeout=30)
        raise
    finally:
        if region:
            region.close()
        if os.path.exists(region_path):
            os.unlink(region_path)
        cleanup_prefix(t.prefix)
    dumps = sorted(f for f in os.listdir(outdir) if re.fullmatch(rf"callgrind\.{mode}\.out(\.\d+)?", f))
    # callgrind names the dumps <out>.1, <out>.2 ... (final dump last) when there is more than one.
    if len(dumps) < 2:
        raise Failure(f"{mode}: expected an idle and a final dump, found {dumps}")
    dumps.sort(key=lambda f: int(f.rsplit(".", 1)[1]) if f[-1].isdigit() and f.count(".") > 2 else 1 << 30)
    idle = parse_callgrind(os.path.join(outdir, dumps[0]))
    run = parse_callgrind(os.path.join(outdir, dumps[-1]))
    idle_calls = idle["calls_to"][next(k for k in idle["calls_to"] if fn_match(k, RX_FN))] \
        if any(fn_match(k, RX_FN) for k in idle["calls_to"]) else 0
    idle_ir = sum_by(idle["incl_to"], RX_FN)
    if idle_calls == 0:
        raise Failure(f"{mode}: no rx_burst call in the idle phase")
    empty = idle_ir / idle_calls
    rx_calls = sum(v for k, v in run["calls_to"].items() if fn_match(k, RX_FN))
    tx_calls = sum(v for k, v in run["calls_to"].items() if fn_match(k, TX_FN))
    rx_ir = sum_by(run["incl_to"], RX_FN)
    tx_ir = sum_by(run["incl_to"], TX_FN)
    rx_pkts = sum(p["rx"] for p in fwd.values())
    tx_pkts = sum(p["tx"] for p in fwd.values())
    if rx_pkts == 0:
        raise Failure(f"{mode}: no packet forwarded")
    excess = rx_ir + tx_ir - empty * rx_calls
    # Per source line, the same subtraction: what an empty poll spends on that line, times the calls.
    lines = collections.Counter(run["self_line"])
    for k, v in idle["self_line"].items():
        lines[k] -= v * rx_calls / idle_calls
    logger_ir = sum(v for (f, _), v in lines.items() if is_logger_file(f))
    return {"dirty_log": mode, "rx_packets": rx_pkts, "tx_packets": tx_pkts,
            "rx_calls": rx_calls, "tx_calls": tx_calls, "rx_ir": rx_ir, "tx_ir": tx_ir,
            "empty_poll_ir": empty, "empty_poll_exact": idle_ir % idle_calls == 0, "idle_calls": idle_calls,
            "ir_per_packet": excess / rx_pkts, "rx_ir_per_packet": (rx_ir - empty * rx_calls) / rx_pkts,
            "tx_ir_per_packet": tx_ir / rx_pkts, "logger_ir_per_packet": logger_ir / rx_pkts,
            "pkts_per_tx_burst": tx_pkts / tx_calls if tx_calls else None,
            "lines": {f"{f}:{ln}": v / rx_pkts for (f, ln), v in lines.items() if abs(v) >= 0.005 * rx_pkts},
            "commands": commands, "callgrind_out": os.path.join(outdir, dumps[-1])}


def short(path):
    p = path.split("/drivers/", 1)
    if len(p) == 2:
        return "drivers/" + p[1]
    p = path.split("/lib/", 1)
    return ("lib/" + p[1]) if len(p) == 2 else path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=8.0, help="traffic phase (wall time under valgrind)")
    ap.add_argument("--idle-seconds", type=float, default=2.0)
    ap.add_argument("--tx-first", type=int, default=8, help="bursts sent by `start tx_first N`")
    ap.add_argument("--burst", type=int, default=32)
    ap.add_argument("--mbufs", type=int, default=16384)
    ap.add_argument("--mem", type=int, default=1024, help="-m MiB with --no-huge")
    ap.add_argument("--timeout", type=float, default=300.0, help="bound on every testpmd step")
    ap.add_argument("--modes", default="off,bitmap,touch")
    ap.add_argument("--outdir", default=None, help="keep callgrind files here (default: a temp dir)")
    ap.add_argument("--lines", type=int, default=12, help="print the N source lines that grew most vs off")
    ap.add_argument("--write", action="store_true", help="write the table into doc/figures/dirty-logging.md")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    for exe in ("valgrind", "callgrind_control"):
        if not shutil.which(exe):
            sys.exit(f"{exe} not found (apt-get install -y valgrind)")
    pmd = os.path.join(a.build, "drivers", "net", "ixgbevf_lm", "librte_net_ixgbevf_lm.so")
    region_lib = os.path.join(a.build, "lib", "region", "libixgbevf_lm_region.so")
    tool = os.path.join(a.build, "app", "ixgbevf-lm-migrate")
    for f in (pmd, region_lib, tool):
        if not os.path.isfile(f):
            sys.exit(f"missing {f} (ninja -C {a.build}, or pass --build)")
    outdir = a.outdir or os.path.join("/tmp", f"ixgbevf_lm_callgrind_{os.getpid()}")
    os.makedirs(outdir, exist_ok=True)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if a.json else (lambda s: print(s, flush=True))
    rows = [measure(m, a, pmd, region_lib, tool, outdir, log) for m in a.modes.split(",")]
    base = next((r for r in rows if r["dirty_log"] == "off"), None)
    for r in rows:
        r["vs_off"] = r["ir_per_packet"] / base["ir_per_packet"] if base else None
    if a.json:
        for r in rows:
            print(json.dumps({k: v for k, v in r.items() if k != "lines"}))
    else:
        print(f"\n{'dirty_log':<10}{'Ir/pkt':>9}{'vs off':>8}{'rx Ir/pkt':>11}{'tx Ir/pkt':>11}{'logger':>8}"
              f"{'empty poll':>12}{'pkts':>9}{'pkt/burst':>10}")
        for r in rows:
            vs = "n/a" if r["vs_off"] is None else f"{r['vs_off']:.3f}"
            print(f"{r['dirty_log']:<10}{r['ir_per_packet']:>9.1f}{vs:>8}{r['rx_ir_per_packet']:>11.1f}"
                  f"{r['tx_ir_per_packet']:>11.1f}{r['logger_ir_per_packet']:>8.1f}{r['empty_poll_ir']:>12.1f}"
                  f"{r['rx_packets']:>9}{r['pkts_per_tx_burst']:>10.1f}")
        if base and a.lines:
            for r in rows:
                if r is base:
                    continue
                delta = {k: v - base["lines"].get(k, 0.0) for k, v in r["lines"].items()}
                for k, v in base["lines"].items():
                    delta.setdefault(k, -v)
                top = sorted(delta.items(), key=lambda kv: -abs(kv[1]))[: a.lines]
                print(f"\n{r['dirty_log']}: source lines, Ir/packet vs off (self cost, inlined code at its own line)")
                for k, v in top:
                    f, _, ln = k.rpartition(":")
                    print(f"  {v:+8.2f}  {short(f)}:{ln}")
        print("\ncommands:")
        for r in rows:
            for c in r["commands"]:
                print("  " + c)
        print(f"callgrind files: {outdir}")
    if a.write:
        write_doc(rows, a)


def write_doc(rows, a):
    path = os.path.join(ROOT, "doc", "figures", "dirty-logging.md")
    with open(path) as f:
        old = f.read()
    marker = "\n## Cycles per packet (testpmd --record-core-cycles)\n"
    if marker in old:
        tsc = old[old.index(marker):]
    else:
        body = old.split("\n", 1)[1] if old.startswith("# ") else old
        tsc = marker + body
    table = "\n".join(
        f"| `{r['dirty_log']}` | {r['ir_per_packet']:.1f} | "
        + ("n/a" if r["vs_off"] is None else f"{r['vs_off']:.3f}")
        + f" | {r['rx_ir_per_packet']:.1f} | {r['tx_ir_per_packet']:.1f} | {r['logger_ir_per_packet']:.1f} | "
        f"{r['empty_poll_ir']:.0f} | {r['rx_packets']} | {r['pkts_per_tx_burst']:.1f} |" for r in rows)
    cmds = "\n".join(c for r in rows for c in r["commands"])
    argv = " ".join(sys.argv[1:])
    text = f"""# Dirty-page logging: cost per packet and over-report

## Instructions per packet in the burst functions (callgrind) — the primary figure

Produced by `bench/dirty_log_callgrind.py {argv}` on {datetime.date.today().isoformat()}.
Machine: {machine()}; {subprocess.run(['valgrind', '--version'], capture_output=True, text=True).stdout.strip()}.
Stock dpdk-testpmd, io forwarding between two sim VFs on one PF, under
`valgrind --tool=callgrind --collect-atstart=no --toggle-collect='{RX_FN}*' --toggle-collect='{TX_FN}*'`:
only the PMD's rx and tx burst functions and what they call are counted (instructions, Ir). Bitmap:
region with one range [0, 2^47), 2 MiB pages, logging started through the region and acknowledged by
both ports before anything is counted.

Ir/packet = (Ir(rx_burst + tx_burst) − E · calls(rx_burst)) / RX packets, where E, the cost of one
empty rx poll in that mode, is measured exactly in an idle phase of the same process (`start` with
no traffic, then `callgrind_control -d`). Valgrind runs one thread at a time, so the forwarding lcore
polls empty while the model thread waits for its turn; the number of those polls depends on the
scheduler, not on the driver, and is taken out. What is left is the instructions a forwarded packet
(received once, sent once) costs in the bursts, including the per-burst work (refill, Tx cleanup)
shared by the packets of a burst. Instruction counts do not depend on the machine's load: a rerun
differs only by how full the bursts were (last column). "logger": self cost of the lines of
ixgbevf_lm_dirtylog.h/.cpp and region/guest.h (inlined into the bursts), per packet.

| dirty_log | Ir/packet (rx+tx) | vs off | rx | tx | logger | empty rx poll (Ir) | packets | packets/tx burst |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
{table}

{{verdict}}

Commands (`bench/dirty_log_callgrind.py` runs these in order, `start` / `stop` / `callgrind_control -d idle <pid>` /
`start tx_first {a.tx_first}` / `stop` / `quit` at testpmd's prompt):

```
{cmds}
```
"""
    with open(path, "w") as f:
        f.write(text + tsc)
    print(f"wrote {os.path.relpath(path, ROOT)} (replace the {{verdict}} line)", file=sys.stderr)


if __name__ == "__main__":
    main()
