/* SPDX-License-Identifier: BSD-3-Clause
 * shmdev::GuestRam: QEMU's x86 RAM layouts, GPA translation bounds, the errors of a bad RAM file,
 * and the model's DMA reaching the file at guest-physical addresses with its dirty log.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include <ixgbevf_lm/shmdev/guest_ram.h>

using namespace ixgbevf_lm;
using shmdev::Machine;

namespace {

constexpr uint64_t kMiB = 1ULL << 20, kGiB = 1ULL << 30;

struct TempFile {
  std::string path;
  explicit TempFile(uint64_t size) {
    char tmpl[] = "/tmp/ixlm-guestram-XXXXXX";
    int fd = mkstemp(tmpl);
    path = tmpl;
    if (fd >= 0) {
      EXPECT_EQ(ftruncate(fd, off_t(size)), 0);
      close(fd);
    }
  }
  ~TempFile() { unlink(path.c_str()); }
};

TEST(GuestRamLayout, Q35KeepsSmallRamBelow4G) {
  auto l = shmdev::ram_layout(Machine::q35, kGiB);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].gpa, 0u);
  EXPECT_EQ(l[0].len, kGiB);
}

TEST(GuestRamLayout, Q35SplitsAt2GFrom2Point75G) {
  auto below = shmdev::ram_layout(Machine::q35, 0xB0000000 - 4096);
  ASSERT_EQ(below.size(), 1u);
  auto l = shmdev::ram_layout(Machine::q35, 4 * kGiB);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].len, 2 * kGiB);
  EXPECT_EQ(l[1].gpa, 4 * kGiB);
  EXPECT_EQ(l[1].offset, 2 * kGiB);
  EXPECT_EQ(l[1].len, 2 * kGiB);
}

TEST(GuestRamLayout, PcSplitsAt3GFrom3Point5G) {
  EXPECT_EQ(shmdev::ram_layout(Machine::pc, 0xE0000000 - 4096).size(), 1u);
  auto l = shmdev::ram_layout(Machine::pc, 4 * kGiB);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].len, 3 * kGiB);
  EXPECT_EQ(l[1].gpa, 4 * kGiB);
  EXPECT_EQ(l[1].len, kGiB);
}

TEST(GuestRam, RefusesMissingShortAndUnalignedFiles) {
  std::string why;
  EXPECT_EQ(shmdev::GuestRam::open("/nonexistent/ram", Machine::q35, 0, &why), nullptr);
  EXPECT_NE(why.find("cannot open"), std::string::npos) << why;
  TempFile f(16 * kMiB);
  why.clear();
  EXPECT_EQ(shmdev::GuestRam::open(f.path, Machine::q35, 32 * kMiB, &why), nullptr);
  EXPECT_NE(why.find("memory-backend size"), std::string::npos) << why;
  why.clear();
  EXPECT_EQ(shmdev::GuestRam::open(f.path, Machine::q35, 16 * kMiB + 1, &why), nullptr);
  EXPECT_NE(why.find("multiple of 4 KiB"), std::string::npos) << why;
}

TEST(GuestRam, TranslatesOnlyInsideRam) {
  TempFile f(16 * kMiB);
  std::string why;
  auto g = shmdev::GuestRam::open(f.path, Machine::q35, 0, &why);
  ASSERT_NE(g, nullptr) << why;
  uint64_t off = 0;
  EXPECT_TRUE(g->offset_of(16 * kMiB - 4096, 4096, &off));
  EXPECT_EQ(off, 16 * kMiB - 4096);
  EXPECT_FALSE(g->offset_of(16 * kMiB - 4096, 4097, &off));
  EXPECT_FALSE(g->offset_of(4 * kGiB, 1, &off));
  EXPECT_FALSE(g->offset_of(~0ULL, 2, &off));
}

TEST(GuestRam, DeviceDmaLandsAtItsGpaAndIsLogged) {
  TempFile f(16 * kMiB), d(16 * kMiB);
  std::string why;
  auto g = shmdev::GuestRam::open(f.path, Machine::q35, 0, &why);
  auto dst = shmdev::GuestRam::open(d.path, Machine::q35, 0, &why);
  ASSERT_TRUE(g && dst) << why;
  model::DmaSpace dma;
  ASSERT_TRUE(g->map_into(dma, &why)) << why;
  dma.set_dirty_tracking(true);
  const char msg[] = "written by the device";
  ASSERT_TRUE(dma.write(0x123000 + 8, msg, sizeof msg));
  EXPECT_EQ(std::memcmp(g->base() + 0x123000 + 8, msg, sizeof msg), 0);
  EXPECT_FALSE(dma.write(16 * kMiB - 4, msg, sizeof msg));  /* crosses the end of RAM */
  EXPECT_EQ(dma.faults(), 1u);
  auto pages = dma.fetch_and_clear_dirty();
  ASSERT_EQ(pages, std::vector<uint64_t>{0x123000});
  EXPECT_EQ(g->copy_pages_to(*dst, pages, &why), 1u) << why;
  EXPECT_EQ(std::memcmp(dst->base() + 0x123000, g->base() + 0x123000, 4096), 0);
}

}  // namespace
