/* SPDX-License-Identifier: BSD-3-Clause */
// C ABI over region::Host. No exception crosses it: every entry point catches and maps to errno.
#include "ixgbevf_lm_region.h"

#include <cerrno>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "ixgbevf_lm/region/host.h"

using namespace ixgbevf_lm::region;

struct ixgbevf_lm_region {
    Host host;
};

namespace {

thread_local std::string t_last_error;

int fail(const Error &e)
{
    t_last_error = e.message;
    return e.to_errno();
}

int fail(int err, const char *msg)
{
    t_last_error = msg;
    return err;
}

template <class F>
auto guarded(F &&f) noexcept -> decltype(f())
{
    try {
        t_last_error.clear();
        return f();
    } catch (const std::bad_alloc &) {
        return fail(-ENOMEM, "out of memory");
    } catch (const std::exception &e) {
        return fail(-EIO, e.what());
    } catch (...) {
        return fail(-EIO, "unknown exception");
    }
}

template <size_t N>
void copy_str(char (&dst)[N], const std::string &s)
{
    const size_t n = s.size() < N - 1 ? s.size() : N - 1;
    std::memcpy(dst, s.data(), n);
    dst[n] = '\0';
}

int logging(ixgbevf_lm_region *r, int slot, bool on, uint32_t *generation)
{
    if (r == nullptr)
        return fail(-EINVAL, "null region handle");
    if (slot == IXGBEVF_LM_REGION_ALL_SLOTS) {
        if (auto res = r->host.set_logging_all(on); !res)
            return fail(res.error());
        if (generation != nullptr)
            *generation = 0;
        return 0;
    }
    if (slot < 0)
        return fail(-EINVAL, "slot must be >= 0 or IXGBEVF_LM_REGION_ALL_SLOTS");
    auto res = r->host.set_logging(static_cast<uint32_t>(slot), on);
    if (!res)
        return fail(res.error());
    if (generation != nullptr)
        *generation = res.value();
    return 0;
}

}  // namespace

