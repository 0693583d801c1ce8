/* SPDX-License-Identifier: BSD-3-Clause */
// Host (VMM) side: create/open, requests, acks, dirty bitmap reads.
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <thread>

#include "ixgbevf_lm/region/doorbell.h"
#include "region_internal.h"

namespace ixgbevf_lm::region {

using detail::load_text;
using detail::make_error;

namespace {

std::atomic_ref<uint64_t> request_of(Slot &s) { return std::atomic_ref<uint64_t>(s.request); }

}  // namespace

Result<Host> Host::from_mapping(FileMapping map)
{
    auto g = detail::validate(map.data(), map.size());
    if (!g) {
        Error e = g.error();
        e.message = map.path() + ": " + e.message;
        return e;
    }
    Host h;
    h.map_ = std::move(map);
    h.ranges_ = g->ranges;
    h.n_ranges_ = g->n_ranges;
    h.page_shift_ = g->page_shift;
    h.slots_ = g->slots;
    h.n_slots_ = g->n_slots;
    h.total_size_ = g->total_size;
    return h;
}

Result<Host> Host::create(const std::string &path, const CreateParams &params)
{
    auto p = detail::plan(params.page_size, params.ranges.data(), params.ranges.size(), params.n_slots);
    if (!p)
        return p.error();
    auto m = FileMapping::create(path, p->total_size);
    if (!m)
        return m.error();
    uint8_t *base = m->data();
    Header &h = *detail::header(base);
    h.version_major = kVersionMajor;
    h.version_minor = kVersionMinor;
    h.header_size = sizeof(Header);
    h.total_size = p->total_size;
    h.page_size = params.page_size;
    h.n_slots = params.n_slots;
    h.slot_size = sizeof(Slot);
    h.slots_offset = p->slots_offset;
    h.n_ranges = static_cast<uint32_t>(params.ranges.size());
    h.created_ns = detail::realtime_ns();
    for (uint32_t i = 0; i < h.n_ranges; ++i)
        h.ranges[i] = p->ranges[i];
    const uint64_t initial = pack_request(Request{0, State::running, ResumeKind::none, 0});
    for (uint32_t i = 0; i < h.n_slots; ++i)
        request_of(*detail::slot_at(base, i)).store(initial, std::memory_order_relaxed);
    // The magic last: a concurrent attach sees either no region or a complete one.
    std::atomic_ref<uint64_t>(h.magic).store(kMagic, std::memory_order_release);
    return from_mapping(std::move(m.value()));
}

Result<Host> Host::open(const std::string &path)
{
    auto m = FileMapping::open(path);
    if (!m)
        return m.error();
    return from_mapping(std::move(m.value()));
}

Result<void> Host::unlink()
{
    if (::unlink(map_.path().c_str()) != 0) {
        const int e = errno;
        return make_error(Errc::io, "unlink " + map_.path() + ": " + std::strerror(e), e);
    }
    return {};
}

RangeInfo Host::range(uint32_t i) const noexcept
{
    const detail::RangeView &r = ranges_[i];
    return RangeInfo{r.base, r.length, (r.length + page_size() - 1) >> page_shift_, r.n_words};
}

uint32_t Host::n_slots() const noexcept { return n_slots_; }
uint64_t Host::total_size() const noexcept { return total_size_; }

Slot *Host::slot_ptr(uint32_t i) const noexcept { return slots_ + i; }

uint64_t Host::heartbeat() noexcept
{
    Header &h = *detail::header(map_.data());
    std::atomic_ref<uint64_t>(h.heartbeat_ns).store(detail::monotonic_ns(), std::memory_order_relaxed);
    return std::atomic_ref<uint64_t>(h.host_generation).fetch_add(1, std::memory_order_release) + 1;
}

Result<uint32_t> Host::find_slot(std::string_view identity) const
{
    for (uint32_t i = 0; i < n_slots(); ++i) {
        Slot &s = *slot_ptr(i);
        if (std::atomic_ref<uint32_t>(s.claim).load(std::memory_order_acquire) ==
                static_cast<uint32_t>(SlotClaim::claimed) &&
            load_text(s.identity) == identity)
            return i;
    }
    return make_error(Errc::not_found, "no slot claimed by '" + std::string(identity) + "'");
}

Result<SlotStatus> Host::slot_status(uint32_t slot) const
{
    if (slot >= n_slots())
        return make_error(Errc::invalid_argument,
                          "slot " + std::to_string(slot) + " out of range (n_slots " + std::to_string(n_slots()) + ")");
    Slot &s = *slot_ptr(slot);
    auto ld = [](uint64_t &v) { return std::atomic_ref<uint64_t>(v).load(std::memory_order_relaxed); };
    SlotStatus st{};
    st.index = slot;
    st.claimed = std::atomic_ref<uint32_t>(s.claim).load(std::memory_order_acquire) ==
                 static_cast<uint32_t>(SlotClaim::claimed);
    st.owner_pid = std::atomic_ref<uint32_t>(s.owner_pid).load(std::memory_order_relaxed);
    st.identity = load_text(s.identity);
    st.report = unpack_report(std::atomic_ref<uint64_t>(s.report).load(std::memory_order_acquire));
    st.request = unpack_request(request_of(s).load(std::memory_order_relaxed));
    st.request_ns = ld(s.request_ns);
    st.ack_ns = ld(s.ack_ns);
    st.counters = Counters{ld(s.pages_logged), ld(s.migrations_done), ld(s.last_quiesce_ns),
                           ld(s.last_restart_ns), ld(s.frames_dropped),
                           std::atomic_ref<uint32_t>(s.log_errors).load(std::memory_order_acquire)};
    st.last_error = std::atomic_ref<int32_t>(s.last_error).load(std::memory_order_acquire);
    st.error_msg = load_text(s.error_msg);
    return st;
}

Result<void> Host::release_slot(uint32_t slot)
{
    if (slot >= n_slots())
        return make_error(Errc::invalid_argument, "slot " + std::to_string(slot) + " out of range");
    Slot &s = *slot_ptr(slot);
    std::atomic_ref<uint32_t> claim(s.claim);
    uint32_t st = static_cast<uint32_t>(SlotClaim::claimed);
    if (!claim.compare_exchange_strong(st, static_cast<uint32_t>(SlotClaim::busy), std::memory_order_acquire))
        return make_error(Errc::invalid_argument, "slot " + std::to_string(slot) + " is not claimed");
    detail::store_text(s.identity, {});
    std::atomic_ref<uint32_t>(s.owner_pid).store(0, std::memory_order_relaxed);
    claim.store(static_cast<uint32_t>(SlotClaim::free), std::memory_order_release);
    return {};
}

Result<uint32_t> Host::post(uint32_t slot, State state, ResumeKind kind, uint16_t flags)
{
    Slot &s = *slot_ptr(slot);
    auto req = request_of(s);
    uint64_t cur = req.load(std::memory_order_relaxed);
    Request next{};
    do {
        next = Request{unpack_request(cur).generation + 1, state, kind, flags};
    } while (!req.compare_exchange_weak(cur, pack_request(next), std::memory_order_release,
                                        std::memory_order_relaxed));
    std::atomic_ref<uint64_t>(s.request_ns).store(detail::monotonic_ns(), std::memory_order_relaxed);
    if (Header *h = detail::header(map_.data()); h->version_minor >= 3)
        doorbell::ring(&h->host_bell);
    return next.generation;
}

uint32_t Host::report_bell() const noexcept
{
    const Header *h = detail::header(map_.data());
    return h->version_minor >= 3 ? doorbell::value(&h->guest_bell) : 0;
}

void Host::wait_report(uint32_t seen, std::chrono::nanoseconds bound) const noexcept
{
    const Header *h = detail::header(map_.data());
    if (h->version_minor >= 3)
        (void)doorbell::wait(&h->guest_bell, seen, bound);
    else
        std::this_thread::sleep_for(bound);
}

Result<uint32_t> Host::request_state(uint32_t slot, State state, ResumeKind kind)
{
    if (slot >= n_slots())
        return make_error(Errc::invalid_argument, "slot " + std::to_string(slot) + " out of range");
    Slot &s = *slot_ptr(slot);
    const Request cur = unpack_request(request_of(s).load(std::memory_order_relaxed));
    const Report rep = unpack_report(std::atomic_ref<uint64_t>(s.report).load(std::memory_order_acquire));
    const State from = rep.state == State::error ? State::error : cur.state;
    const ResumeKind from_kind = rep.state == State::error ? ResumeKind::none : cur.kind;
    if (!transition_allowed(from, from_kind, state, kind))
        return make_error(Errc::transition_not_allowed,
                          "slot " + std::to_string(slot) + ": transition " + state_name(from) + " -> " +
                              state_name(state) + " (resume_kind " + resume_kind_name(kind) + ") not allowed");
    const bool logging = state == State::pre_copy || state == State::stop_copy;
    const uint16_t flags = static_cast<uint16_t>((cur.flags & ~kRequestLogging) | (logging ? kRequestLogging : 0));
    return post(slot, state, kind, flags);
}

Result<uint32_t> Host::set_logging(uint32_t slot, bool on)
{
    if (slot >= n_slots())
        return make_error(Errc::invalid_argument, "slot " + std::to_string(slot) + " out of range");
    const Request cur = unpack_request(request_of(*slot_ptr(slot)).load(std::memory_order_relaxed));
    const uint16_t flags = static_cast<uint16_t>((cur.flags & ~kRequestLogging) | (on ? kRequestLogging : 0));
    return post(slot, cur.state, cur.kind, flags);
}

Result<void> Host::set_logging_all(bool on)
{
    for (uint32_t i = 0; i < n_slots(); ++i) {
        if (std::atomic_ref<uint32_t>(slot_ptr(i)->claim).load(std::memory_order_acquire) !=
            static_cast<uint32_t>(SlotClaim::claimed))
            continue;
        if (auto r = set_logging(i, on); !r)
            return r.error();
    }
    return {};
}

Result<SlotStatus> Host::wait_ack(uint32_t slot, uint32_t generation, std::chrono::milliseconds timeout) const
{
    if (slot >= n_slots())
        return make_error(Errc::invalid_argument, "slot " + std::to_string(slot) + " out of range");
    Slot &s = *slot_ptr(slot);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::microseconds(20);
    for (;;) {
        const uint32_t bell = report_bell();
        const Report rep = unpack_report(std::atomic_ref<uint64_t>(s.report).load(std::memory_order_acquire));
        if (generation_reached(rep.acked_generation, generation))
            return slot_status(slot);
        if (std::chrono::steady_clock::now() >= deadline) {
            auto st = slot_status(slot);
            return make_error(Errc::timeout, "slot " + std::to_string(slot) + " ('" + st->identity +
                                                 "') did not acknowledge generation " + std::to_string(generation) +
                                                 " within " + std::to_string(timeout.count()) + " ms (acked " +
                                                 std::to_string(rep.acked_generation) + ", reported " +
                                                 state_name(rep.state) + ")");
        }
        /* A driver on this kernel rings at once; one in a VM (no wake crosses) is polled at the
         * backed-off pause. */
        wait_report(bell, std::min<std::chrono::nanoseconds>(pause, deadline - std::chrono::steady_clock::now()));
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
}

Result<void> Host::wait_all_acked(std::chrono::milliseconds timeout) const
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (uint32_t i = 0; i < n_slots(); ++i) {
        Slot &s = *slot_ptr(i);
        if (std::atomic_ref<uint32_t>(s.claim).load(std::memory_order_acquire) !=
            static_cast<uint32_t>(SlotClaim::claimed))
            continue;
        const uint32_t gen = unpack_request(request_of(s).load(std::memory_order_relaxed)).generation;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (auto r = wait_ack(i, gen, std::max(left, std::chrono::milliseconds(0))); !r)
            return r.error();
    }
    return {};
}

Result<uint64_t> Host::get_dirty_bitmap(uint32_t r, std::span<uint64_t> out, ReadMode mode)
{
    if (r >= n_ranges_)
        return make_error(Errc::invalid_argument,
                          "range " + std::to_string(r) + " out of range (n_ranges " + std::to_string(n_ranges_) + ")");
    const detail::RangeView &v = ranges_[r];
    if (out.size() < v.n_words)
        return make_error(Errc::invalid_argument, "bitmap of " + std::to_string(out.size()) + " words is smaller than range " +
                                                      std::to_string(r) + "'s " + std::to_string(v.n_words));
    const FetchScope scope(*this, mode);
    uint64_t n = 0;
    for (uint64_t w = 0; w < v.n_words; ++w) {
        out[w] = read_word(v.words + w, mode);
        n += static_cast<uint64_t>(std::popcount(out[w]));
    }
    return n;
}

void Host::fetch_bump(bool begin) noexcept
{
    Header &h = *detail::header(map_.data());
    std::atomic_ref<uint64_t>(begin ? h.fetch_begin : h.fetch_end).fetch_add(1, std::memory_order_seq_cst);
}

std::vector<uint64_t> Host::dirty_pages(ReadMode mode)
{
    std::vector<uint64_t> pages;
    for_each_dirty(mode, [&](uint64_t gpa) { pages.push_back(gpa); });
    return pages;
}

}  // namespace ixgbevf_lm::region
