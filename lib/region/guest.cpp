/* SPDX-License-Identifier: BSD-3-Clause */
// Guest (driver) side: attach, slot claim, report.
#include <linux/magic.h>
#include <signal.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "ixgbevf_lm/region/doorbell.h"
#include "region_internal.h"

namespace ixgbevf_lm::region {

using detail::load_text;
using detail::make_error;
using detail::store_text;

namespace {

bool process_alive(uint32_t pid)
{
    if (pid == 0)
        return false;
    return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

std::atomic_ref<uint32_t> claim_of(Slot &s) { return std::atomic_ref<uint32_t>(s.claim); }

constexpr auto kFree = static_cast<uint32_t>(SlotClaim::free);
constexpr auto kBusy = static_cast<uint32_t>(SlotClaim::busy);
constexpr auto kClaimed = static_cast<uint32_t>(SlotClaim::claimed);

}  // namespace

Result<Guest> Guest::attach(const std::string &path)
{
    auto m = FileMapping::open(path);
    if (!m)
        return m.error();
    auto g = detail::validate(m->data(), m->size());
    if (!g) {
        Error e = g.error();
        e.message = path + ": " + e.message;
        return e;
    }
    Guest guest;
    guest.map_ = std::move(m.value());
    guest.ranges_ = g->ranges;
    guest.n_ranges_ = g->n_ranges;
    guest.page_shift_ = g->page_shift;
    guest.slots_ = g->slots;
    guest.n_slots_ = g->n_slots;
    if (auto *h = detail::header(guest.map_.data()); h->version_minor >= 1) {
        guest.fetch_begin_ = &h->fetch_begin;
        guest.fetch_end_ = &h->fetch_end;
    }
    if (auto *h = detail::header(guest.map_.data()); h->version_minor >= 3) {
        guest.host_bell_ = &h->host_bell;
        guest.guest_bell_ = &h->guest_bell;
        /* A PCI BAR's sysfs resource file (an ivshmem device): the host is outside this kernel and
         * its futex wakes never arrive here. */
        struct statfs fs {};
        guest.host_wakes_ = statfs(path.c_str(), &fs) != 0 || fs.f_type != SYSFS_MAGIC;
    }
    return guest;
}

Guest::Guest(Guest &&o) noexcept
    : map_(std::move(o.map_)), ranges_(o.ranges_), n_ranges_(o.n_ranges_), page_shift_(o.page_shift_),
      fetch_begin_(o.fetch_begin_), fetch_end_(o.fetch_end_), host_bell_(o.host_bell_), guest_bell_(o.guest_bell_),
      host_wakes_(o.host_wakes_), slots_(o.slots_), n_slots_(o.n_slots_),
      out_of_range_(o.out_of_range_.load(std::memory_order_relaxed))
{
    o.n_ranges_ = 0;
    o.host_bell_ = o.guest_bell_ = nullptr;
    o.n_slots_ = 0;
    o.fetch_begin_ = o.fetch_end_ = nullptr;
}

Guest &Guest::operator=(Guest &&o) noexcept
{
    if (this != &o) {
        map_ = std::move(o.map_);
        ranges_ = o.ranges_;
        n_ranges_ = o.n_ranges_;
        page_shift_ = o.page_shift_;
        fetch_begin_ = o.fetch_begin_;
        fetch_end_ = o.fetch_end_;
        host_bell_ = o.host_bell_;
        guest_bell_ = o.guest_bell_;
        host_wakes_ = o.host_wakes_;
        o.host_bell_ = o.guest_bell_ = nullptr;
        slots_ = o.slots_;
        n_slots_ = o.n_slots_;
        o.n_slots_ = 0;
        o.fetch_begin_ = o.fetch_end_ = nullptr;
        out_of_range_.store(o.out_of_range_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        o.n_ranges_ = 0;
    }
    return *this;
}

RangeInfo Guest::range(uint32_t i) const noexcept
{
    const detail::RangeView &r = ranges_[i];
    return RangeInfo{r.base, r.length, (r.length + page_size() - 1) >> page_shift_, r.n_words};
}

uint32_t Guest::n_slots() const noexcept { return n_slots_; }

uint32_t Guest::request_bell() const noexcept { return host_bell_ != nullptr ? doorbell::value(host_bell_) : 0; }

bool Guest::wait_request(uint32_t seen, std::chrono::nanoseconds bound) const noexcept
{
    if (host_bell_ == nullptr || !host_wakes_)
        return false;
    return doorbell::wait(host_bell_, seen, bound);
}
uint64_t Guest::pages_outside(uint64_t gpa, uint64_t len) const noexcept
{
    if (len == 0)
        return 0;
    const uint64_t last = (len - 1 > UINT64_MAX - gpa) ? UINT64_MAX : gpa + (len - 1);
    uint64_t covered = 0;
    for (uint32_t i = 0; i < n_ranges_; ++i) {
        const detail::RangeView &r = ranges_[i];
        const uint64_t lo = std::max(gpa, r.base);
        const uint64_t hi = std::min(last, r.base + (r.length - 1));
        if (lo <= hi)
            covered += ((hi - r.base) >> page_shift_) - ((lo - r.base) >> page_shift_) + 1;
    }
    const uint64_t total = (last >> page_shift_) - (gpa >> page_shift_) + 1;
    return covered >= total ? 0 : total - covered;
}

uint16_t Guest::version_minor() const noexcept { return detail::header(map_.data())->version_minor; }

uint64_t Guest::host_generation() const noexcept
{
    return std::atomic_ref<uint64_t>(detail::header(map_.data())->host_generation).load(std::memory_order_acquire);
}

Result<GuestSlot> Guest::claim_slot(std::string_view identity)
{
    if (auto r = detail::check_identity(identity); !r)
        return r.error();
    if (!map_.valid())
        return make_error(Errc::invalid_argument, "claim_slot on a moved-from Guest");
    const auto pid = static_cast<uint32_t>(getpid());
    const uint32_t n = n_slots_;

    // Bounded retries: a slot may move between states while we scan.
    for (int attempt = 0; attempt < 64; ++attempt) {
        bool raced = false;
        // 1. Re-claim our own identity (restart, or re-probe in the same process).
        for (uint32_t i = 0; i < n; ++i) {
            Slot &s = slots_[i];
            uint32_t st = claim_of(s).load(std::memory_order_acquire);
            if (st != kClaimed || load_text(s.identity) != identity)
                continue;
            const uint32_t owner = std::atomic_ref<uint32_t>(s.owner_pid).load(std::memory_order_relaxed);
            if (owner != pid && process_alive(owner))
                return make_error(Errc::slot_busy, "identity '" + std::string(identity) + "' is claimed in slot " +
                                                       std::to_string(i) + " by live process " +
                                                       std::to_string(owner));
            if (!claim_of(s).compare_exchange_strong(st, kBusy, std::memory_order_acquire)) {
                raced = true;
                break;
            }
            std::atomic_ref<uint32_t>(s.owner_pid).store(pid, std::memory_order_relaxed);
            std::atomic_ref<uint64_t>(s.claimed_ns).store(detail::monotonic_ns(), std::memory_order_relaxed);
            claim_of(s).store(kClaimed, std::memory_order_release);
            return GuestSlot(&s, i, guest_bell_);
        }
        if (raced)
            continue;
        // 2. A free slot.
        for (uint32_t i = 0; i < n; ++i) {
            Slot &s = slots_[i];
            uint32_t st = kFree;
            if (!claim_of(s).compare_exchange_strong(st, kBusy, std::memory_order_acquire))
                continue;
            store_text(s.identity, identity);
            std::atomic_ref<uint32_t>(s.owner_pid).store(pid, std::memory_order_relaxed);
            std::atomic_ref<uint64_t>(s.claimed_ns).store(detail::monotonic_ns(), std::memory_order_relaxed);
            std::atomic_ref<uint64_t>(s.report).store(pack_report(Report{0, State::unknown, 0}),
                                                      std::memory_order_relaxed);
            for (uint64_t *c : {&s.ack_ns, &s.pages_logged, &s.migrations_done, &s.last_quiesce_ns,
                                &s.last_restart_ns, &s.frames_dropped})
                std::atomic_ref<uint64_t>(*c).store(0, std::memory_order_relaxed);
            std::atomic_ref<int32_t>(s.last_error).store(0, std::memory_order_relaxed);
            std::atomic_ref<uint32_t>(s.log_errors).store(0, std::memory_order_relaxed);
            store_text(s.error_msg, {});
            claim_of(s).store(kClaimed, std::memory_order_release);
            return GuestSlot(&s, i, guest_bell_);
        }
        bool busy = false;
        for (uint32_t i = 0; i < n; ++i)
            busy |= claim_of(slots_[i]).load(std::memory_order_relaxed) == kBusy;
        if (!busy)
            break;
    }
    return make_error(Errc::no_free_slot, "no free slot for identity '" + std::string(identity) + "' (all " +
                                              std::to_string(n) + " slots claimed)");
}

Result<void> Guest::release_slot(GuestSlot &slot)
{
    if (!slot.valid())
        return make_error(Errc::invalid_argument, "release_slot: slot view is not valid");
    Slot &s = *slot.slot_;
    uint32_t st = kClaimed;
    if (!claim_of(s).compare_exchange_strong(st, kBusy, std::memory_order_acquire))
        return make_error(Errc::invalid_argument, "release_slot: slot " + std::to_string(slot.index_) +
                                                      " is not claimed");
    store_text(s.identity, {});
    std::atomic_ref<uint32_t>(s.owner_pid).store(0, std::memory_order_relaxed);
    claim_of(s).store(kFree, std::memory_order_release);
    slot = GuestSlot();
    return {};
}

std::string GuestSlot::identity() const { return load_text(slot_->identity); }

void GuestSlot::report(State state, uint32_t acked_generation, bool logging_active,
                       bool log_incomplete) noexcept
{
    std::atomic_ref<uint64_t>(slot_->ack_ns).store(detail::monotonic_ns(), std::memory_order_relaxed);
    const uint16_t flags = uint16_t((logging_active ? kReportLoggingActive : 0) |
                                    (log_incomplete ? kReportLogIncomplete : 0));
    std::atomic_ref<uint64_t>(slot_->report)
        .store(pack_report(Report{acked_generation, state, flags}), std::memory_order_release);
    if (bell_ != nullptr)
        doorbell::ring(bell_);
}

void GuestSlot::add_pages_logged(uint64_t n) noexcept
{
    std::atomic_ref<uint64_t>(slot_->pages_logged).fetch_add(n, std::memory_order_relaxed);
}
void GuestSlot::add_frames_dropped(uint64_t n) noexcept
{
    std::atomic_ref<uint64_t>(slot_->frames_dropped).fetch_add(n, std::memory_order_relaxed);
}
void GuestSlot::add_log_errors(uint64_t n) noexcept
{
    std::atomic_ref<uint32_t> c(slot_->log_errors);
    uint32_t v = c.load(std::memory_order_relaxed);
    const uint32_t next = n >= uint64_t(UINT32_MAX - v) ? UINT32_MAX : v + uint32_t(n);
    c.store(next, std::memory_order_release);  // one writer: the slot's driver
}
void GuestSlot::count_migration() noexcept
{
    std::atomic_ref<uint64_t>(slot_->migrations_done).fetch_add(1, std::memory_order_relaxed);
}
void GuestSlot::set_last_quiesce_ns(uint64_t ns) noexcept
{
    std::atomic_ref<uint64_t>(slot_->last_quiesce_ns).store(ns, std::memory_order_relaxed);
}
void GuestSlot::set_last_restart_ns(uint64_t ns) noexcept
{
    std::atomic_ref<uint64_t>(slot_->last_restart_ns).store(ns, std::memory_order_relaxed);
}

Counters GuestSlot::counters() const noexcept
{
    auto ld = [](uint64_t &v) { return std::atomic_ref<uint64_t>(v).load(std::memory_order_relaxed); };
    return Counters{ld(slot_->pages_logged), ld(slot_->migrations_done), ld(slot_->last_quiesce_ns),
                    ld(slot_->last_restart_ns), ld(slot_->frames_dropped),
                    std::atomic_ref<uint32_t>(slot_->log_errors).load(std::memory_order_relaxed)};
}

void GuestSlot::set_error(int code, std::string_view message) noexcept
{
    store_text(slot_->error_msg, message);
    std::atomic_ref<int32_t>(slot_->last_error).store(code, std::memory_order_release);
}

}  // namespace ixgbevf_lm::region
