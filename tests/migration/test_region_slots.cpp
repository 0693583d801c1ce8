/* SPDX-License-Identifier: BSD-3-Clause */
// Per-port slots: claim/reclaim, requests and acks, the state machine, counters and errors.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <cstddef>

#include <gtest/gtest.h>

#include "ixgbevf_lm/region/guest.h"
#include "ixgbevf_lm/region/host.h"
#include "ixgbevf_lm_region.h"
#include "region_test_util.h"

using namespace ixgbevf_lm::region;
using namespace std::chrono_literals;
using region_test::TempPath;

namespace {

struct Pair {
    Host host;
    Guest guest;
};

Pair make_pair(const TempPath &path, uint32_t n_slots = 4)
{
    CreateParams p;
    p.ranges = {{0, 1ULL << 30}};
    p.n_slots = n_slots;
    auto h = Host::create(path.str(), p);
    EXPECT_TRUE(h) << h.error().message;
    auto g = Guest::attach(path.str());
    EXPECT_TRUE(g) << g.error().message;
    return Pair{std::move(h.value()), std::move(g.value())};
}

// The driver's side of one request: poll, act (nothing here), report the state reached.
Request serve(GuestSlot &s)
{
    const Request r = s.poll_request();
    s.acknowledge(r, r.state, r.logging());
    return r;
}

// Request `state` from the host, let the driver serve it, and check the host sees the ack.
void round_trip(Host &h, GuestSlot &s, State state, ResumeKind kind = ResumeKind::none)
{
    auto g = h.request_state(s.index(), state, kind);
    ASSERT_TRUE(g) << g.error().message;
    const Request r = serve(s);
    EXPECT_EQ(r.generation, g.value());
    EXPECT_EQ(r.state, state);
    EXPECT_EQ(r.kind, kind);
    auto st = h.wait_ack(s.index(), g.value(), 1000ms);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(st->report.state, state);
    EXPECT_EQ(st->report.acked_generation, g.value());
}

}  // namespace

TEST(migration, ClaimGivesEachIdentityItsOwnSlotFoundByTheHost)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto a = guest.claim_slot("0000:00:04.0");
    auto b = guest.claim_slot("net_ixgbevf_lm_sim0");
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_NE(a->index(), b->index());
    EXPECT_EQ(a->identity(), "0000:00:04.0");
    EXPECT_EQ(host.find_slot("0000:00:04.0").value(), a->index());
    EXPECT_EQ(host.find_slot("net_ixgbevf_lm_sim0").value(), b->index());
    auto none = host.find_slot("0000:00:05.0");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::not_found);
    auto st = host.slot_status(a->index());
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->claimed);
    EXPECT_EQ(st->owner_pid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(st->report.state, State::unknown);
}

TEST(migration, ClaimRejectsEmptyOverlongOrNonPrintableIdentity)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    for (std::string bad : {std::string(), std::string(kIdentityLen, 'a'), std::string("a b"), std::string("a\nb")}) {
        auto s = guest.claim_slot(bad);
        ASSERT_FALSE(s) << bad;
        EXPECT_EQ(s.error().code, Errc::invalid_argument);
    }
    EXPECT_TRUE(guest.claim_slot(std::string(kIdentityLen - 1, 'a')));
}

TEST(migration, ReclaimingOwnIdentityReturnsTheSameSlotWithItsCounters)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto a = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(a);
    a->count_migration();
    auto again = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->index(), a->index());
    EXPECT_EQ(again->counters().migrations_done, 1u);
}

TEST(migration, ReclaimAfterTheOwnerProcessDiedIsAllowed)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto g = Guest::attach(path.str());
        _exit(g && g->claim_slot("0000:00:04.0") ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const uint32_t slot = host.find_slot("0000:00:04.0").value();
    EXPECT_EQ(host.slot_status(slot)->owner_pid, static_cast<uint32_t>(child));

    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->index(), slot);
    EXPECT_EQ(host.slot_status(slot)->owner_pid, static_cast<uint32_t>(getpid()));
}

