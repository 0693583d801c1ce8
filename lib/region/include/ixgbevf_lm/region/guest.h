/* SPDX-License-Identifier: BSD-3-Clause */
// Guest (driver) side of the migration region.
//
//   auto g = Guest::attach("/dev/shm/vm1.region");        // validates every header field
//   auto s = g->claim_slot("0000:00:04.0");               // or re-claims it after a restart
//   Request r = s->poll_request();                        // control thread, one acquire load
//   ... act on r.state / r.kind / r.logging() ...
//   s->acknowledge(r, State::pre_copy, /*logging_active=*/true);   // one release store
//   g->mark_dirty(gpa);  g->mark_dirty_range(gpa, len);   // fast path, after the DMA completed
//
// Ordering contract of the fast path: mark a page after the write to it is globally visible
// (for device DMA: after observing the descriptor's DD bit with acquire semantics; for CPU
// stores by the same thread, fetch_or's release covers them, but a bit found already set is not
// re-written, so issue std::atomic_thread_fence(seq_cst) first if the caller itself stored).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "ixgbevf_lm/region/layout.h"
#include "ixgbevf_lm/region/mapping.h"
#include "ixgbevf_lm/region/result.h"

namespace ixgbevf_lm::region {

struct RangeInfo {
    uint64_t gpa_base;
    uint64_t length;
    uint64_t n_pages;
    uint64_t n_words;
};

struct Counters {
    uint64_t pages_logged;
    uint64_t migrations_done;
    uint64_t last_quiesce_ns;
    uint64_t last_restart_ns;
    uint64_t frames_dropped;
    uint64_t log_errors;  // 1.2: failures to log (Slot::log_errors)
};

namespace detail {

struct RangeView {
    uint64_t base;
    uint64_t length;
    uint64_t *words;
    uint64_t n_words;
};

// Sets `mask` in *word: a relaxed load first, an atomic only when some bit is missing.
inline void set_bits(uint64_t *word, uint64_t mask) noexcept
{
    std::atomic_ref<uint64_t> w(*word);
    if ((w.load(std::memory_order_relaxed) & mask) != mask)
        w.fetch_or(mask, std::memory_order_release);
}

inline void set_page_bits(uint64_t *words, uint64_t first, uint64_t last) noexcept
{
    const uint64_t w0 = first >> 6;
    const uint64_t w1 = last >> 6;
    for (uint64_t w = w0; w <= w1; ++w) {
        uint64_t mask = ~0ULL;
        if (w == w0)
            mask &= ~0ULL << (first & 63);
        if (w == w1)
            mask &= ~0ULL >> (63 - (last & 63));
        set_bits(words + w, mask);
    }
}

// Marks every page overlapping [gpa, gpa + len) in the ranges; returns the pages outside all.
inline uint64_t mark_range(const RangeView *ranges, uint32_t n_ranges, uint32_t page_shift, uint64_t gpa,
                           uint64_t len) noexcept
{
    if (len == 0)
        return 0;
    const uint64_t last = (len - 1 > UINT64_MAX - gpa) ? UINT64_MAX : gpa + (len - 1);
    const uint64_t total = (last >> page_shift) - (gpa >> page_shift) + 1;
    uint64_t covered = 0;
    for (uint32_t i = 0; i < n_ranges; ++i) {
        const RangeView &r = ranges[i];
        const uint64_t r_last = r.base + (r.length - 1);
        const uint64_t lo = gpa > r.base ? gpa : r.base;
        const uint64_t hi = last < r_last ? last : r_last;
        if (lo > hi)
            continue;
        const uint64_t p0 = (lo - r.base) >> page_shift;
        const uint64_t p1 = (hi - r.base) >> page_shift;
        covered += p1 - p0 + 1;
        set_page_bits(r.words, p0, p1);
    }
    return total - covered;
}

}  // namespace detail

// A claimed slot: a non-owning view, valid while the Guest that produced it lives.
class GuestSlot {
public:
    GuestSlot() = default;

    [[nodiscard]] uint32_t index() const noexcept { return index_; }
    [[nodiscard]] bool valid() const noexcept { return slot_ != nullptr; }
    [[nodiscard]] std::string identity() const;

