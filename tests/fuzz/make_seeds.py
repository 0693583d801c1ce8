#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into corpus/<target>/ (run once; the fuzzer adds
its own finds next to them). Each seed is a well-formed conversation or layout to start from."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data)


# devargs: first byte 1 = the sim vdev, 0 = the PCI driver
for i, (sim, s) in enumerate([
        (1, "pf=p1,vf=0"),
        (1, "pf=p1,vf=3,mac=02:00:00:00:00:aa,uplink=tap:t0,dirty_log=bitmap,recover=app,"
            "mig_region=/dev/shm/x,tx_head_wb=1"),
        (1, "pf=p1,vf=0,uplink=wire:w1,dirty_addr=pa,mig_poll_us=50,quiesce_timeout_us=20000"),
        (0, "mig_region=/dev/shm/r,dirty_log=touch,recover=auto"),
        (1, "pf=p1,vf"), (1, "pf,vf=0"), (0, "mig_region"), (1, "pf=p1,vf=0,vf=1"),
        (1, "pf=p1,vf=+1,mac= 2:00:00:00:00:01"), (0, "tx_head_wb=1,,dirty_log=[a,b]")]):
    put("devargs", str(i), bytes([sim]) + s.encode())

# mailbox: the words a PF serves to VFMAILBOX/VFMBMEM reads, in the driver's read order
ACK, NACK, CTS = 0x80000000, 0x40000000, 0x20000000
PFSTS_PFACK = 0x30


def words(*w):
    return struct.pack(f"<{len(w)}I", *w)


def reply(msg_id, *rest, kind=ACK):
    # poll after taking VFU (nothing), PFACK+PFSTS, then the reply words
    return words(0, PFSTS_PFACK, msg_id | kind | CTS, *rest)


bringup = (words(0) +                                           # RSTD after VFCTRL.RST
           reply(0x01, 0x00000002, 0x00000100, 0) +              # VF_RESET: MAC 02:00:00:00:01:00
           reply(0x08, 0) +                                      # API 1.4 accepted
           reply(0x09, 4, 4, 0, 0))                              # GET_QUEUES: 4/4
put("mailbox", "bringup", bytes([0]) + bringup + words(0x40000000))
put("mailbox", "fallback_1_3", bytes([0]) + words(0) + reply(0x01, 2, 0x100, 0) +
    reply(0x08, 0, kind=NACK) + reply(0x08, 0) + reply(0x09, 2, 2, 0, 0))
put("mailbox", "rss_reta", bytes([6]) + bringup + reply(0x0b, *range(10)) + reply(0x0a, *range(8)))
put("mailbox", "unsolicited", bytes([0]) + words(0, 0, PFSTS_PFACK, 0x100, 0, PFSTS_PFACK, 0x01 | ACK, 2, 0x100, 0))
put("mailbox", "pf_message", bytes([0]) + bringup + words(0x10, 0x200, 3) + words(*([0] * 14)))
put("mailbox", "no_mac", bytes([0]) + words(0) + reply(0x01, 0, 0, 0, kind=NACK))
put("mailbox", "ones", bytes([7]) + b"\xff" * 256)

# region: first byte 0 = a valid region from (page shift, slots, ranges, (gap, len) per range)
put("region_guest", "valid", bytes([0, 0, 3, 1, 0, 8, 0]) + bytes([1, 2, 3, 4, 5, 6, 7, 8]))
put("region_guest", "claim_ops", bytes([0, 1, 4, 2, 0, 16, 3, 4, 0]) +
    bytes([1, 2, 6, 7]) + bytes([3]) + struct.pack("<Q", 0x1000) + bytes([4]) + struct.pack("<QI", 0, 0x3000) +
    bytes([5, 9, 8]))
put("region_guest", "host_edits", bytes([0, 0, 2, 1, 0, 4, 0]) + bytes([1, 0]) + struct.pack("<HQ", 32, 1000) +
    bytes([1, 2, 0]) + struct.pack("<HQ", 384 + 64, 0x0000050100000007) + bytes([2, 7]))
put("region_host", "slots", bytes([0, 3, 1, 0, 8]) + bytes([2, 0, 3, 0, 4, 0, 2, 0, 6, 0, 0, 0, 5, 0, 1, 7, 0, 0, 8, 0]))
put("region_host", "guest_slot", bytes([0, 1, 1, 0, 8]) + bytes([1, 0]) +
    struct.pack("<IIQ48s", 2, os.getpid(), 1, b"fuzz0") + bytes(256 - 64) + bytes([2, 0, 3, 0, 3, 1, 7, 0, 1]))

