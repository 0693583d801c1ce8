/* SPDX-License-Identifier: BSD-3-Clause */
// The migration region: a versioned, self-describing shared-memory layout, one per guest, shared
// by all the guest's ixgbevf_lm ports and the hypervisor. Backed by any file that can be mapped
// MAP_SHARED: /dev/shm, hugetlbfs, or an ivshmem BAR's sysfs resource file inside a VM.
//
//   offset 0            Header (384 B): identity, geometry, host heartbeat, range table
//   slots_offset        n_slots x Slot (256 B each, 64-byte aligned, one owner per cache line)
//   range[i].bitmap     one bit per page of range i, 64-bit words, each bitmap 64-byte aligned
//   total_size          (file may be larger, e.g. a power-of-two ivshmem BAR)
//
// All fields are fixed-width little-endian (only little-endian hosts are supported). Fields that
// change after creation are accessed with std::atomic_ref; the rest are written once by create().
//
// Dirty bitmap: bit i of word w of range r is page (w * 64 + i) of r, i.e. guest-physical address
// range[r].gpa_base + (w * 64 + i) * page_size. The guest sets bits (relaxed load, fetch_or only
// when clear); the host reads word by word with exchange(0) (VFIO GET_BITMAP / iommufd
// GET_DIRTY_BITMAP) or with plain loads (iommufd NO_CLEAR).
//
// Slot protocol. The host writes `request` (one 64-bit word: generation | state | resume kind |
// flags), bumping the generation with every request. The driver polls it (one acquire load),
// acts, then publishes `report` (one release store: acked generation | reported state | flags).
//
// State machine (host-requested transitions; the driver reports the state it reached):
//
//   from (requested)   to          resume_kind    meaning for the driver
//   ----------------   ---------   ------------   ----------------------------------------------
//   RUNNING            PRE_COPY    NONE           keep running, start dirty logging
//   RUNNING            STOP_COPY   NONE           quiesce (no pre-copy phase), keep logging
//   PRE_COPY           STOP_COPY   NONE           quiesce rx/tx, final logging, report counters
//   PRE_COPY           RUNNING     SOURCE_ABORT   migration cancelled: stop logging, carry on
//   STOP_COPY          STOP        NONE           final bitmap read done; stay quiesced
//   STOP_COPY, STOP    RUNNING     SOURCE_ABORT   migration cancelled: restart on the SAME VF
//   any                RESUMING    NONE           now on the destination (or the VF was replaced):
//                                                 rebuild on a fresh VF, then wait
//   RESUMING           RUNNING     DESTINATION    destination restore complete: run
//   ERROR (reported)   RUNNING     SOURCE_ABORT   recovery attempt on the same VF
//   RUNNING (any kind) RUNNING     NONE           migration over: plain running
//   any                same state  same kind      re-send (new generation, same meaning)
//
// A fresh slot's request is (generation 0, RUNNING, NONE, no flags).
//
// RUNNING is therefore never ambiguous: resume_kind SOURCE_ABORT = undo the quiesce on the VF the
// driver already holds; DESTINATION = the device is new, its state was rebuilt in RESUMING.
// ERROR is only ever reported by the driver, never requested. State names follow VFIO migration
// v2 (vfio_device_mig_state) where they mean the same thing; the numeric values are our own.
//
// Logging: the driver logs DMA writes while request flag kRequestLogging is set (the host sets it
// with PRE_COPY/STOP_COPY or explicitly via start/stop logging, each a new generation), and
// reports kReportLoggingActive once every queue logs. The host must wait for that ack before its
// first bitmap pass.
//
// Failing closed (1.2): when the driver could not log a page the device may have written since
// logging started (a mark outside every range, an address it could not translate, a quiesce that
// ran out of time, an lcore that did not leave its burst in time), every later ack until logging
// stops carries kReportLogIncomplete, Slot::log_errors counts the failures and error_msg names the
// last one. The bitmap is then not a complete record: the host must treat all guest memory as
// dirty (copy everything) or cancel the migration. A driver that finds an older host (minor < 2)
// acknowledges ERROR instead, which such a host cannot take for success.
//
// Timestamps: created_ns is CLOCK_REALTIME; request_ns (host clock) and ack_ns, last_quiesce_ns,
// last_restart_ns (guest clock) are CLOCK_MONOTONIC of the writer: compare only same-side values.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ixgbevf_lm::region {

static_assert(std::endian::native == std::endian::little, "region layout is little-endian");