    // The host's current request: one acquire load.
    [[nodiscard]] Request poll_request() const noexcept
    {
        return unpack_request(std::atomic_ref<uint64_t>(slot_->request).load(std::memory_order_acquire));
    }
    // What this driver last reported.
    [[nodiscard]] Report last_report() const noexcept
    {
        return unpack_report(std::atomic_ref<uint64_t>(slot_->report).load(std::memory_order_relaxed));
    }
    // Publish state + acked generation + flags (one release store) and stamp ack_ns.
    // log_incomplete sets kReportLogIncomplete (see layout.h, "Failing closed").
    void report(State state, uint32_t acked_generation, bool logging_active,
                bool log_incomplete = false) noexcept;
    void acknowledge(const Request &handled, State reached, bool logging_active,
                     bool log_incomplete = false) noexcept
    {
        report(reached, handled.generation, logging_active, log_incomplete);
    }

    // Counters (relaxed; the host reads them as diagnostics).
    void add_pages_logged(uint64_t n) noexcept;
    void add_frames_dropped(uint64_t n) noexcept;
    void add_log_errors(uint64_t n) noexcept;  // saturates at UINT32_MAX
    void count_migration() noexcept;
    void set_last_quiesce_ns(uint64_t ns) noexcept;
    void set_last_restart_ns(uint64_t ns) noexcept;
    [[nodiscard]] Counters counters() const noexcept;

    // Last error: negative errno + a short message (truncated to kErrorMsgLen - 1).
    void set_error(int code, std::string_view message) noexcept;
    void clear_error() noexcept { set_error(0, {}); }

private:
    friend class Guest;
    GuestSlot(Slot *s, uint32_t index, uint32_t *bell) noexcept : slot_(s), bell_(bell), index_(index) {}
    Slot *slot_{nullptr};
    uint32_t *bell_{nullptr};  // Header::guest_bell, rung after every report (1.3)
    uint32_t index_{0};
};

class Guest {
public:
    // Map `path` and validate every header field against the file size.
    static Result<Guest> attach(const std::string &path);

    Guest(const Guest &) = delete;
    Guest &operator=(const Guest &) = delete;
    Guest(Guest &&other) noexcept;
    Guest &operator=(Guest &&other) noexcept;
    ~Guest() = default;

    // Claim a free slot for `identity`, or re-claim the slot already carrying it when its owner
    // is this process or a process that no longer exists (driver restart). Errc::slot_busy when
    // a live process holds it, Errc::no_free_slot when all slots are taken.
    Result<GuestSlot> claim_slot(std::string_view identity);
    // Give the slot back (clean close). The view becomes invalid.
    Result<void> release_slot(GuestSlot &slot);

    // Fast path: mark the page holding `gpa` dirty. No allocation, syscall or lock. Returns false
    // (and counts it) when gpa is outside every range.
    bool mark_dirty(uint64_t gpa) noexcept
    {
        if (const detail::RangeView *r = find_range(gpa)) {
            const uint64_t page = (gpa - r->base) >> page_shift_;
            detail::set_bits(r->words + (page >> 6), 1ULL << (page & 63));
            return true;
        }
        out_of_range_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }

    // Control path: the pages overlapping [gpa, gpa + len) that lie outside every range (0: the
    // whole span can be logged). Marks nothing.
    [[nodiscard]] uint64_t pages_outside(uint64_t gpa, uint64_t len) const noexcept;

    // The range holding gpa, or nullptr (a scan of at most kMaxRanges; the first range usually
    // holds it).
    [[nodiscard]] const detail::RangeView *find_range(uint64_t gpa) const noexcept
    {
        for (uint32_t i = 0; i < n_ranges_; ++i)
            if (gpa - ranges_[i].base < ranges_[i].length)
                return &ranges_[i];
        return nullptr;
    }

    // Fast path: mark every page overlapping [gpa, gpa + len). Returns the number of those pages
    // outside every range (0 = all logged), also added to out_of_range_count().
    uint64_t mark_dirty_range(uint64_t gpa, uint64_t len) noexcept
    {
        const uint64_t outside = detail::mark_range(ranges_.data(), n_ranges_, page_shift_, gpa, len);
        if (outside != 0)
            out_of_range_.fetch_add(outside, std::memory_order_relaxed);
        return outside;
    }

    // Pages the fast path was asked to mark that lie outside every range.
    [[nodiscard]] uint64_t out_of_range_count() const noexcept
    {
        return out_of_range_.load(std::memory_order_relaxed);
    }

