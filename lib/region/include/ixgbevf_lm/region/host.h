/* SPDX-License-Identifier: BSD-3-Clause */
// Host (hypervisor/VMM) side of the migration region.
//
//   auto h = Host::create("/dev/shm/vm1.region", {.page_size = 4096, .ranges = {{0, 4ULL << 30}}});
//   uint32_t s = h->find_slot("0000:00:04.0").value();
//   uint32_t g = h->request_state(s, State::pre_copy).value();  // also requests logging
//   h->wait_ack(s, g, 500ms);                                    // driver logs from now on
//   h->get_dirty_bitmap(0, bitmap, ReadMode::clear);             // each pre-copy round
//   ... request_state(s, State::stop_copy), wait_ack, final read, request_state(s, State::stop)
#pragma once

#include <bit>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ixgbevf_lm/region/guest.h"
#include "ixgbevf_lm/region/layout.h"
#include "ixgbevf_lm/region/mapping.h"
#include "ixgbevf_lm/region/result.h"

namespace ixgbevf_lm::region {

struct RangeSpec {
    uint64_t gpa_base;
    uint64_t length;
};

struct CreateParams {
    uint64_t page_size{4096};
    std::vector<RangeSpec> ranges;
    uint32_t n_slots{kMaxSlots};
};

// VFIO GET_BITMAP / iommufd GET_DIRTY_BITMAP (clear) or with IOMMU_DIRTY_TRACKING_NO_CLEAR.
enum class ReadMode { clear, no_clear };

struct SlotStatus {
    uint32_t index;
    bool claimed;
    uint32_t owner_pid;
    std::string identity;
    Request request;   // last posted by the host
    Report report;     // last published by the driver
    uint64_t request_ns;
    uint64_t ack_ns;
    Counters counters;
    int32_t last_error;
    std::string error_msg;
};

class Host {
public:
    // Create (or truncate) the file and write a valid header; every slot free and requested
    // RUNNING at generation 0.
    static Result<Host> create(const std::string &path, const CreateParams &params);
    // Map an existing region (validated like Guest::attach).
    static Result<Host> open(const std::string &path);

    Host(const Host &) = delete;
    Host &operator=(const Host &) = delete;
    Host(Host &&) noexcept = default;
    Host &operator=(Host &&) noexcept = default;
    ~Host() = default;

    // Remove the file; the mapping stays valid until this object is destroyed.
    Result<void> unlink();

    [[nodiscard]] const std::string &path() const noexcept { return map_.path(); }
    [[nodiscard]] uint64_t page_size() const noexcept { return uint64_t{1} << page_shift_; }
    [[nodiscard]] uint32_t n_ranges() const noexcept { return n_ranges_; }
    [[nodiscard]] RangeInfo range(uint32_t i) const noexcept;
    [[nodiscard]] uint32_t n_slots() const noexcept;
    [[nodiscard]] uint64_t total_size() const noexcept;

    // Bump the header's host generation (heartbeat); returns the new value.
    uint64_t heartbeat() noexcept;

    Result<uint32_t> find_slot(std::string_view identity) const;
    [[nodiscard]] Result<SlotStatus> slot_status(uint32_t slot) const;
    // Free a slot whatever its owner (e.g. the guest died).
    Result<void> release_slot(uint32_t slot);

    // Post a request: checks transition_allowed() against the posted request, sets the logging
    // flag for PRE_COPY/STOP_COPY and clears it for RUNNING/STOP/RESUMING, bumps the generation,
    // stamps request_ns. Returns the new generation.
    Result<uint32_t> request_state(uint32_t slot, State state, ResumeKind kind = ResumeKind::none);
    // Cancel a migration: RUNNING with ResumeKind::source_abort.
    Result<uint32_t> abort_to_running(uint32_t slot)
    {
        return request_state(slot, State::running, ResumeKind::source_abort);
    }
    // Start/stop dirty logging without a state change (new generation). Returns it.
    Result<uint32_t> set_logging(uint32_t slot, bool on);
    // Same for every claimed slot.
    Result<void> set_logging_all(bool on);