TEST(migration, IdentityHeldByAnotherLiveProcessIsBusy)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s);
    // Pretend pid 1 (always alive) holds it.
    const uint64_t off = sizeof(Header) + s->index() * sizeof(Slot) + offsetof(Slot, owner_pid);
    region_test::patch<uint32_t>(path.str(), off, 1);
    auto again = guest.claim_slot("0000:00:04.0");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::slot_busy);
    EXPECT_EQ(again.error().to_errno(), -EBUSY);
    EXPECT_NE(again.error().message.find("live process 1"), std::string::npos) << again.error().message;
}

TEST(migration, ClaimFailsWhenEverySlotIsTakenAndSucceedsAfterARelease)
{
    TempPath path;
    auto [host, guest] = make_pair(path, 2);
    auto a = guest.claim_slot("a");
    auto b = guest.claim_slot("b");
    ASSERT_TRUE(a && b);
    auto c = guest.claim_slot("c");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, Errc::no_free_slot);
    EXPECT_EQ(c.error().to_errno(), -ENOSPC);
    const uint32_t freed = a->index();
    ASSERT_TRUE(guest.release_slot(a.value()));
    EXPECT_FALSE(a->valid());
    EXPECT_FALSE(host.find_slot("a"));
    c = guest.claim_slot("c");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->index(), freed);
    // The host can free a slot of a dead guest too.
    ASSERT_TRUE(host.release_slot(b->index()));
    EXPECT_TRUE(guest.claim_slot("d"));
}

TEST(migration, EachRequestBumpsTheGenerationAndTheDriverAcksIt)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s);
    const Request initial = s->poll_request();
    EXPECT_EQ(initial.generation, 0u);
    EXPECT_EQ(initial.state, State::running);
    EXPECT_FALSE(initial.logging());

    auto g1 = host.request_state(s->index(), State::pre_copy);
    ASSERT_TRUE(g1);
    EXPECT_EQ(g1.value(), 1u);
    const Request r = s->poll_request();
    EXPECT_EQ(r.generation, 1u);
    EXPECT_EQ(r.state, State::pre_copy);
    EXPECT_TRUE(r.logging());
    EXPECT_GT(host.slot_status(s->index())->request_ns, 0u);

    // Not acked yet: the host sees the old generation.
    EXPECT_FALSE(generation_reached(host.slot_status(s->index())->report.acked_generation, 1));
    s->acknowledge(r, State::pre_copy, true);
    auto st = host.wait_ack(s->index(), 1, 1000ms);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_TRUE(st->report.logging_active());
    EXPECT_GT(st->ack_ns, 0u);

    // A re-sent request is a new generation with the same meaning.
    auto g2 = host.request_state(s->index(), State::pre_copy);
    ASSERT_TRUE(g2);
    EXPECT_EQ(g2.value(), 2u);
}

TEST(migration, WaitAckTimesOutWithAMessageNamingSlotAndGenerations)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s);
    auto g = host.request_state(s->index(), State::stop_copy);
    ASSERT_TRUE(g);
    const auto t0 = std::chrono::steady_clock::now();
    auto st = host.wait_ack(s->index(), g.value(), 20ms);
    ASSERT_FALSE(st);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
    EXPECT_EQ(st.error().code, Errc::timeout);
    EXPECT_EQ(st.error().to_errno(), -ETIMEDOUT);
    EXPECT_NE(st.error().message.find("0000:00:04.0"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("generation 1"), std::string::npos) << st.error().message;
}

TEST(migration, SourceMigrationStatesRoundTripThenAbortResumesOnTheSameVf)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s);
    round_trip(host, s.value(), State::pre_copy);
    EXPECT_TRUE(s->poll_request().logging());
    round_trip(host, s.value(), State::stop_copy);
    EXPECT_TRUE(s->poll_request().logging());
    round_trip(host, s.value(), State::stop);
    EXPECT_FALSE(s->poll_request().logging());
    round_trip(host, s.value(), State::running, ResumeKind::source_abort);
    const Request r = s->poll_request();
    EXPECT_EQ(r.kind, ResumeKind::source_abort);
    EXPECT_FALSE(r.logging());
    auto abort_gen = host.abort_to_running(s->index());  // a re-send of the same request
    ASSERT_TRUE(abort_gen) << abort_gen.error().message;
}

