/* SPDX-License-Identifier: BSD-3-Clause */
// Region creation, attach, and rejection of every malformed header field.
#include <cstddef>
#include <string>

#include <gtest/gtest.h>

#include "ixgbevf_lm/region/guest.h"
#include "ixgbevf_lm/region/host.h"
#include "region_test_util.h"

using namespace ixgbevf_lm::region;
using region_test::patch;
using region_test::TempPath;

namespace {

constexpr uint64_t kGiB = 1ULL << 30;

CreateParams two_ranges()
{
    CreateParams p;
    p.page_size = 4096;
    p.ranges = {{0, 2 * kGiB}, {4 * kGiB, 1 * kGiB}};
    p.n_slots = 4;
    return p;
}

uint64_t range_field(uint32_t i, size_t field_offset)
{
    return offsetof(Header, ranges) + i * sizeof(RangeDesc) + field_offset;
}

// Create a valid region, let `corrupt` patch the file, and return the attach error.
template <class F>
Error attach_error_after(const TempPath &path, F corrupt)
{
    {
        auto h = Host::create(path.str(), two_ranges());
        EXPECT_TRUE(h.has_value()) << h.error().message;
    }
    corrupt();
    auto g = Guest::attach(path.str());
    EXPECT_FALSE(g.has_value());
    if (g.has_value())
        return Error{};
    return g.error();
}

}  // namespace

TEST(migration, CreateThenAttachSeesTheSameGeometry)
{
    TempPath path;
    auto h = Host::create(path.str(), two_ranges());
    ASSERT_TRUE(h) << h.error().message;
    auto g = Guest::attach(path.str());
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_EQ(g->page_size(), 4096u);
    EXPECT_EQ(g->n_slots(), 4u);
    ASSERT_EQ(g->n_ranges(), 2u);
    EXPECT_EQ(g->range(0).gpa_base, 0u);
    EXPECT_EQ(g->range(0).length, 2 * kGiB);
    EXPECT_EQ(g->range(0).n_pages, 2 * kGiB / 4096);
    EXPECT_EQ(g->range(0).n_words, 2 * kGiB / 4096 / 64);
    EXPECT_EQ(g->range(1).gpa_base, 4 * kGiB);
    EXPECT_EQ(g->range(1).n_words, kGiB / 4096 / 64);
    EXPECT_EQ(g->version_minor(), kVersionMinor);
    // The host can re-open what it created.
    auto h2 = Host::open(path.str());
    ASSERT_TRUE(h2) << h2.error().message;
    EXPECT_EQ(h2->total_size(), h->total_size());
}

TEST(migration, CreatedLayoutAlignsSlotsAndBitmapsToCacheLines)
{
    TempPath path;
    CreateParams p;
    p.ranges = {{0, 4096 * 3}, {1ULL << 20, 4096 * 65}, {1ULL << 30, 4096}};
    p.n_slots = 3;
    auto h = Host::create(path.str(), p);
    ASSERT_TRUE(h) << h.error().message;
    const int fd = ::open(path.str().c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    Header hdr{};
    ASSERT_EQ(pread(fd, &hdr, sizeof hdr, 0), static_cast<ssize_t>(sizeof hdr));
    ::close(fd);
    EXPECT_EQ(hdr.slots_offset % kCacheLine, 0u);
    for (uint32_t i = 0; i < hdr.n_ranges; ++i)
        EXPECT_EQ(hdr.ranges[i].bitmap_offset % kCacheLine, 0u) << "range " << i;
    EXPECT_EQ(hdr.ranges[1].n_words, 2u);
    EXPECT_EQ(hdr.total_size % 4096, 0u);
}

TEST(migration, CreateRejectsInvalidParameters)
{
    TempPath path;
    CreateParams p = two_ranges();
    p.page_size = 3000;
    auto h = Host::create(path.str(), p);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, Errc::bad_page_size);

    p = two_ranges();
    p.ranges = {{0, 8192}, {4096, 8192}};
    h = Host::create(path.str(), p);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, Errc::range_overlap);

    p = two_ranges();
    p.ranges.clear();
    h = Host::create(path.str(), p);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, Errc::bad_range_count);

    p = two_ranges();
    p.n_slots = kMaxSlots + 1;
    h = Host::create(path.str(), p);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, Errc::bad_slot_count);

    p = two_ranges();
    p.ranges = {{100, 8192}};
    h = Host::create(path.str(), p);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, Errc::bad_range);
    EXPECT_NE(h.error().message.find("gpa_base"), std::string::npos) << h.error().message;
}