inline constexpr uint64_t kMagic = 0x47524d4c46565849ULL;  // "IXVFLMRG" in memory order
inline constexpr uint16_t kVersionMajor = 1;
inline constexpr uint16_t kVersionMinor = 3;  // 1.1: fetch_begin/fetch_end; 1.2: log_errors; 1.3: doorbells
inline constexpr uint32_t kMaxRanges = 8;
inline constexpr uint32_t kMaxSlots = 32;
inline constexpr uint64_t kMinPageSize = 4096;
inline constexpr uint64_t kMaxPageSize = 1ULL << 30;  // 1 GiB: largest page a VMM tracks
inline constexpr size_t kCacheLine = 64;               // alignment of slots and bitmaps
inline constexpr size_t kIdentityLen = 48;             // including the terminating NUL
inline constexpr size_t kErrorMsgLen = 64;             // including the terminating NUL

struct RangeDesc {
    uint64_t gpa_base;       // guest-physical base, page aligned
    uint64_t length;         // bytes, > 0
    uint64_t bitmap_offset;  // byte offset of this range's bitmap in the region, 64-byte aligned
    uint64_t n_words;        // ceil(ceil(length / page_size) / 64)
};
static_assert(sizeof(RangeDesc) == 32);

struct alignas(kCacheLine) Header {
    // Cache line 0: written once by create().
    uint64_t magic;           // 0   kMagic, written last (release) by create()
    uint16_t version_major;   // 8
    uint16_t version_minor;   // 10
    uint32_t header_size;     // 12  sizeof(Header) for 1.x
    uint64_t total_size;      // 16  bytes of the layout, <= file size
    uint64_t page_size;       // 24  power of two, kMinPageSize..kMaxPageSize
    uint32_t n_slots;         // 32  1..kMaxSlots
    uint32_t slot_size;       // 36  sizeof(Slot)
    uint64_t slots_offset;    // 40
    uint32_t n_ranges;        // 48  1..kMaxRanges
    uint32_t reserved0;       // 52
    uint64_t created_ns;      // 56  CLOCK_REALTIME
    // Cache line 1: host heartbeat and, since 1.1, the clearing-read counters: fetch_begin is
    // bumped before a fetch-and-clear touches a word, fetch_end after it has finished. Equal: no
    // bit has been cleared since fetch_end reached that value. A driver uses them to know that the
    // bits it saw set are still set (see Guest::fetch_counters).
    uint64_t host_generation; // 64  bumped by Host::heartbeat()
    uint64_t heartbeat_ns;    // 72  CLOCK_MONOTONIC (host) of the last heartbeat
    uint64_t fetch_begin;     // 80  1.1
    uint64_t fetch_end;       // 88  1.1
    // 1.3: doorbells (doorbell.h), hints beside the request and report words: the host bumps
    // host_bell after every request it posts, the driver guest_bell after every report.
    uint32_t host_bell;       // 96  1.3
    uint32_t guest_bell;      // 100 1.3
    uint8_t reserved1[24];    // 104
    // Cache lines 2..5: range table (written once).
    RangeDesc ranges[kMaxRanges];  // 128
};
static_assert(sizeof(Header) == 384);
static_assert(offsetof(Header, magic) == 0);
static_assert(offsetof(Header, version_major) == 8);
static_assert(offsetof(Header, header_size) == 12);
static_assert(offsetof(Header, total_size) == 16);
static_assert(offsetof(Header, page_size) == 24);
static_assert(offsetof(Header, n_slots) == 32);
static_assert(offsetof(Header, slot_size) == 36);
static_assert(offsetof(Header, slots_offset) == 40);
static_assert(offsetof(Header, n_ranges) == 48);
static_assert(offsetof(Header, created_ns) == 56);
static_assert(offsetof(Header, host_generation) == 64);
static_assert(offsetof(Header, fetch_begin) == 80);
static_assert(offsetof(Header, fetch_end) == 88);
static_assert(offsetof(Header, host_bell) == 96);
static_assert(offsetof(Header, guest_bell) == 100);
static_assert(offsetof(Header, ranges) == 128);

enum class SlotClaim : uint32_t { free = 0, busy = 1, claimed = 2 };

struct alignas(kCacheLine) Slot {
    // Cache line 0: ownership (CAS on `claim`).
    uint32_t claim;                            // 0   SlotClaim
    uint32_t owner_pid;                        // 4   claiming process (guest pid)
    uint64_t claimed_ns;                       // 8   CLOCK_MONOTONIC (guest)
    alignas(8) char identity[kIdentityLen];    // 16  "0000:00:04.0", "net_ixgbevf_lm_sim0"
    // Cache line 1: written by the host.
    uint64_t request;                          // 64  packed, see pack_request()
    uint64_t request_ns;                       // 72  CLOCK_MONOTONIC (host) of the last request
    uint8_t reserved_host[48];                 // 80
    // Cache line 2: written by the driver.
    uint64_t report;                           // 128 packed, see pack_report()
    uint64_t ack_ns;                           // 136 CLOCK_MONOTONIC (guest) of the last ack
    uint64_t pages_logged;                     // 144
    uint64_t migrations_done;                  // 152
    uint64_t last_quiesce_ns;                  // 160 duration of the last quiesce
    uint64_t last_restart_ns;                  // 168 duration of the last restart/rebuild
    uint64_t frames_dropped;                   // 176 frames dropped in rings while quiesced
    int32_t last_error;                        // 184 negative errno, 0 = none
    uint32_t log_errors;                       // 188 1.2: failures to log (saturating)
    // Cache line 3: driver's last error message.
    alignas(8) char error_msg[kErrorMsgLen];   // 192
};
static_assert(sizeof(Slot) == 256);
static_assert(offsetof(Slot, identity) == 16);
static_assert(offsetof(Slot, request) == 64);
static_assert(offsetof(Slot, report) == 128);
static_assert(offsetof(Slot, last_error) == 184);
static_assert(offsetof(Slot, log_errors) == 188);
static_assert(offsetof(Slot, error_msg) == 192);
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<uint32_t>::is_always_lock_free);