    [[nodiscard]] uint64_t page_size() const noexcept { return uint64_t{1} << page_shift_; }
    [[nodiscard]] uint32_t page_shift() const noexcept { return page_shift_; }
    [[nodiscard]] uint32_t n_ranges() const noexcept { return n_ranges_; }
    [[nodiscard]] RangeInfo range(uint32_t i) const noexcept;
    // Fast path: range i's bitmap, for a caller that keeps the range it hits in registers and
    // marks with detail::set_bits (the bit test and atomic OR of mark_dirty, without the scan).
    [[nodiscard]] detail::RangeView range_view(uint32_t i) const noexcept { return ranges_[i]; }
    [[nodiscard]] uint32_t n_slots() const noexcept;
    [[nodiscard]] uint16_t version_minor() const noexcept;
    // The host's doorbell (layout 1.3, doorbell.h): read request_bell(), poll the slots, then
    // wait_request(value, bound) blocks until the host posted a request or the bound passed.
    // host_wakes(): a wake can arrive (false for an older layout, or a region in a PCI BAR that
    // the host maps from outside this kernel); when false, wait_request returns false at once and
    // the caller polls.
    [[nodiscard]] bool host_wakes() const noexcept { return host_wakes_; }
    [[nodiscard]] uint32_t request_bell() const noexcept;
    bool wait_request(uint32_t seen, std::chrono::nanoseconds bound) const noexcept;
    // The host's heartbeat (Header::host_generation), acquire.
    [[nodiscard]] uint64_t host_generation() const noexcept;

    // The clearing-read counters (layout 1.1; false for an older host, which does not keep them).
    [[nodiscard]] bool tracks_fetches() const noexcept { return fetch_begin_ != nullptr; }
    struct FetchCounters {
        uint64_t begin;
        uint64_t end;
        // No clearing read in progress, none started since `end` reached this value.
        [[nodiscard]] bool quiet() const noexcept { return begin == end; }
    };
    // Acquire loads, begin after end: quiet() means no bit was cleared between the fetch that
    // ended at `end` and this read. Only when tracks_fetches().
    [[nodiscard]] FetchCounters fetch_counters() const noexcept
    {
        const uint64_t e = std::atomic_ref<uint64_t>(*fetch_end_).load(std::memory_order_acquire);
        const uint64_t b = std::atomic_ref<uint64_t>(*fetch_begin_).load(std::memory_order_acquire);
        return {b, e};
    }
    [[nodiscard]] uint64_t fetch_begin() const noexcept
    {
        return std::atomic_ref<uint64_t>(*fetch_begin_).load(std::memory_order_acquire);
    }
    // Where fetch_begin lies in the mapping (nullptr for an older host), for a fast-path reader
    // that keeps the address next to its own state instead of reaching it through this object;
    // read it with an acquire load, as fetch_begin() does.
    [[nodiscard]] const uint64_t *fetch_begin_word() const noexcept { return fetch_begin_; }
    // Whether the page holding gpa is marked (relaxed; false outside every range).
    [[nodiscard]] bool is_marked(uint64_t gpa) const noexcept
    {
        const detail::RangeView *r = find_range(gpa);
        if (r == nullptr)
            return false;
        const uint64_t page = (gpa - r->base) >> page_shift_;
        return (std::atomic_ref<uint64_t>(r->words[page >> 6]).load(std::memory_order_relaxed) >> (page & 63)) & 1;
    }

private:
    Guest() = default;

    FileMapping map_;
    std::array<detail::RangeView, kMaxRanges> ranges_{};
    uint32_t n_ranges_{0};
    uint32_t page_shift_{12};
    uint64_t *fetch_begin_{nullptr};  // Header::fetch_begin/end when the host keeps them (1.1)
    uint64_t *fetch_end_{nullptr};
    uint32_t *host_bell_{nullptr};  // Header::host_bell/guest_bell (1.3)
    uint32_t *guest_bell_{nullptr};
    bool host_wakes_{false};
    // The slots as validated at attach: the host may rewrite the header at any time, so it is never
    // read again to find a slot.
    Slot *slots_{nullptr};
    uint32_t n_slots_{0};
    std::atomic<uint64_t> out_of_range_{0};
};

}  // namespace ixgbevf_lm::region
