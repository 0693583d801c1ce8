/* SPDX-License-Identifier: BSD-3-Clause */
// Concurrency: setters and a fetch-and-clear reader never lose a bit.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ixgbevf_lm/region/guest.h"
#include "ixgbevf_lm/region/host.h"
#include "region_test_util.h"

using namespace ixgbevf_lm::region;
using region_test::TempPath;

namespace {

// The page sequence of setter `t`: a deterministic LCG walk, biased to collide across threads
// and with pages the reader just cleared.
struct Sequence {
    uint64_t x;
    uint64_t next(uint64_t n_pages)
    {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        return (x >> 33) % n_pages;
    }
};

}  // namespace

TEST(migration, ConcurrentSettersNeverLoseABitToAConcurrentFetchAndClear)
{
    TempPath path;
    constexpr uint64_t kPage = 4096;
    constexpr uint64_t kPages0 = 4096;  // range 0: 64 words
    constexpr uint64_t kPages1 = 1000;  // range 1: partial last word
    constexpr uint64_t kBase1 = 1ULL << 32;
    CreateParams p;
    p.ranges = {{0, kPages0 * kPage}, {kBase1, kPages1 * kPage}};
    p.n_slots = 1;
    auto host = Host::create(path.str(), p);
    ASSERT_TRUE(host) << host.error().message;
    auto guest = Guest::attach(path.str());
    ASSERT_TRUE(guest) << guest.error().message;

    constexpr int kSetters = 4;
    constexpr int kMarksPerSetter = 2000000;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);

    std::vector<std::vector<uint8_t>> expected(kSetters, std::vector<uint8_t>(kPages0 + kPages1));
    std::atomic<int> running{kSetters};
    std::atomic<bool> go{false};
    std::vector<std::thread> setters;
    for (int t = 0; t < kSetters; ++t)
        setters.emplace_back([&, t] {
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            Sequence seq{static_cast<uint64_t>(t) * 7919 + 1};
            for (int i = 0; i < kMarksPerSetter; ++i) {
                if ((i & 4095) == 0 && std::chrono::steady_clock::now() > deadline)
                    break;
                const uint64_t page = seq.next(kPages0 + kPages1);
                const uint64_t gpa = page < kPages0 ? page * kPage : kBase1 + (page - kPages0) * kPage;
                if (i % 17 == 0) {
                    const uint64_t n = 1 + (i % 5);  // a multi-page buffer, clipped to the range
                    const uint64_t end_page = page < kPages0 ? kPages0 : kPages0 + kPages1;
                    const uint64_t last = std::min(page + n, end_page);
                    guest->mark_dirty_range(gpa, (last - page) * kPage);
                    for (uint64_t q = page; q < last; ++q)
                        expected[t][q] = 1;
                } else {
                    guest->mark_dirty(gpa + (i % kPage));
                    expected[t][page] = 1;
                }
            }
            running.fetch_sub(1, std::memory_order_release);
        });

    std::vector<uint8_t> fetched(kPages0 + kPages1);
    uint64_t passes = 0;
    auto collect = [&] {
        host->for_each_dirty(ReadMode::clear, [&](uint64_t gpa) {
            const uint64_t page = gpa < kBase1 ? gpa / kPage : kPages0 + (gpa - kBase1) / kPage;
            ASSERT_LT(page, fetched.size());
            fetched[page] = 1;
        });
        ++passes;
    };
    go.store(true, std::memory_order_release);
    while (running.load(std::memory_order_acquire) != 0)
        collect();
    for (auto &t : setters)
        t.join();
    collect();  // the final (stop-copy) pass

    uint64_t n_expected = 0;
    for (uint64_t page = 0; page < kPages0 + kPages1; ++page) {
        uint8_t any = 0;
        for (int t = 0; t < kSetters; ++t)
            any |= expected[t][page];
        n_expected += any;
        ASSERT_EQ(fetched[page], any) << "page " << page << (any ? " set but never fetched" : " fetched but never set");
    }
    EXPECT_GT(n_expected, 0u);
    EXPECT_GT(passes, 1u);
    RecordProperty("fetch_passes", std::to_string(passes));
    EXPECT_EQ(guest->out_of_range_count(), 0u);
    EXPECT_TRUE(host->dirty_pages(ReadMode::no_clear).empty());
}

TEST(migration, ConcurrentClaimsOfDistinctIdentitiesGetDistinctSlots)
{
    TempPath path;
    CreateParams p;
    p.ranges = {{0, 1ULL << 20}};
    p.n_slots = kMaxSlots;
    auto host = Host::create(path.str(), p);
    ASSERT_TRUE(host);
    auto guest = Guest::attach(path.str());
    ASSERT_TRUE(guest);
    std::vector<int> slot_of(kMaxSlots, -1);
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < kMaxSlots; ++t)
        threads.emplace_back([&, t] {
            auto s = guest->claim_slot("net_ixgbevf_lm_sim" + std::to_string(t));
            if (s)
                slot_of[t] = static_cast<int>(s->index());
        });
    for (auto &t : threads)
        t.join();
    std::vector<int> sorted_slots = slot_of;
    std::sort(sorted_slots.begin(), sorted_slots.end());
    for (uint32_t i = 0; i < kMaxSlots; ++i)
        EXPECT_EQ(sorted_slots[i], static_cast<int>(i));
    auto extra = guest->claim_slot("one_too_many");
    ASSERT_FALSE(extra);
    EXPECT_EQ(extra.error().code, Errc::no_free_slot);
}
