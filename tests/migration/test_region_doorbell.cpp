/* SPDX-License-Identifier: BSD-3-Clause */
// Doorbells (layout 1.3): a request wakes a driver blocked on the host's bell, a report wakes a host
// blocked on the driver's, across two processes too; an older layout has none, and its waits poll.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <thread>

#include <gtest/gtest.h>

#include "ixgbevf_lm/region/guest.h"
#include "ixgbevf_lm/region/host.h"
#include "region_test_util.h"

using namespace ixgbevf_lm::region;
using namespace std::chrono_literals;
using region_test::TempPath;
using Clock = std::chrono::steady_clock;

namespace {

// Longer than any test here may take: a wait that ends by its bound is a wake that never came.
constexpr auto kBound = 20s;

Host create(const TempPath &path)
{
    CreateParams p;
    p.ranges = {{0, 1ULL << 30}};
    p.n_slots = 2;
    auto h = Host::create(path.str(), p);
    EXPECT_TRUE(h) << h.error().message;
    return std::move(h.value());
}

}  // namespace

TEST(migration, ARequestWakesTheDriverBlockedOnTheHostsDoorbell)
{
    TempPath path;
    Host host = create(path);
    auto guest = Guest::attach(path.str());
    ASSERT_TRUE(guest) << guest.error().message;
    auto slot = guest->claim_slot("0000:00:04.0");
    ASSERT_TRUE(slot) << slot.error().message;
    ASSERT_TRUE(guest->host_wakes());

    const uint32_t seen = guest->request_bell();
    std::atomic<bool> woke{false};
    Clock::duration waited{};
    std::thread driver([&] {
        const auto t = Clock::now();
        woke = guest->wait_request(seen, kBound);
        waited = Clock::now() - t;
    });
    auto g = host.request_state(slot->index(), State::pre_copy);
    ASSERT_TRUE(g) << g.error().message;
    driver.join();
    EXPECT_TRUE(woke.load());
    EXPECT_LT(waited, kBound / 2);
    EXPECT_NE(guest->request_bell(), seen);
    EXPECT_EQ(slot->poll_request().generation, g.value());
}

TEST(migration, DoorbellsWakeADriverAndAHostInTwoProcesses)
{
    TempPath path;
    Host host = create(path);
    int claimed[2];
    ASSERT_EQ(pipe(claimed), 0);

    // The driver in another process: it claims its slot, says so, blocks on the host's bell until
    // the request comes, then acknowledges it.
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(claimed[0]);
        auto guest = Guest::attach(path.str());
        if (!guest)
            _exit(2);
        auto s = guest->claim_slot("net_ixgbevf_lm_sim0");
        if (!s || !guest->host_wakes())
            _exit(3);
        const uint32_t seen = guest->request_bell();
        const char c = 1;
        if (write(claimed[1], &c, 1) != 1)
            _exit(4);
        if (!guest->wait_request(seen, kBound))
            _exit(5);  // no wake within the bound
        const Request r = s->poll_request();
        s->acknowledge(r, r.state, true);
        _exit(0);
    }
    close(claimed[1]);
    char c = 0;
    ASSERT_EQ(read(claimed[0], &c, 1), 1);  // the slot is claimed
    close(claimed[0]);
    auto slot = host.find_slot("net_ixgbevf_lm_sim0");
    ASSERT_TRUE(slot);
    const uint32_t seen = host.report_bell();
    auto g = host.request_state(slot.value(), State::stop_copy);
    ASSERT_TRUE(g);
    const auto t = Clock::now();
    while (host.report_bell() == seen && Clock::now() - t < kBound)
        host.wait_report(seen, kBound);
    const auto waited = Clock::now() - t;
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(host.report_bell(), seen);
    EXPECT_LT(waited, kBound / 2);
    auto st = host.slot_status(slot.value());
    ASSERT_TRUE(st);
    EXPECT_EQ(st->report.acked_generation, g.value());
    EXPECT_EQ(st->report.state, State::stop_copy);
}

TEST(migration, ALayoutWithoutDoorbellsIsPolledAndNeverWaitedOn)
{
    TempPath path;
    Host host = create(path);
    region_test::patch<uint16_t>(path.str(), offsetof(Header, version_minor), 2);
    auto guest = Guest::attach(path.str());
    ASSERT_TRUE(guest);
    EXPECT_FALSE(guest->host_wakes());
    EXPECT_EQ(guest->request_bell(), 0u);
    const auto t = Clock::now();
    EXPECT_FALSE(guest->wait_request(0, kBound));  // returns at once: the caller polls
    EXPECT_LT(Clock::now() - t, kBound / 2);
    // The host does not ring a 1.2 layout's reserved bytes.
    auto slot = guest->claim_slot("0000:00:04.0");
    ASSERT_TRUE(slot);
    ASSERT_TRUE(host.request_state(slot->index(), State::pre_copy));
    EXPECT_EQ(guest->request_bell(), 0u);
    EXPECT_EQ(host.report_bell(), 0u);
}
