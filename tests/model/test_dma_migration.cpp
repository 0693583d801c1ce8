/* SPDX-License-Identifier: BSD-3-Clause
 * DmaSpace (mappings, bounds, ground-truth dirty log, freeze) and moving a VF between PF models.
 */
#include <algorithm>
#include <atomic>
#include <set>

#include "model_harness.h"

using namespace mt;
using namespace ixgbevf_lm::hw;

namespace {

TEST(DmaSpace, MapRejectsOverlapAndEmptyRanges) {
  std::vector<uint8_t> a(8192), b(8192);
  DmaSpace d;
  std::string why;
  EXPECT_TRUE(d.map(0x10000, a.data(), a.size()));
  EXPECT_FALSE(d.map(0x11000, b.data(), b.size(), &why));
  EXPECT_NE(why.find("overlap"), std::string::npos);
  EXPECT_FALSE(d.map(0x20000, b.data(), 0));
  EXPECT_TRUE(d.map(0x12000, b.data(), b.size()));
  EXPECT_EQ(d.host_address(0x12010), b.data() + 0x10);
  EXPECT_EQ(d.host_address(0x14000), nullptr);
  EXPECT_TRUE(d.unmap(0x12000));
  EXPECT_EQ(d.host_address(0x12010), nullptr);
}

TEST(DmaSpace, AccessCrossingTheEndOfAMappingFailsWholeAndIsCounted) {
  std::vector<uint8_t> a(4096, 0x11);
  DmaSpace d;
  ASSERT_TRUE(d.map(0x10000, a.data(), a.size()));
  uint8_t buf[16];
  std::memset(buf, 0xAB, sizeof buf);
  EXPECT_FALSE(d.write(0x10ff8, buf, 16));
  EXPECT_EQ(a[0xff8], 0x11) << "nothing transferred";
  EXPECT_FALSE(d.read(0x0fff8, buf, 16));
  EXPECT_EQ(d.faults(), 2u);
  EXPECT_EQ(d.last_fault().iova, 0x0fff8u);
  EXPECT_FALSE(d.last_fault().write);
  EXPECT_TRUE(d.write(0x10ff0, buf, 16));
  EXPECT_EQ(d.bytes_written(), 16u);
}

TEST(DmaSpace, DirtyLogIsExactlyThePagesWritten) {
  std::vector<uint8_t> a(64 * 4096), b(8 * 4096);
  DmaSpace d;
  ASSERT_TRUE(d.map(0x100000, a.data(), a.size()));
  ASSERT_TRUE(d.map(0x900000, b.data(), b.size()));
  uint8_t buf[8192] = {};
  d.write(0x100000 + 5 * 4096 + 100, buf, 8);          /* page 5 */
  d.write(0x100000 + 9 * 4096 + 4000, buf, 200);        /* pages 9 and 10 */
  d.write(0x900000 + 7 * 4096, buf, 4096);              /* last page of b */
  d.write32_release(0x100000 + 63 * 4096 + 4092, 1);   /* page 63 */
  d.read(0x100000 + 20 * 4096, buf, 100);               /* reads do not dirty */
  std::vector<uint64_t> want = {0x100000 + 5 * 4096, 0x100000 + 9 * 4096, 0x100000 + 10 * 4096,
                                0x100000 + 63 * 4096, 0x900000 + 7 * 4096};
  EXPECT_EQ(d.dirty_pages(), want);
  EXPECT_EQ(d.fetch_and_clear_dirty(), want);
  EXPECT_TRUE(d.dirty_pages().empty());
  d.set_dirty_tracking(false);
  d.write(0x100000, buf, 8);
  EXPECT_TRUE(d.dirty_pages().empty());
}

TEST(DmaSpace, DeviceWritesOfTheModelAreAllInTheDirtyLog) {
  GuestMem mem;
  auto pf = PfModel::create(single_cfg("dirty"));
  Vf a(pf, mem, 0), b(pf, mem, 1);
  ASSERT_TRUE(a.up());
  ASSERT_TRUE(b.up());
  a.setup_tx(0, 32);
  b.setup_rx(0, 32);
  mem.dma->fetch_and_clear_dirty();
  FrameSpec s;
  s.dst = b.mac();
  s.src = a.mac();
  a.send(0, make_frame(s));
  a.settle();
  std::set<uint64_t> want = {b.rx[0].bufs[0] & ~4095ull, b.rx[0].ring & ~4095ull, a.tx[0].ring & ~4095ull};
  auto got = mem.dma->dirty_pages();
  EXPECT_EQ(std::set<uint64_t>(got.begin(), got.end()), want);
}

TEST(DmaSpace, FreezeHoldsOffDeviceWritesUntilReleased) {
  std::vector<uint8_t> a(4096);
  auto d = std::make_shared<DmaSpace>();
  ASSERT_TRUE(d->map(0x1000, a.data(), a.size()));
  std::atomic<bool> done{false};
  std::thread writer;
  {
    auto lock = d->freeze();
    writer = std::thread([&] {
      uint32_t v = 7;
      d->write(0x1000, &v, 4);
      done = true;
    });
    /* the writer cannot finish while the gate is held: observe for a bounded number of spins */
    for (int i = 0; i < 100000 && !done; i++)
      std::this_thread::yield();
    EXPECT_FALSE(done.load());
    EXPECT_TRUE(d->dirty_pages().empty()) << "the log is readable by the freezing thread";
  }
  writer.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(a[0], 7);
}

TEST(VfPort, DetachedPortReadsAllOnesAndDropsWrites) {
  GuestMem mem;
  auto pf = PfModel::create(single_cfg("detach"));
  VfPort port(mem.dma);
  EXPECT_EQ(port.read32(VFLINKS), 0xFFFFFFFFu);
  ASSERT_TRUE(port.attach(pf, 2));
  EXPECT_TRUE(port.attached());
  EXPECT_EQ(port.vf_index(), 2u);
  EXPECT_EQ(&port.dma(), mem.dma.get());
  EXPECT_EQ(pf->free_vf(), 0);
  port.write32(VFRDLEN(0), 4096);
  port.detach();
  EXPECT_EQ(port.read32(VFRDLEN(0)), 0xFFFFFFFFu);
  port.write32(VFRDLEN(0), 8192);
  EXPECT_FALSE(pf->vf_view(2).attached);
}

TEST(VfPort, AttachRefusesMissingOrBusyVf) {
  GuestMem mem;
  auto pf = PfModel::create(single_cfg("busy", 2));
  VfPort p1(mem.dma), p2(mem.dma);
  std::string why;
  EXPECT_FALSE(p1.attach(pf, 5, &why));
  EXPECT_FALSE(why.empty());
  ASSERT_TRUE(p1.attach(pf, 0));
  EXPECT_FALSE(p2.attach(pf, 0, &why));
  EXPECT_NE(why.find("already"), std::string::npos);
}

/* Source host and destination host: the guest's port moves to a fresh VF on another PF model
 * while the source PF's other VF keeps running; the same guest memory is used throughout. */
TEST(VfPort, MovesToAFreshVfOnAnotherPfModel) {
  GuestMem mem;
  auto src = PfModel::create(single_cfg("src-host"));
  auto dst = PfModel::create(single_cfg("dst-host"));
  Vf guest(src, mem, 0);
  Vf other(src, mem, 1);
  ASSERT_TRUE(guest.up());
  ASSERT_TRUE(other.up());
  MacAddr guest_mac = guest.mac();
  guest.setup_rx(0, 32);
  other.setup_tx(0, 32);
  FrameSpec s;
  s.dst = guest_mac;
  s.src = other.mac();
  other.send(0, make_frame(s));
  std::vector<uint8_t> got;
  ASSERT_TRUE(guest.rx_wait(0, &got));

  guest.port.detach();
  EXPECT_EQ(guest.rd(VFRDH(0)), 0xFFFFFFFFu);
  other.send(0, make_frame(s)); /* the source keeps running; the frame has nowhere to go */
  other.settle();
  EXPECT_EQ(src->stats().unknown_destination_drops, 1u);

  dst->set_vf_mac(3, guest_mac);
  ASSERT_TRUE(guest.port.attach(dst, 3));
  guest.pf = dst;
  EXPECT_EQ(guest.rd(VFRXDCTL(0)) & RXDCTL_ENABLE, 0u) << "fresh VF in reset state";
  EXPECT_FALSE(dst->vf_view(3).clear_to_send);
  auto r = guest.reset();
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0], VF_RESET | VT_MSGTYPE_ACK);
  MacAddr m;
  std::memcpy(m.data(), &r[1], 6);
  EXPECT_EQ(m, guest_mac);
  /* traffic on the destination reaches the guest's memory */
  guest.setup_rx(0, 32);
  Vf peer(dst, mem, 0);
  ASSERT_TRUE(peer.up());
  peer.setup_tx(0, 32);
  s.src = peer.mac();
  peer.send(0, make_frame(s));
  ASSERT_TRUE(guest.rx_wait(0, &got));
}

TEST(Threaded, ModelThreadIdlesWithoutWorkAndStillAnswers) {
  GuestMem mem;
  PfConfig c;
  c.name = "idle";
  auto pf = PfModel::create(c);
  Vf vf(pf, mem, 0);
  ASSERT_TRUE(vf.up());
  /* after an idle stretch measured by CPU time, the model thread must still answer promptly */
  timespec t0, t1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  auto w0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - w0 < std::chrono::milliseconds(200))
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); /* idle period, not synchronisation */
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  double cpu = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  EXPECT_LT(cpu, 0.15) << "the idle model thread must not spin a whole core";
  auto r = vf.call({VF_GET_QUEUES}, kGetQueuesReplyWords);
  ASSERT_FALSE(r.empty());
  EXPECT_TRUE(r[0] & VT_MSGTYPE_ACK);
}

}  // namespace