enum class State : uint8_t {
    unknown = 0,    // never reported
    running = 1,
    pre_copy = 2,   // running with dirty logging
    stop_copy = 3,  // quiesced, final logging
    stop = 4,
    resuming = 5,   // destination: rebuild on a fresh VF
    error = 6,
};
inline constexpr uint8_t kStateCount = 7;

enum class ResumeKind : uint8_t {
    none = 0,
    source_abort = 1,  // RUNNING on the same VF after a cancelled migration
    destination = 2,   // RUNNING on the destination after RESUMING
};

inline constexpr uint16_t kRequestLogging = 1U << 0;      // request flags
inline constexpr uint16_t kReportLoggingActive = 1U << 0; // report flags
inline constexpr uint16_t kReportLogIncomplete = 1U << 1; // 1.2: treat all memory as dirty

struct Request {
    uint32_t generation;
    State state;
    ResumeKind kind;
    uint16_t flags;
    [[nodiscard]] bool logging() const noexcept { return (flags & kRequestLogging) != 0; }
};

struct Report {
    uint32_t acked_generation;
    State state;
    uint16_t flags;
    [[nodiscard]] bool logging_active() const noexcept { return (flags & kReportLoggingActive) != 0; }
    // The dirty log misses pages since logging started: the host must not trust the bitmap.
    [[nodiscard]] bool log_incomplete() const noexcept { return (flags & kReportLogIncomplete) != 0; }
};

constexpr uint64_t pack_request(const Request &r) noexcept
{
    return uint64_t{r.generation} | (uint64_t{static_cast<uint8_t>(r.state)} << 32) |
           (uint64_t{static_cast<uint8_t>(r.kind)} << 40) | (uint64_t{r.flags} << 48);
}
constexpr Request unpack_request(uint64_t v) noexcept
{
    return Request{static_cast<uint32_t>(v), static_cast<State>((v >> 32) & 0xff),
                   static_cast<ResumeKind>((v >> 40) & 0xff), static_cast<uint16_t>(v >> 48)};
}
constexpr uint64_t pack_report(const Report &r) noexcept
{
    return uint64_t{r.acked_generation} | (uint64_t{static_cast<uint8_t>(r.state)} << 32) |
           (uint64_t{r.flags} << 48);
}
constexpr Report unpack_report(uint64_t v) noexcept
{
    return Report{static_cast<uint32_t>(v), static_cast<State>((v >> 32) & 0xff),
                  static_cast<uint16_t>(v >> 48)};
}

// Generation a has reached b (wrap-around safe).
constexpr bool generation_reached(uint32_t a, uint32_t b) noexcept
{
    return static_cast<int32_t>(a - b) >= 0;
}

// The table above. `from` is the state last requested by the host or, for ERROR, reported by
// the driver.
constexpr bool transition_allowed(State from, State to, ResumeKind kind) noexcept
{
    if (to == State::error || to == State::unknown)
        return false;
    if (to == State::running) {
        switch (from) {
        case State::running: return kind == ResumeKind::none;
        case State::pre_copy:
        case State::stop_copy:
        case State::stop:
        case State::error: return kind == ResumeKind::source_abort;
        case State::resuming: return kind == ResumeKind::destination;
        default: return false;
        }
    }
    if (kind != ResumeKind::none)
        return false;
    if (from == to)
        return true;
    switch (to) {
    case State::pre_copy: return from == State::running;
    case State::stop_copy: return from == State::running || from == State::pre_copy;
    case State::stop: return from == State::stop_copy;
    case State::resuming: return true;
    default: return false;
    }
}

// Same, also allowing a re-send of the request currently posted (same state and kind).
constexpr bool transition_allowed(State from, ResumeKind from_kind, State to, ResumeKind kind) noexcept
{
    if (from == to && from_kind == kind && to != State::error && to != State::unknown)
        return true;
    return transition_allowed(from, to, kind);
}

const char *state_name(State s) noexcept;
const char *resume_kind_name(ResumeKind k) noexcept;

}  // namespace ixgbevf_lm::region
