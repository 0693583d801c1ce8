#!/usr/bin/env python3
"""The kernel side of a TAP: send numbered frames to a MAC through an interface and time the ones
that come back with source and destination swapped (testpmd's macswap), at a fixed rate.

Runs inside the network namespace that holds the interface (`ip netns exec <ns> python3 tap_probe.py`).
Stops on SIGTERM/SIGINT or after --max-s, then prints one JSON object: frames sent and received, and
every gap between consecutive returned frames longer than --gap-ms as [start, end] in CLOCK_MONOTONIC
seconds (the clock of the process that starts it), plus the longest.

Usage: tap_probe.py <ifname> <peer mac> [--interval-ms 1] [--gap-ms 5] [--max-s 60]
"""
import argparse
import json
import os
import signal
import socket
import struct
import time

ETHERTYPE = 0x88B5  # IEEE 802 local experimental


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ifname")
    ap.add_argument("peer")
    ap.add_argument("--interval-ms", type=float, default=1.0)
    ap.add_argument("--gap-ms", type=float, default=5.0)
    ap.add_argument("--max-s", type=float, default=60.0)
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    s.bind((a.ifname, ETHERTYPE))
    s.setblocking(False)
    own = s.getsockname()[4][:6]
    peer = mac_bytes(a.peer)
    head = peer + own + struct.pack("!H", ETHERTYPE)
    magic = os.getpid() & 0xFFFFFFFF

    sent = received = 0
    last_seq = -1
    out_of_order = 0
    last_rx = None
    gaps = []
    longest = 0.0
    print(json.dumps({"ready": True, "own_mac": own.hex(":")}), flush=True)
    start = time.monotonic()
    next_tx = start
    while not stop and time.monotonic() - start < a.max_s:
        now = time.monotonic()
        if now >= next_tx:
            frame = head + struct.pack("!IQ", magic, sent) + bytes(46)
            try:
                s.send(frame)
                sent += 1
            except (BlockingIOError, OSError):
                pass  # the carrier is down during a switch: the kernel drops, we count it as lost
            next_tx += a.interval_ms / 1000.0
            if next_tx < now:
                next_tx = now + a.interval_ms / 1000.0
        while True:
            try:
                data = s.recv(2048)
            except (BlockingIOError, InterruptedError):
                break
            if len(data) < 26 or data[0:6] != own or data[6:12] != peer:
                continue
            m, seq = struct.unpack("!IQ", data[14:26])
            if m != magic:
                continue
            t = time.monotonic()
            received += 1
            if seq <= last_seq:
                out_of_order += 1
            last_seq = max(last_seq, seq)
            if last_rx is not None:
                gap = t - last_rx
                longest = max(longest, gap)
                if gap * 1000.0 > a.gap_ms:
                    gaps.append([last_rx, t])
            last_rx = t
        time.sleep(max(0.0, min(next_tx - time.monotonic(), 0.0005)))
    print(json.dumps({"sent": sent, "received": received, "out_of_order": out_of_order,
                      "longest_gap_ms": longest * 1000.0, "gaps": gaps, "start": start,
                      "end": time.monotonic()}), flush=True)


main()