TEST(migration, DestinationResumesThenRunsWithADistinctResumeKind)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s);
    round_trip(host, s.value(), State::pre_copy);
    round_trip(host, s.value(), State::stop_copy);
    round_trip(host, s.value(), State::resuming);
    round_trip(host, s.value(), State::running, ResumeKind::destination);
    EXPECT_EQ(s->poll_request().kind, ResumeKind::destination);
    // A normal running slot can start another migration.
    round_trip(host, s.value(), State::running);
    round_trip(host, s.value(), State::pre_copy);
}

TEST(migration, TransitionsOutsideTheTableAreRefused)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s);
    const uint32_t i = s->index();
    auto bad = host.request_state(i, State::stop);  // RUNNING -> STOP
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::transition_not_allowed);
    EXPECT_NE(bad.error().message.find("RUNNING -> STOP"), std::string::npos) << bad.error().message;
    EXPECT_FALSE(host.request_state(i, State::error));
    EXPECT_FALSE(host.request_state(i, State::running, ResumeKind::destination));
    EXPECT_FALSE(host.request_state(i, State::pre_copy, ResumeKind::source_abort));
    ASSERT_TRUE(host.request_state(i, State::resuming));
    EXPECT_FALSE(host.request_state(i, State::running, ResumeKind::source_abort));  // must be DESTINATION
    EXPECT_FALSE(host.request_state(i, State::running));
    ASSERT_TRUE(host.request_state(i, State::running, ResumeKind::destination));
    ASSERT_TRUE(host.request_state(i, State::stop_copy));
    EXPECT_FALSE(host.request_state(i, State::running));                            // must say which resume
    EXPECT_FALSE(host.request_state(i, State::running, ResumeKind::destination));   // no RESUMING yet
    EXPECT_FALSE(host.request_state(i, State::pre_copy));
    // Only the refused requests left the generation alone.
    EXPECT_EQ(s->poll_request().generation, 3u);
}

TEST(migration, DriverReportedErrorAllowsRecoveryRequests)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s);
    round_trip(host, s.value(), State::pre_copy);
    auto g = host.request_state(s->index(), State::stop_copy);
    ASSERT_TRUE(g);
    s->set_error(-ETIMEDOUT, "rx queue 3 did not drain within 100 ms");
    s->report(State::error, g.value(), false);
    auto st = host.wait_ack(s->index(), g.value(), 1000ms);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->report.state, State::error);
    EXPECT_EQ(st->last_error, -ETIMEDOUT);
    EXPECT_EQ(st->error_msg, "rx queue 3 did not drain within 100 ms");
    ASSERT_TRUE(host.abort_to_running(s->index()));
    s->clear_error();
    EXPECT_EQ(host.slot_status(s->index())->last_error, 0);
    EXPECT_EQ(host.slot_status(s->index())->error_msg, "");
}

TEST(migration, DriverCountersAndTruncatedErrorMessagesReachTheHost)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s);
    s->add_pages_logged(10);
    s->add_pages_logged(5);
    s->add_frames_dropped(3);
    s->count_migration();
    s->set_last_quiesce_ns(1234);
    s->set_last_restart_ns(5678);
    s->set_error(-EIO, std::string(200, 'x'));
    auto st = host.slot_status(s->index());
    ASSERT_TRUE(st);
    EXPECT_EQ(st->counters.pages_logged, 15u);
    EXPECT_EQ(st->counters.frames_dropped, 3u);
    EXPECT_EQ(st->counters.migrations_done, 1u);
    EXPECT_EQ(st->counters.last_quiesce_ns, 1234u);
    EXPECT_EQ(st->counters.last_restart_ns, 5678u);
    EXPECT_EQ(st->error_msg, std::string(kErrorMsgLen - 1, 'x'));
    EXPECT_FALSE(host.slot_status(kMaxSlots));
}