    // The driver's doorbell (layout 1.3, doorbell.h): read its value, check the reports, then
    // wait_report(value, bound) blocks until a driver reported something or the bound passed.
    // Against an older layout (no doorbell) the wait is a plain sleep of the bound.
    [[nodiscard]] uint32_t report_bell() const noexcept;
    void wait_report(uint32_t seen, std::chrono::nanoseconds bound) const noexcept;

    // Wait (bounded) until the slot acknowledged `generation` or later.
    Result<SlotStatus> wait_ack(uint32_t slot, uint32_t generation, std::chrono::milliseconds timeout) const;
    // Wait until every claimed slot acknowledged its current request.
    Result<void> wait_all_acked(std::chrono::milliseconds timeout) const;

    // Copy range `r`'s bitmap into `out` (range(r).n_words words), clearing it in the region for
    // ReadMode::clear. Returns the number of dirty pages.
    Result<uint64_t> get_dirty_bitmap(uint32_t r, std::span<uint64_t> out, ReadMode mode);

    // Call fn(gpa) for every dirty page of every range (clearing for ReadMode::clear). Returns
    // the number of pages.
    template <class F>
    uint64_t for_each_dirty(ReadMode mode, F &&fn)
    {
        const FetchScope scope(*this, mode);
        uint64_t n = 0;
        for (uint32_t i = 0; i < n_ranges_; ++i) {
            const detail::RangeView &r = ranges_[i];
            for (uint64_t w = 0; w < r.n_words; ++w) {
                uint64_t v = read_word(r.words + w, mode);
                while (v != 0) {
                    const unsigned bit = static_cast<unsigned>(std::countr_zero(v));
                    v &= v - 1;
                    fn(r.base + ((w * 64 + bit) << page_shift_));
                    ++n;
                }
            }
        }
        return n;
    }
    std::vector<uint64_t> dirty_pages(ReadMode mode);

    // Mark [gpa, gpa + len) dirty from the host (VMM-emulated DMA, tests). Returns the pages
    // outside every range.
    uint64_t mark_dirty_range(uint64_t gpa, uint64_t len) noexcept
    {
        return detail::mark_range(ranges_.data(), n_ranges_, page_shift_, gpa, len);
    }

private:
    Host() = default;
    static Result<Host> from_mapping(FileMapping map);
    // Brackets a clearing read with the header's fetch_begin / fetch_end bumps (seq_cst).
    void fetch_bump(bool begin) noexcept;
    struct FetchScope {
        Host &h;
        bool clearing;
        FetchScope(Host &host, ReadMode mode) noexcept : h(host), clearing(mode == ReadMode::clear)
        {
            if (clearing)
                h.fetch_bump(true);
        }
        ~FetchScope()
        {
            if (clearing)
                h.fetch_bump(false);
        }
        FetchScope(const FetchScope &) = delete;
        FetchScope &operator=(const FetchScope &) = delete;
    };
    static uint64_t read_word(uint64_t *word, ReadMode mode) noexcept
    {
        std::atomic_ref<uint64_t> a(*word);
        if (mode == ReadMode::no_clear)
            return a.load(std::memory_order_acquire);
        if (a.load(std::memory_order_relaxed) == 0)
            return 0;
        return a.exchange(0, std::memory_order_acq_rel);
    }
    Result<uint32_t> post(uint32_t slot, State state, ResumeKind kind, uint16_t flags);
    [[nodiscard]] Slot *slot_ptr(uint32_t i) const noexcept;

    FileMapping map_;
    std::array<detail::RangeView, kMaxRanges> ranges_{};
    uint32_t n_ranges_{0};
    uint32_t page_shift_{12};
    // The geometry as validated when mapped: a guest can write the header too, so it is never
    // read again to find a slot.
    Slot *slots_{nullptr};
    uint32_t n_slots_{0};
    uint64_t total_size_{0};
};

}  // namespace ixgbevf_lm::region
