/* SPDX-License-Identifier: BSD-3-Clause */
// Dirty bitmap: guest marking, host fetch-and-clear and no-clear reads.
#include <algorithm>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "ixgbevf_lm/region/guest.h"
#include "ixgbevf_lm/region/host.h"
#include "region_test_util.h"

using namespace ixgbevf_lm::region;
using region_test::TempPath;

namespace {

constexpr uint64_t kMiB = 1ULL << 20;
constexpr uint64_t kGiB = 1ULL << 30;

struct Pair {
    Host host;
    Guest guest;
};

Pair make_pair(const TempPath &path, uint64_t page_size, std::vector<RangeSpec> ranges)
{
    CreateParams p;
    p.page_size = page_size;
    p.ranges = std::move(ranges);
    p.n_slots = 2;
    auto h = Host::create(path.str(), p);
    EXPECT_TRUE(h) << h.error().message;
    auto g = Guest::attach(path.str());
    EXPECT_TRUE(g) << g.error().message;
    return Pair{std::move(h.value()), std::move(g.value())};
}

std::vector<uint64_t> sorted(std::vector<uint64_t> v)
{
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST(migration, FetchAndClearReturnsExactlyTheMarkedPagesThenNothing)
{
    TempPath path;
    auto [host, guest] = make_pair(path, 4096, {{0, 1 * kGiB}, {4 * kGiB, 64 * kMiB}});
    const std::vector<uint64_t> pages = {0, 4096, 63 * 4096, 64 * 4096, kGiB - 4096, 4 * kGiB, 4 * kGiB + 5 * 4096};
    for (uint64_t gpa : pages) {
        EXPECT_TRUE(guest.mark_dirty(gpa + 123)) << gpa;  // any byte of the page
        EXPECT_TRUE(guest.mark_dirty(gpa));               // marking twice is harmless
    }
    EXPECT_EQ(sorted(host.dirty_pages(ReadMode::clear)), pages);
    EXPECT_TRUE(host.dirty_pages(ReadMode::clear).empty());
    EXPECT_EQ(guest.out_of_range_count(), 0u);
}

TEST(migration, ReadNoClearLeavesTheBitsSet)
{
    TempPath path;
    auto [host, guest] = make_pair(path, 4096, {{1 * kMiB, 16 * kMiB}});
    guest.mark_dirty(1 * kMiB + 8192);
    guest.mark_dirty(17 * kMiB - 1);
    const std::vector<uint64_t> expect = {1 * kMiB + 8192, 17 * kMiB - 4096};
    EXPECT_EQ(sorted(host.dirty_pages(ReadMode::no_clear)), expect);
    EXPECT_EQ(sorted(host.dirty_pages(ReadMode::no_clear)), expect);
    EXPECT_EQ(sorted(host.dirty_pages(ReadMode::clear)), expect);
    EXPECT_TRUE(host.dirty_pages(ReadMode::no_clear).empty());
}

TEST(migration, GetDirtyBitmapFillsACallerBitmapPerRangeVfioStyle)
{
    TempPath path;
    auto [host, guest] = make_pair(path, 4096, {{0, 1 * kMiB}, {2 * kMiB, 1 * kMiB}});
    guest.mark_dirty(0);
    guest.mark_dirty(65 * 4096);
    guest.mark_dirty(2 * kMiB + 3 * 4096);
    std::vector<uint64_t> bm(host.range(0).n_words, ~0ULL);
    ASSERT_EQ(bm.size(), 4u);
    auto n = host.get_dirty_bitmap(0, bm, ReadMode::no_clear);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(n.value(), 2u);
    EXPECT_EQ(bm, (std::vector<uint64_t>{1, 2, 0, 0}));
    n = host.get_dirty_bitmap(1, bm, ReadMode::clear);
    ASSERT_TRUE(n);
    EXPECT_EQ(n.value(), 1u);
    EXPECT_EQ(bm[0], 1ULL << 3);
    n = host.get_dirty_bitmap(1, bm, ReadMode::clear);
    EXPECT_EQ(n.value(), 0u);

    std::vector<uint64_t> small(1);
    auto bad = host.get_dirty_bitmap(0, small, ReadMode::clear);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::invalid_argument);
    EXPECT_FALSE(host.get_dirty_bitmap(2, bm, ReadMode::clear));
}

TEST(migration, AddressesOutsideEveryRangeAreCountedNotLogged)
{
    TempPath path;
    auto [host, guest] = make_pair(path, 4096, {{1 * kMiB, 1 * kMiB}, {4 * kMiB, 1 * kMiB}});
    EXPECT_FALSE(guest.mark_dirty(0));
    EXPECT_FALSE(guest.mark_dirty(2 * kMiB));        // one past the end of range 0
    EXPECT_FALSE(guest.mark_dirty(~0ULL));
    EXPECT_TRUE(guest.mark_dirty(2 * kMiB - 1));     // last byte of range 0
    EXPECT_EQ(guest.out_of_range_count(), 3u);
    // [3 MiB - 8 KiB, 4 MiB + 8 KiB): 256 + 2 pages outside, 2 inside range 1.
    EXPECT_EQ(guest.mark_dirty_range(3 * kMiB - 8192, 1 * kMiB + 16384), 258u);
    EXPECT_EQ(guest.out_of_range_count(), 3u + 258u);
    EXPECT_EQ(sorted(host.dirty_pages(ReadMode::clear)),
              (std::vector<uint64_t>{2 * kMiB - 4096, 4 * kMiB, 4 * kMiB + 4096}));
}

TEST(migration, RangeMarkingCoversEveryPageTouchedAcrossRanges)
{
    TempPath path;
    // Two adjacent ranges: a buffer crossing the boundary is split between their bitmaps.
    auto [host, guest] = make_pair(path, 4096, {{0, 1 * kMiB}, {1 * kMiB, 1 * kMiB}});
    EXPECT_EQ(guest.mark_dirty_range(1 * kMiB - 4096 - 1, 2 * 4096 + 2), 0u);  // 4 pages
    EXPECT_EQ(guest.mark_dirty_range(8192, 1), 0u);
    EXPECT_EQ(guest.mark_dirty_range(8192, 0), 0u);  // empty: nothing
    // A long buffer covering word 1 of range 1 entirely, word 2 and 3 in part.
    EXPECT_EQ(guest.mark_dirty_range(1 * kMiB + 64 * 4096, 150 * 4096), 0u);
    std::set<uint64_t> want = {8192, 1 * kMiB - 8192, 1 * kMiB - 4096, 1 * kMiB, 1 * kMiB + 4096};
    for (uint64_t p = 64; p < 214; ++p)
        want.insert(1 * kMiB + p * 4096);
    const auto got = host.dirty_pages(ReadMode::clear);
    EXPECT_EQ(std::set<uint64_t>(got.begin(), got.end()), want);
    EXPECT_EQ(got.size(), want.size());
}

TEST(migration, TwoMegabytePagesMapEveryAddressOfAHugePageToOneBit)
{
    TempPath path;
    constexpr uint64_t k2M = 2 * kMiB;
    auto [host, guest] = make_pair(path, k2M, {{0, 4 * kGiB}, {8 * kGiB, 1 * kGiB}});
    EXPECT_EQ(guest.page_size(), k2M);
    EXPECT_EQ(guest.range(0).n_pages, 2048u);
    EXPECT_EQ(guest.range(0).n_words, 32u);
    guest.mark_dirty(k2M + 1);
    guest.mark_dirty(2 * k2M - 1);                   // same huge page
    guest.mark_dirty_range(8 * kGiB + k2M - 10, 20); // straddles two huge pages
    EXPECT_EQ(sorted(host.dirty_pages(ReadMode::clear)),
              (std::vector<uint64_t>{k2M, 8 * kGiB, 8 * kGiB + k2M}));
}

TEST(migration, RangeLengthNotAMultipleOfThePageKeepsItsLastPartialPage)
{
    TempPath path;
    auto [host, guest] = make_pair(path, 4096, {{0, 4096 * 64 + 100}});
    EXPECT_EQ(guest.range(0).n_pages, 65u);
    EXPECT_EQ(guest.range(0).n_words, 2u);
    EXPECT_TRUE(guest.mark_dirty(4096 * 64 + 99));
    EXPECT_FALSE(guest.mark_dirty(4096 * 64 + 100));
    EXPECT_EQ(host.dirty_pages(ReadMode::clear), (std::vector<uint64_t>{4096 * 64}));
}

TEST(migration, HostMarkingFromEmulatedDmaIsSeenLikeGuestMarking)
{
    TempPath path;
    auto [host, guest] = make_pair(path, 4096, {{0, 1 * kMiB}});
    EXPECT_EQ(host.mark_dirty_range(4096, 4096), 0u);
    EXPECT_EQ(host.mark_dirty_range(2 * kMiB, 4096), 1u);
    EXPECT_EQ(host.dirty_pages(ReadMode::clear), (std::vector<uint64_t>{4096}));
}

TEST(migration, MovedGuestKeepsMarkingIntoTheSameMapping)
{
    TempPath path;
    auto [host, guest] = make_pair(path, 4096, {{0, 1 * kMiB}});
    guest.mark_dirty(1);
    Guest moved(std::move(guest));
    moved.mark_dirty(4096);
    EXPECT_FALSE(guest.mark_dirty(8192));  // NOLINT(bugprone-use-after-move): moved-from has no ranges
    EXPECT_EQ(sorted(host.dirty_pages(ReadMode::clear)), (std::vector<uint64_t>{0, 4096}));
}