TEST(migration, StartAndStopLoggingPostNewGenerationsForClaimedSlots)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto a = guest.claim_slot("a");
    auto b = guest.claim_slot("b");
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(host.set_logging_all(true));
    for (GuestSlot *s : {&a.value(), &b.value()}) {
        const Request r = s->poll_request();
        EXPECT_EQ(r.generation, 1u);
        EXPECT_EQ(r.state, State::running);
        EXPECT_TRUE(r.logging());
    }
    EXPECT_FALSE(host.wait_all_acked(10ms));
    serve(a.value());
    serve(b.value());
    auto all = host.wait_all_acked(1000ms);
    EXPECT_TRUE(all) << all.error().message;
    EXPECT_TRUE(host.slot_status(a->index())->report.logging_active());
    auto g = host.set_logging(a->index(), false);
    ASSERT_TRUE(g);
    EXPECT_EQ(g.value(), 2u);
    EXPECT_FALSE(a->poll_request().logging());
    EXPECT_TRUE(b->poll_request().logging());
}

TEST(migration, HostHeartbeatIsVisibleToTheGuest)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    EXPECT_EQ(guest.host_generation(), 0u);
    EXPECT_EQ(host.heartbeat(), 1u);
    EXPECT_EQ(host.heartbeat(), 2u);
    EXPECT_EQ(guest.host_generation(), 2u);
}

TEST(migration, PackedRequestAndReportWordsRoundTrip)
{
    const Request r{0xfffffffeu, State::stop_copy, ResumeKind::destination, kRequestLogging};
    const Request u = unpack_request(pack_request(r));
    EXPECT_EQ(u.generation, r.generation);
    EXPECT_EQ(u.state, r.state);
    EXPECT_EQ(u.kind, r.kind);
    EXPECT_EQ(u.flags, r.flags);
    const Report p{7, State::resuming, kReportLoggingActive};
    const Report q = unpack_report(pack_report(p));
    EXPECT_EQ(q.acked_generation, 7u);
    EXPECT_EQ(q.state, State::resuming);
    EXPECT_TRUE(q.logging_active());
    EXPECT_TRUE(generation_reached(1, 0xffffffffu));  // wrap-around
    EXPECT_FALSE(generation_reached(0xffffffffu, 1));
}

// Layout 1.2: an ack that carries kReportLogIncomplete is an error the host cannot miss: the
// status shows it with the slot's failure count, and the C ABI's wait_ack returns -ENODATA.
TEST(migration, AnAckWithAnIncompleteLogIsAnErrorForTheHost)
{
    TempPath path;
    auto [host, guest] = make_pair(path);
    auto s = guest.claim_slot("0000:00:04.0");
    ASSERT_TRUE(s) << s.error().message;
    auto g = host.request_state(s->index(), State::pre_copy);
    ASSERT_TRUE(g);
    s->report(State::pre_copy, g.value(), true);
    g = host.request_state(s->index(), State::stop_copy);
    ASSERT_TRUE(g);
    s->add_log_errors(3);
    s->set_error(-EIO, "dirty log incomplete: 3 page marks outside the region's ranges");
    s->report(State::stop_copy, g.value(), true, /*log_incomplete=*/true);
    auto st = host.wait_ack(s->index(), g.value(), 100ms);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->report.log_incomplete());
    EXPECT_TRUE(st->report.logging_active());
    EXPECT_EQ(st->counters.log_errors, 3u);

    ixgbevf_lm_region *r = nullptr;
    ASSERT_EQ(ixgbevf_lm_region_open(path.str().c_str(), &r), 0);
    EXPECT_EQ(ixgbevf_lm_region_wait_ack(r, s->index(), g.value(), 100), -ENODATA);
    EXPECT_NE(std::string(ixgbevf_lm_region_last_error()).find("outside"), std::string::npos)
        << ixgbevf_lm_region_last_error();
    uint32_t incomplete = 0;
    uint64_t errors = 0;
    ASSERT_EQ(ixgbevf_lm_region_slot_log_status(r, s->index(), &incomplete, &errors), 0);
    EXPECT_EQ(incomplete, 1u);
    EXPECT_EQ(errors, 3u);
    uint32_t abort_gen = 0;
    ASSERT_EQ(ixgbevf_lm_region_abort(r, s->index(), &abort_gen), 0);
    s->report(State::running, abort_gen, false);
    EXPECT_EQ(ixgbevf_lm_region_wait_ack(r, s->index(), abort_gen, 100), 0);
    ASSERT_EQ(ixgbevf_lm_region_slot_log_status(r, s->index(), &incomplete, nullptr), 0);
    EXPECT_EQ(incomplete, 0u);
    ixgbevf_lm_region_close(r);
}
