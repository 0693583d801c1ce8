/* SPDX-License-Identifier: BSD-3-Clause
 * The verification arithmetic: pending |= truth; pending -= reported, at the coarser page size.
 */
#include <gtest/gtest.h>

#include <ixgbevf_lm/hypervisor/migrator.h>
#include <ixgbevf_lm/hypervisor/verifier.h>

using ixgbevf_lm::hv::DirtyVerifier;
using ixgbevf_lm::hv::Migrator;

TEST(HypervisorVerifier, PageReportedInSameRoundIsNotMissed)
{
  DirtyVerifier v(4096, 4096);
  std::vector<uint64_t> truth{0x10000, 0x11000};
  std::vector<uint64_t> rep{0x10000, 0x11000, 0x12000};
  auto rc = v.round(truth, rep);
  EXPECT_EQ(rc.truth_pages, 2u);
  EXPECT_EQ(rc.reported_pages, 3u);
  EXPECT_EQ(v.pending(), 0u);
}

TEST(HypervisorVerifier, PageReportedInALaterRoundLeavesPending)
{
  DirtyVerifier v(4096, 4096);
  std::vector<uint64_t> truth{0x10000};
  v.round(truth, {});
  EXPECT_EQ(v.pending(), 1u);
  std::vector<uint64_t> rep{0x10000};
  v.round({}, rep);
  EXPECT_EQ(v.pending(), 0u);
}

TEST(HypervisorVerifier, ReportBeforeTheLastWriteDoesNotCoverIt)
{
  DirtyVerifier v(4096, 4096);
  std::vector<uint64_t> p{0x10000};
  v.round(p, p);        /* written and reported */
  v.round(p, {});       /* written again, not reported */
  EXPECT_EQ(v.pending(), 1u);
  EXPECT_EQ(v.pending_pages(4), std::vector<uint64_t>{0x10000});
}

TEST(HypervisorVerifier, NeverWrittenPagesReportedAreOverReportNotMisses)
{
  DirtyVerifier v(4096, 4096);
  std::vector<uint64_t> truth{0x1000};
  std::vector<uint64_t> rep{0x1000, 0x2000, 0x3000, 0x4000};
  v.round(truth, rep);
  EXPECT_EQ(v.pending(), 0u);
  EXPECT_EQ(v.total_truth(), 1u);
  EXPECT_EQ(v.total_reported(), 4u);
}

TEST(HypervisorVerifier, TruthPagesMapToTheLargerRegionPage)
{
  DirtyVerifier v(2u << 20, 4096);  /* region: 2 MiB pages, truth: 4 KiB */
  EXPECT_EQ(v.compare_page_size(), 2u << 20);
  std::vector<uint64_t> truth{0x200000, 0x201000, 0x3ff000, 0x400000};
  std::vector<uint64_t> rep{0x200000};
  auto rc = v.round(truth, rep);
  EXPECT_EQ(rc.truth_pages, 2u);  /* three 4 KiB pages in the first 2 MiB page, one in the next */
  EXPECT_EQ(v.pending(), 1u);
  EXPECT_EQ(v.pending_pages(4), std::vector<uint64_t>{0x400000});
}

TEST(HypervisorVerifier, RegionPagesMapToTheLargerTruthPage)
{
  DirtyVerifier v(4096, 2u << 20);  /* truth coarser than the region */
  std::vector<uint64_t> truth{0x200000};
  std::vector<uint64_t> rep{0x3ff000};
  v.round(truth, rep);
  EXPECT_EQ(v.pending(), 0u);
}

TEST(HypervisorVerifier, RejectsPageSizesThatAreNotPowersOfTwo)
{
  EXPECT_THROW(DirtyVerifier(3000, 4096), std::invalid_argument);
}

TEST(HypervisorVerifier, ModelledTransferTimeAtLinkSpeed)
{
  /* 1 GiB at 10 Gb/s: 2^30 * 8 / 1e10 s = 858.99 ms. */
  EXPECT_NEAR(Migrator::transfer_ms(262144, 4096, 10.0), 858.993, 0.01);
  EXPECT_EQ(Migrator::transfer_ms(100, 4096, 0.0), 0.0);
}