TEST(migration, AttachRejectsBadMagicNamingTheField)
{
    TempPath path;
    Error e = attach_error_after(path, [&] { patch<uint64_t>(path.str(), offsetof(Header, magic), 0x1234); });
    EXPECT_EQ(e.code, Errc::bad_magic);
    EXPECT_NE(e.message.find("magic 0x1234"), std::string::npos) << e.message;
    EXPECT_EQ(e.to_errno(), -EBADMSG);
}

TEST(migration, AttachRejectsUnsupportedMajorVersion)
{
    TempPath path;
    Error e = attach_error_after(path, [&] { patch<uint16_t>(path.str(), offsetof(Header, version_major), 2); });
    EXPECT_EQ(e.code, Errc::bad_version);
    EXPECT_NE(e.message.find("version_major 2"), std::string::npos) << e.message;
    EXPECT_EQ(e.to_errno(), -EPROTONOSUPPORT);
}

TEST(migration, AttachAcceptsNewerMinorVersion)
{
    TempPath path;
    ASSERT_TRUE(Host::create(path.str(), two_ranges()));
    patch<uint16_t>(path.str(), offsetof(Header, version_minor), 7);
    auto g = Guest::attach(path.str());
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_EQ(g->version_minor(), 7);
}

TEST(migration, AttachRejectsTotalSizeLargerThanTheFile)
{
    TempPath path;
    Error e = attach_error_after(path, [&] {
        patch<uint64_t>(path.str(), offsetof(Header, total_size), 1ULL << 40);
    });
    EXPECT_EQ(e.code, Errc::truncated);
    EXPECT_NE(e.message.find("total_size 1099511627776"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsTotalSizeSmallerThanTheHeader)
{
    TempPath path;
    Error e = attach_error_after(path, [&] { patch<uint64_t>(path.str(), offsetof(Header, total_size), 100); });
    EXPECT_EQ(e.code, Errc::bad_total_size);
    EXPECT_NE(e.message.find("total_size 100"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsHeaderSizeBelowTheLayout)
{
    TempPath path;
    Error e = attach_error_after(path, [&] { patch<uint32_t>(path.str(), offsetof(Header, header_size), 64); });
    EXPECT_EQ(e.code, Errc::bad_header_size);
    EXPECT_NE(e.message.find("header_size 64"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsPageSizesThatAreNotPowersOfTwoFrom4K)
{
    for (uint64_t bad : {uint64_t{0}, uint64_t{3000}, uint64_t{2048}, uint64_t{12288}, uint64_t{1} << 31}) {
        SCOPED_TRACE(bad);
        TempPath path;
        Error e = attach_error_after(path, [&] { patch<uint64_t>(path.str(), offsetof(Header, page_size), bad); });
        EXPECT_EQ(e.code, Errc::bad_page_size);
        EXPECT_NE(e.message.find("page_size " + std::to_string(bad)), std::string::npos) << e.message;
    }
}

TEST(migration, AttachRejectsSlotCountOutOfRange)
{
    for (uint32_t bad : {0u, kMaxSlots + 1}) {
        SCOPED_TRACE(bad);
        TempPath path;
        Error e = attach_error_after(path, [&] { patch<uint32_t>(path.str(), offsetof(Header, n_slots), bad); });
        EXPECT_EQ(e.code, Errc::bad_slot_count);
        EXPECT_NE(e.message.find("n_slots " + std::to_string(bad)), std::string::npos) << e.message;
    }
}

TEST(migration, AttachRejectsSlotSizeOfAnotherLayout)
{
    TempPath path;
    Error e = attach_error_after(path, [&] { patch<uint32_t>(path.str(), offsetof(Header, slot_size), 128); });
    EXPECT_EQ(e.code, Errc::bad_slot_layout);
    EXPECT_NE(e.message.find("slot_size 128"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsSlotsOffsetInsideTheHeader)
{
    TempPath path;
    Error e = attach_error_after(path, [&] { patch<uint64_t>(path.str(), offsetof(Header, slots_offset), 64); });
    EXPECT_EQ(e.code, Errc::bad_slot_layout);
    EXPECT_NE(e.message.find("slots_offset 64"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsZeroOrTooManyRanges)
{
    for (uint32_t bad : {0u, kMaxRanges + 1}) {
        SCOPED_TRACE(bad);
        TempPath path;
        Error e = attach_error_after(path, [&] { patch<uint32_t>(path.str(), offsetof(Header, n_ranges), bad); });
        EXPECT_EQ(e.code, Errc::bad_range_count);
        EXPECT_NE(e.message.find("n_ranges " + std::to_string(bad)), std::string::npos) << e.message;
    }
}

TEST(migration, AttachRejectsBitmapOffsetOutsideTheRegion)
{
    TempPath path;
    Error e = attach_error_after(path, [&] {
        patch<uint64_t>(path.str(), range_field(1, offsetof(RangeDesc, bitmap_offset)), 1ULL << 36);
    });
    EXPECT_EQ(e.code, Errc::bitmap_out_of_bounds);
    EXPECT_NE(e.message.find("ranges[1].bitmap_offset 68719476736"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsBitmapOffsetOverlappingTheSlots)
{
    TempPath path;
    Error e = attach_error_after(path, [&] {
        patch<uint64_t>(path.str(), range_field(0, offsetof(RangeDesc, bitmap_offset)), sizeof(Header));
    });
    EXPECT_EQ(e.code, Errc::bitmap_out_of_bounds);
    EXPECT_NE(e.message.find("ranges[0].bitmap_offset"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsBitmapsOverlappingEachOther)
{
    TempPath path;
    uint64_t off0 = 0;
    Error e = attach_error_after(path, [&] {
        const int fd = ::open(path.str().c_str(), O_RDONLY);
        ASSERT_EQ(pread(fd, &off0, 8, static_cast<off_t>(range_field(0, offsetof(RangeDesc, bitmap_offset)))), 8);
        ::close(fd);
        patch<uint64_t>(path.str(), range_field(1, offsetof(RangeDesc, bitmap_offset)), off0 + 64);
    });
    EXPECT_EQ(e.code, Errc::bitmap_out_of_bounds);
    EXPECT_NE(e.message.find("overlaps the bitmap of ranges[0]"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsOverlappingRanges)
{
    TempPath path;
    Error e = attach_error_after(path, [&] {
        patch<uint64_t>(path.str(), range_field(1, offsetof(RangeDesc, gpa_base)), kGiB);
    });
    EXPECT_EQ(e.code, Errc::range_overlap);
    EXPECT_NE(e.message.find("ranges[0]"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("overlaps ranges[1]"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsZeroLengthRange)
{
    TempPath path;
    Error e = attach_error_after(path, [&] {
        patch<uint64_t>(path.str(), range_field(1, offsetof(RangeDesc, length)), 0);
    });
    EXPECT_EQ(e.code, Errc::bad_range);
    EXPECT_NE(e.message.find("ranges[1].length is 0"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsWordCountInconsistentWithLength)
{
    TempPath path;
    Error e = attach_error_after(path, [&] {
        patch<uint64_t>(path.str(), range_field(0, offsetof(RangeDesc, n_words)), 5);
    });
    EXPECT_EQ(e.code, Errc::word_count_mismatch);
    EXPECT_NE(e.message.find("ranges[0].n_words 5"), std::string::npos) << e.message;
}

TEST(migration, AttachRejectsTruncatedFile)
{
    TempPath path;
    uint64_t total = 0;
    {
        auto h = Host::create(path.str(), two_ranges());
        ASSERT_TRUE(h);
        total = h->total_size();
    }
    region_test::truncate_to(path.str(), total - 4096);
    auto g = Guest::attach(path.str());
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, Errc::truncated);
    EXPECT_NE(g.error().message.find("exceeds the file size"), std::string::npos) << g.error().message;

    region_test::truncate_to(path.str(), 100);
    g = Guest::attach(path.str());
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, Errc::truncated);
    EXPECT_NE(g.error().message.find("file size 100"), std::string::npos) << g.error().message;
}

TEST(migration, AttachAcceptsFileLargerThanTheRegionLikeAnIvshmemBar)
{
    TempPath path;
    uint64_t total = 0;
    {
        auto h = Host::create(path.str(), two_ranges());
        ASSERT_TRUE(h);
        total = h->total_size();
    }
    region_test::truncate_to(path.str(), std::bit_ceil(total) * 2);
    auto g = Guest::attach(path.str());
    EXPECT_TRUE(g) << g.error().message;
}

TEST(migration, AttachOfMissingFileReportsTheSystemError)
{
    auto g = Guest::attach("/nonexistent-dir/ixgbevf_lm.region");
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, Errc::io);
    EXPECT_EQ(g.error().to_errno(), -ENOENT);
    EXPECT_NE(g.error().message.find("/nonexistent-dir/ixgbevf_lm.region"), std::string::npos);
}