# model: op streams (see fuzz_model_vf.cpp): reset, rings in RAM, a frame, tails, run
base = 0x40000000
ops = bytearray([0])
ops += bytes([0, 0]) + struct.pack("<I", 0x04000000)             # VFCTRL.RST
ops += bytes([6, 10])                                              # run
ops += bytes([4, 0]) + struct.pack("<I", 0x01)                     # VF_RESET message
ops += bytes([6, 10])
ops += bytes([5 | 0x40, 0]) + struct.pack("<h", 0) + bytes([2])    # Rx ring at RAM start, 256 bytes
ops += bytes([5, 0]) + struct.pack("<h", 64) + bytes([2])          # Tx ring at +1 KiB
for i in range(16):                                                # Rx descriptors -> buffers at +8 KiB
    ops += bytes([3]) + struct.pack("<HQ", i * 16, base + 0x2000 + i * 2048)
ops += bytes([3]) + struct.pack("<HQ", 1024, base + 0x6000)       # Tx descriptor: buffer
ops += bytes([3]) + struct.pack("<HQ", 1032, (0x2B300000 << 32) | 64)
ops += bytes([8 | 0x40, 0]) + struct.pack("<H", 15)                # RDT
ops += bytes([8, 0]) + struct.pack("<H", 1)                        # TDT
ops += bytes([6, 50, 2, 0, 2, 0x80]) + struct.pack("<H", 0x1010)
put("model_vf", "loop_frame", bytes(ops))
put("model_vf", "mailbox_api14", bytes([3, 0, 0]) + struct.pack("<I", 0x04000000) + bytes([6, 1, 4, 0]) +
    struct.pack("<I", 1) + bytes([6, 1, 4, 1]) + struct.pack("<II", 8, 5) + bytes([6, 1, 4, 0]) +
    struct.pack("<I", 9) + bytes([6, 1, 7, 0, 7, 3, 6, 1]))
put("model_vf", "wild_rings", bytes([0, 5, 0]) + struct.pack("<h", -32768) + bytes([255, 5 | 0x40, 1]) +
    struct.pack("<h", 32767) + bytes([255, 8, 1, 0xff, 0xff, 8 | 0x40, 1, 0xff, 0xff, 6, 5]))


# writeback: a config byte (ring sizes, vector paths, head write-back), then operations:
# 0 raw Rx write-back, 1 well-formed frames, 2 rx burst, 3 tx burst, 4 head word, 5 Tx status word,
# 6 the device completes every Tx descriptor, 7 the device's Rx head moves
def wb_frames(count, segs, info, st, length):
    return bytes([1, count, segs - 1]) + struct.pack("<IIH", info, st, length)


def wb_raw(idx, status, length, info=0):
    return bytes([0]) + struct.pack("<H", idx) + struct.pack("<IIIHH", info, 0, status, length, 0)


RX_DD, RX_EOP = 0x1, 0x2
for i, (cfg, ops) in enumerate([
        # scalar both ways: single frames, a burst, Tx, completion, chains
        (0x00, [wb_frames(8, 1, 0x0110, 0x60, 100), bytes([2, 31]), bytes([3, 20, 0]),
                bytes([6]), bytes([3, 20, 0x80]), wb_frames(4, 3, 0x0210, 0, 500), bytes([2, 63])]),
        # vector both ways, head write-back
        (0x75, [wb_frames(20, 1, 0x0110, 0x60, 64), bytes([2, 63]), bytes([3, 40, 0]), bytes([6]),
                bytes([3, 40, 0]), bytes([2, 63])]),
        # hostile: DD on a descriptor never posted, lengths 0 and 65535, MAC errors, no EOP
        (0x10, [wb_raw(31, RX_DD | RX_EOP, 64), wb_raw(0, RX_DD | RX_EOP, 0xFFFF),
                wb_raw(1, RX_DD | RX_EOP, 0), wb_raw(2, RX_DD | RX_EOP | 0x20000000, 64),
                wb_frames(2, 1, 0, 0, 64), bytes([2, 63])]
               + [wb_raw(k, RX_DD, 2048) for k in range(3, 31)] + [bytes([2, 63])]),
        # hostile Tx: head beyond the tail, DD written where nothing was handed over
        (0x40, [bytes([3, 30, 0]), bytes([4]) + struct.pack("<I", 31), bytes([3, 10, 0]),
                bytes([4]) + struct.pack("<I", 0xFFFFFFFF), bytes([5, 5, 0, 1, 0, 0, 0]),
                bytes([6]), bytes([3, 30, 0])])]):
    put("writeback", str(i), bytes([cfg]) + b"".join(ops))