extern "C" {

int ixgbevf_lm_region_create(const char *path, uint64_t page_size, const struct ixgbevf_lm_region_range *ranges,
                             uint32_t n_ranges, uint32_t n_slots, ixgbevf_lm_region **out)
{
    return guarded([&]() -> int {
        if (path == nullptr || out == nullptr || (ranges == nullptr && n_ranges != 0))
            return fail(-EINVAL, "null path, ranges or out");
        *out = nullptr;
        CreateParams p;
        p.page_size = page_size;
        p.n_slots = n_slots;
        for (uint32_t i = 0; i < n_ranges; ++i)
            p.ranges.push_back(RangeSpec{ranges[i].gpa_base, ranges[i].length});
        auto h = Host::create(path, p);
        if (!h)
            return fail(h.error());
        *out = new ixgbevf_lm_region{std::move(h.value())};
        return 0;
    });
}

int ixgbevf_lm_region_open(const char *path, ixgbevf_lm_region **out)
{
    return guarded([&]() -> int {
        if (path == nullptr || out == nullptr)
            return fail(-EINVAL, "null path or out");
        *out = nullptr;
        auto h = Host::open(path);
        if (!h)
            return fail(h.error());
        *out = new ixgbevf_lm_region{std::move(h.value())};
        return 0;
    });
}

void ixgbevf_lm_region_close(ixgbevf_lm_region *r) { delete r; }

int ixgbevf_lm_region_destroy(ixgbevf_lm_region *r)
{
    return guarded([&]() -> int {
        if (r == nullptr)
            return fail(-EINVAL, "null region handle");
        auto res = r->host.unlink();
        delete r;
        return res ? 0 : fail(res.error());
    });
}

uint64_t ixgbevf_lm_region_page_size(const ixgbevf_lm_region *r) { return r ? r->host.page_size() : 0; }
uint32_t ixgbevf_lm_region_n_ranges(const ixgbevf_lm_region *r) { return r ? r->host.n_ranges() : 0; }
uint32_t ixgbevf_lm_region_n_slots(const ixgbevf_lm_region *r) { return r ? r->host.n_slots() : 0; }

int ixgbevf_lm_region_range_info(const ixgbevf_lm_region *r, uint32_t range, struct ixgbevf_lm_region_range_info *out)
{
    return guarded([&]() -> int {
        if (r == nullptr || out == nullptr)
            return fail(-EINVAL, "null region handle or out");
        if (range >= r->host.n_ranges())
            return fail(-EINVAL, "range index out of bounds");
        const RangeInfo i = r->host.range(range);
        *out = {i.gpa_base, i.length, i.n_pages, i.n_words};
        return 0;
    });
}

uint64_t ixgbevf_lm_region_heartbeat(ixgbevf_lm_region *r) { return r ? r->host.heartbeat() : 0; }

int ixgbevf_lm_region_find_slot(const ixgbevf_lm_region *r, const char *identity)
{
    return guarded([&]() -> int {
        if (r == nullptr || identity == nullptr)
            return fail(-EINVAL, "null region handle or identity");
        auto s = r->host.find_slot(identity);
        return s ? static_cast<int>(s.value()) : fail(s.error());
    });
}

int ixgbevf_lm_region_slot_status(const ixgbevf_lm_region *r, uint32_t slot, struct ixgbevf_lm_region_slot_status *out)
{
    return guarded([&]() -> int {
        if (r == nullptr || out == nullptr)
            return fail(-EINVAL, "null region handle or out");
        auto s = r->host.slot_status(slot);
        if (!s)
            return fail(s.error());
        const SlotStatus &st = s.value();
        std::memset(out, 0, sizeof *out);
        out->index = st.index;
        out->claimed = st.claimed ? 1 : 0;
        out->owner_pid = st.owner_pid;
        copy_str(out->identity, st.identity);
        out->requested_state = static_cast<uint32_t>(st.request.state);
        out->resume_kind = static_cast<uint32_t>(st.request.kind);
        out->request_generation = st.request.generation;
        out->logging_requested = st.request.logging() ? 1 : 0;
        out->reported_state = static_cast<uint32_t>(st.report.state);
        out->acked_generation = st.report.acked_generation;
        out->logging_active = st.report.logging_active() ? 1 : 0;
        out->last_error = st.last_error;
        out->request_ns = st.request_ns;
        out->ack_ns = st.ack_ns;
        out->pages_logged = st.counters.pages_logged;
        out->migrations_done = st.counters.migrations_done;
        out->last_quiesce_ns = st.counters.last_quiesce_ns;
        out->last_restart_ns = st.counters.last_restart_ns;
        out->frames_dropped = st.counters.frames_dropped;
        copy_str(out->error_msg, st.error_msg);
        return 0;
    });
}

int ixgbevf_lm_region_release_slot(ixgbevf_lm_region *r, uint32_t slot)
{
    return guarded([&]() -> int {
        if (r == nullptr)
            return fail(-EINVAL, "null region handle");
        auto res = r->host.release_slot(slot);
        return res ? 0 : fail(res.error());
    });
}

int ixgbevf_lm_region_request_state(ixgbevf_lm_region *r, uint32_t slot, enum ixgbevf_lm_region_state state,
                                    enum ixgbevf_lm_region_resume_kind kind, uint32_t *generation)
{
    return guarded([&]() -> int {
        if (r == nullptr)
            return fail(-EINVAL, "null region handle");
        if (static_cast<unsigned>(state) >= kStateCount || static_cast<unsigned>(kind) > 2)
            return fail(-EINVAL, "state or resume kind out of range");
        auto g = r->host.request_state(slot, static_cast<State>(state), static_cast<ResumeKind>(kind));
        if (!g)
            return fail(g.error());
        if (generation != nullptr)
            *generation = g.value();
        return 0;
    });
}

int ixgbevf_lm_region_start_logging(ixgbevf_lm_region *r, int slot, uint32_t *generation)
{
    return guarded([&]() -> int { return logging(r, slot, true, generation); });
}

int ixgbevf_lm_region_stop_logging(ixgbevf_lm_region *r, int slot, uint32_t *generation)
{
    return guarded([&]() -> int { return logging(r, slot, false, generation); });
}

int ixgbevf_lm_region_wait_ack(const ixgbevf_lm_region *r, uint32_t slot, uint32_t generation, uint32_t timeout_ms)
{
    return guarded([&]() -> int {
        if (r == nullptr)
            return fail(-EINVAL, "null region handle");
        auto s = r->host.wait_ack(slot, generation, std::chrono::milliseconds(timeout_ms));
        if (!s)
            return fail(s.error());
        if (s->report.log_incomplete()) {
            t_last_error = "slot " + std::to_string(slot) + " ('" + s->identity + "') acknowledged generation " +
                           std::to_string(s->report.acked_generation) + " with an incomplete dirty log (" +
                           std::to_string(s->counters.log_errors) + " failures to log" +
                           (s->error_msg.empty() ? "" : ", last: " + s->error_msg) +
                           "): treat all memory as dirty or cancel";
            return -ENODATA;
        }
        return 0;
    });
}

int ixgbevf_lm_region_abort(ixgbevf_lm_region *r, uint32_t slot, uint32_t *generation)
{
    return guarded([&]() -> int {
        if (r == nullptr)
            return fail(-EINVAL, "null region handle");
        auto g = r->host.abort_to_running(slot);
        if (!g)
            return fail(g.error());
        if (generation != nullptr)
            *generation = g.value();
        return 0;
    });
}

int ixgbevf_lm_region_slot_log_status(const ixgbevf_lm_region *r, uint32_t slot, uint32_t *log_incomplete,
                                      uint64_t *log_errors)
{
    return guarded([&]() -> int {
        if (r == nullptr)
            return fail(-EINVAL, "null region handle");
        auto s = r->host.slot_status(slot);
        if (!s)
            return fail(s.error());
        if (log_incomplete != nullptr)
            *log_incomplete = s->report.log_incomplete() ? 1 : 0;
        if (log_errors != nullptr)
            *log_errors = s->counters.log_errors;
        return 0;
    });
}

int64_t ixgbevf_lm_region_get_dirty_bitmap(ixgbevf_lm_region *r, uint32_t range, uint64_t *bitmap, uint64_t n_words,
                                           uint32_t flags)
{
    return guarded([&]() -> int64_t {
        if (r == nullptr || bitmap == nullptr)
            return fail(-EINVAL, "null region handle or bitmap");
        const ReadMode mode = (flags & IXGBEVF_LM_REGION_NO_CLEAR) ? ReadMode::no_clear : ReadMode::clear;
        auto n = r->host.get_dirty_bitmap(range, std::span<uint64_t>(bitmap, n_words), mode);
        return n ? static_cast<int64_t>(n.value()) : fail(n.error());
    });
}

int64_t ixgbevf_lm_region_for_each_dirty(ixgbevf_lm_region *r, uint32_t flags, void (*fn)(uint64_t gpa, void *arg),
                                         void *arg)
{
    return guarded([&]() -> int64_t {
        if (r == nullptr || fn == nullptr)
            return fail(-EINVAL, "null region handle or callback");
        const ReadMode mode = (flags & IXGBEVF_LM_REGION_NO_CLEAR) ? ReadMode::no_clear : ReadMode::clear;
        return static_cast<int64_t>(r->host.for_each_dirty(mode, [&](uint64_t gpa) { fn(gpa, arg); }));
    });
}

uint64_t ixgbevf_lm_region_mark_dirty(ixgbevf_lm_region *r, uint64_t gpa, uint64_t len)
{
    return r ? r->host.mark_dirty_range(gpa, len) : 0;
}

const char *ixgbevf_lm_region_strerror(int err)
{
    switch (-err) {
    case 0: return "success";
    case EBADMSG: return "malformed migration region";
    case EPROTONOSUPPORT: return "unsupported migration region layout version";
    case ENOSPC: return "no free slot in the migration region";
    case EBUSY: return "identity claimed by a live process";
    case ENOENT: return "not found";
    case ETIMEDOUT: return "no acknowledgement before the timeout";
    case EPERM: return "state transition not allowed";
    case ENODATA: return "acknowledged with an incomplete dirty log: treat all memory as dirty";
    case EINVAL: return "invalid argument";
    default: return std::strerror(-err);
    }
}

const char *ixgbevf_lm_region_last_error(void) { return t_last_error.c_str(); }

}  // extern "C"
