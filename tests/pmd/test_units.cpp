/* SPDX-License-Identifier: BSD-3-Clause
 * Pure pieces of the PMD: the PCI driver-list takeover, devargs parsing, multicast hashing, IDs.
 */
#include <sys/queue.h>

#include <gtest/gtest.h>
#include <bus_pci_driver.h>

#include <ixgbevf_lm/hw/hw.h>

#include "ixgbevf_lm_config.h"
#include "ixgbevf_lm_devargs.h"
#include "ixgbevf_lm_mbx.h"
#include "ixgbevf_lm_takeover.h"

namespace ixgbevf_lm::pmd {
uint16_t mc_hash(uint32_t filter_type, const rte_ether_addr &a);
}
extern "C" const struct rte_pci_id ixgbevf_lm_pci_ids[];

using namespace ixgbevf_lm::pmd;

namespace {

struct FakeDrv {
  int pad;
  TAILQ_ENTRY(FakeDrv) next;
  const char *name;
};
TAILQ_HEAD(FakeList, FakeDrv);
struct FNext {
  auto &operator()(FakeDrv *d) const { return d->next; }
};
struct FName {
  const char *operator()(FakeDrv *d) const { return d->name; }
};

std::vector<std::string> names(FakeList &l) {
  std::vector<std::string> v;
  FakeDrv *d;
  TAILQ_FOREACH(d, &l, next) v.push_back(d->name);
  return v;
}

}  // namespace

TEST(Takeover, MovesOurDriverAheadOfTheVictimWithoutTheListHead) {
  FakeList l;
  TAILQ_INIT(&l);
  FakeDrv a{0, {}, "net_a"}, v{0, {}, "net_ixgbe_vf"}, b{0, {}, "net_b"}, ours{0, {}, "net_ixgbevf_lm"};
  for (FakeDrv *d : {&a, &v, &b, &ours})
    TAILQ_INSERT_TAIL(&l, d, next);
  TakeoverList<FakeDrv, FNext, FName> t;
  EXPECT_EQ(reinterpret_cast<void *>(t.find_head(&ours)), reinterpret_cast<void *>(&l));
  ASSERT_TRUE(t.move_before(&ours, "net_ixgbe_vf"));
  EXPECT_EQ(names(l), (std::vector<std::string>{"net_a", "net_ixgbevf_lm", "net_ixgbe_vf", "net_b"}));
  /* the list stays consistent: tail insert and reverse walk */
  FakeDrv c{0, {}, "net_c"};
  TAILQ_INSERT_TAIL(&l, &c, next);
  EXPECT_EQ(TAILQ_LAST(&l, FakeList), &c);
  EXPECT_EQ(names(l).size(), 5u);
}

TEST(Takeover, VictimFirstInListAndAbsentVictim) {
  FakeList l;
  TAILQ_INIT(&l);
  FakeDrv v{0, {}, "net_ixgbe_vf"}, ours{0, {}, "net_ixgbevf_lm"};
  TAILQ_INSERT_TAIL(&l, &v, next);
  TAILQ_INSERT_TAIL(&l, &ours, next);
  TakeoverList<FakeDrv, FNext, FName> t;
  EXPECT_FALSE(t.move_before(&ours, "net_other"));
  ASSERT_TRUE(t.move_before(&ours, "net_ixgbe_vf"));
  EXPECT_EQ(names(l), (std::vector<std::string>{"net_ixgbevf_lm", "net_ixgbe_vf"}));
  EXPECT_EQ(TAILQ_LAST(&l, FakeList), &v);
  /* once ahead, a second call changes nothing (we are no longer last) */
  EXPECT_FALSE(t.move_before(&ours, "net_ixgbe_vf"));
}

TEST(Takeover, OnlyEntryIsItsOwnList) {
  FakeList l;
  TAILQ_INIT(&l);
  FakeDrv ours{0, {}, "net_ixgbevf_lm"};
  TAILQ_INSERT_TAIL(&l, &ours, next);
  TakeoverList<FakeDrv, FNext, FName> t;
  EXPECT_FALSE(t.move_before(&ours, "net_ixgbe_vf"));
  EXPECT_EQ(names(l), (std::vector<std::string>{"net_ixgbevf_lm"}));
}

TEST(Devargs, ParsesEverySimKey) {
  Devargs d;
  std::string err;
  ASSERT_EQ(parse_devargs_string("pf=p1,vf=3,mac=02:00:00:00:00:aa,uplink=tap:t0,dirty_log=bitmap,recover=app,"
                                 "mig_region=/dev/shm/x,tx_head_wb=1",
                                 true, &d, &err),
            0)
      << err;
  EXPECT_EQ(d.pf, "p1");
  EXPECT_EQ(d.vf, 3);
  EXPECT_TRUE(d.has_mac);
  EXPECT_EQ(d.mac[5], 0xaa);
  EXPECT_EQ(d.uplink, "tap:t0");
  EXPECT_EQ(d.mig.dirty_log, mig::DirtyLogMode::bitmap);
  EXPECT_EQ(d.mig.recover, mig::RecoverMode::app);
  EXPECT_EQ(d.mig.region_path, "/dev/shm/x");
  EXPECT_EQ(d.mig.effective_mode(), mig::DirtyLogMode::bitmap);
  EXPECT_TRUE(d.tx_head_wb);
  ASSERT_EQ(parse_devargs_string("tx_head_wb=0", false, &d, &err), 0) << err;
  EXPECT_FALSE(d.tx_head_wb);
}

TEST(Devargs, ErrorsNameTheKeyAndValue) {
  Devargs d;
  std::string err;
  EXPECT_NE(parse_devargs_string("pf=p1,vf=0,colour=red", true, &d, &err), 0);
  EXPECT_NE(err.find("colour=red"), std::string::npos) << err;
  EXPECT_NE(parse_devargs_string("pf=p1,vf=0,mac=02:00:00:00:00", true, &d, &err), 0);
  EXPECT_NE(err.find("mac=02:00:00:00:00"), std::string::npos) << err;
  EXPECT_NE(parse_devargs_string("pf=p1,vf=0,mac=01:00:00:00:00:01", true, &d, &err), 0);
  EXPECT_NE(err.find("mac="), std::string::npos) << err;
  EXPECT_NE(parse_devargs_string("pf=p1,vf=x", true, &d, &err), 0);
  EXPECT_NE(err.find("vf=x"), std::string::npos) << err;
  EXPECT_NE(parse_devargs_string("pf=p1,vf=0,dirty_log=maybe", true, &d, &err), 0);
  EXPECT_NE(err.find("dirty_log=maybe"), std::string::npos) << err;
  EXPECT_NE(parse_devargs_string("tx_head_wb=yes", false, &d, &err), 0);
  EXPECT_NE(err.find("tx_head_wb=yes"), std::string::npos) << err;
  EXPECT_NE(parse_devargs_string("vf=0", true, &d, &err), 0);
  EXPECT_NE(err.find("pf="), std::string::npos) << err;
  /* the PCI driver takes only the migration keys */
  EXPECT_NE(parse_devargs_string("pf=p1", false, &d, &err), 0);
  EXPECT_EQ(parse_devargs_string("recover=auto", false, &d, &err), 0) << err;
  EXPECT_NE(parse_devargs_string("mig_poll_us=0", false, &d, &err), 0);
  EXPECT_NE(err.find("mig_poll_us=0"), std::string::npos) << err;
  EXPECT_NE(parse_devargs_string("dirty_log=bitmap", false, &d, &err), 0);
  EXPECT_NE(err.find("mig_region"), std::string::npos) << err;
}

/* A bare key reaches the handlers with a null value (kvargs' "k1" form): refused, never read. */
TEST(Devargs, BareKeyIsRefusedNamingTheKey) {
  Devargs d;
  std::string err;
  for (const char *args : {"pf=p1,vf", "pf,vf=0", "pf=p1,vf=0,mig_region", "pf=p1,vf=0,mac", "pf=p1,vf=0,uplink",
                           "pf=p1,vf=0,tx_head_wb", "pf=p1,vf=0,dirty_log", "pf=p1,vf=0,dirty_addr",
                           "pf=p1,vf=0,mig_poll_us", "pf=p1,vf=0,recover", "pf=p1,vf=0,quiesce_timeout_us"}) {
    err.clear();
    EXPECT_EQ(parse_devargs_string(args, true, &d, &err), -EINVAL) << args;
    EXPECT_NE(err.find("missing"), std::string::npos) << args << ": " << err;
  }
  EXPECT_EQ(parse_devargs_string("pf=p1,vf", true, &d, &err), -EINVAL);
  EXPECT_NE(err.find("devarg vf refused: the value is missing"), std::string::npos) << err;
  EXPECT_EQ(parse_devargs_string("mig_region", false, &d, &err), -EINVAL);
  EXPECT_NE(err.find("devarg mig_region refused"), std::string::npos) << err;
  EXPECT_EQ(parse_devargs_string("recover,tx_head_wb=1", false, &d, &err), -EINVAL);
  EXPECT_NE(err.find("devarg recover refused"), std::string::npos) << err;
}

TEST(Devargs, OverlongValueKeepsTheReasonOnTheLine) {
  Devargs d;
  std::string err;
  const std::string big(4000, 'z');
  /* (an overlong uplink spec is the sim probe's to refuse: tests/integration/test_bad_devargs.py) */
  for (const std::string &args : {"pf=" + big + ",vf=0", "pf=p1,vf=" + big,
                                  "pf=p1,vf=0,dirty_log=" + big, "pf=p1,vf=0,colour=" + big}) {
    ASSERT_EQ(parse_devargs_string(args.c_str(), true, &d, &err), -EINVAL);
    EXPECT_LT(err.size(), 400u) << err;
    EXPECT_NE(err.find("refused: "), std::string::npos) << err;
    EXPECT_NE(err.find("4000 bytes"), std::string::npos) << err;
  }
  ASSERT_EQ(parse_devargs_string(("pf=p1,vf=" + big).c_str(), true, &d, &err), -EINVAL);
  EXPECT_NE(err.find("VF index 0..63"), std::string::npos) << err;
}

TEST(Devargs, SignsSpacesAndNonAsciiAreRefused) {
  Devargs d;
  std::string err;
  for (const char *args : {"pf=p1,vf=+1", "pf=p1,vf=-0", "pf=p1,vf= 1", "pf=p1,vf=1 ", "pf=p1,vf=0x1",
                           "pf=p1,vf=001", "pf=p1,vf=0,mac= 2:00:00:00:00:01", "pf=p1,vf=0,mac=+2:00:00:00:00:01",
                           "pf=p1,vf=0,mac=02:00:00:00:00:-1", "pf=p1,vf=0,mac=02:00:00:00:00:0g",
                           "pf=p1,vf=0,mac=02-00-00-00-00-01", "pf=p\xc3\xa9,vf=0", "pf=p1,vf=0,mig_region=/tmp/\xff",
                           "pf=p1,vf=0,mig_region=/tmp/a\tb", "pf=p1,vf=0,mig_poll_us=+5",
                           "pf=p1,vf=0,mig_poll_us= 5", "pf=p1,vf=0,quiesce_timeout_us=-100", "pf=p1,vf=0,recover=auto ",
                           "pf=p1,vf=0,tx_head_wb="}) {
    EXPECT_EQ(parse_devargs_string(args, true, &d, &err), -EINVAL) << args;
    EXPECT_NE(err.find("refused"), std::string::npos) << args << ": " << err;
    for (char ch : err)
      EXPECT_TRUE(ch >= 0x20 && ch <= 0x7e) << "unprintable byte in: " << err;
  }
  EXPECT_EQ(parse_devargs_string("pf=p1,vf=63,mac=02:aB:00:00:00:01", true, &d, &err), 0) << err;
  EXPECT_EQ(d.vf, 63);
  EXPECT_EQ(d.mac[1], 0xab);
}

TEST(Devargs, MalformedListsNameThePair) {
  Devargs d;
  std::string err;
  EXPECT_EQ(parse_devargs_string("pf=p1,vf=0,mac=02:00:00:00:00:01=x", true, &d, &err), -EINVAL);
  EXPECT_NE(err.find("more than one '='"), std::string::npos) << err;
  EXPECT_EQ(parse_devargs_string("pf=p1,,vf=0,", true, &d, &err), 0) << err; /* empty pairs are skipped */
  std::string many = "pf=p1,vf=0";
  for (int i = 0; i < 40; i++)
    many += ",tx_head_wb=1";
  EXPECT_EQ(parse_devargs_string(many.c_str(), true, &d, &err), -EINVAL);
  EXPECT_NE(err.find("more than"), std::string::npos) << err;
  EXPECT_EQ(parse_devargs_string("pf=p1,vf=0,vf=1", true, &d, &err), -EINVAL);
  EXPECT_NE(err.find("more than once"), std::string::npos) << err;
}

TEST(Devargs, MigrationKeysAndWireUplink) {
  Devargs d;
  std::string err;
  ASSERT_EQ(parse_devargs_string("pf=p1,vf=0,uplink=wire:w1,mig_region=/dev/shm/r,dirty_addr=pa,mig_poll_us=50,"
                                 "recover=app",
                                 true, &d, &err),
            0)
      << err;
  EXPECT_EQ(d.uplink, "wire:w1");
  EXPECT_EQ(d.mig.dirty_addr, mig::DirtyAddr::pa);
  EXPECT_EQ(d.mig.poll_us, 50u);
  EXPECT_EQ(d.mig.recover, mig::RecoverMode::app);
  EXPECT_EQ(parse_devargs_string("dirty_log=touch", false, &d, &err), 0) << err;
  EXPECT_EQ(d.mig.effective_mode(), mig::DirtyLogMode::touch);
}

/* A PF that answers every request with messages of its own (PFACK, then PF_CONTROL_MSG after
 * PF_CONTROL_MSG) keeps the request waiting only as long as the mailbox timeout. */
TEST(Mailbox, PfMessagesOnlyEndAtTheTimeout) {
  struct Chatty {
    static uint32_t read(void *, uint32_t off) {
      if (off == ixgbevf_lm::hw::VFMAILBOX)
        return ixgbevf_lm::hw::VFMAILBOX_PFACK | ixgbevf_lm::hw::VFMAILBOX_PFSTS;
      return off == ixgbevf_lm::hw::VFMBMEM ? ixgbevf_lm::hw::PF_CONTROL_MSG : 0;
    }
    static void write(void *, uint32_t, uint32_t) {}
  };
  HwAccess hwa;
  hwa.read = Chatty::read;
  hwa.write = Chatty::write;
  Mailbox mbx;
  mbx.init(&hwa, 20000);
  uint32_t msg[1] = {ixgbevf_lm::hw::VF_GET_QUEUES}, reply[5] = {};
  const uint64_t t0 = now_us();
  EXPECT_EQ(mbx.request(msg, 1, reply, 5), MbxResult::timeout);
  EXPECT_LT(now_us() - t0, 2000000u);
  EXPECT_EQ(mbx.timeouts, 1u);
  EXPECT_GT(mbx.pf_messages, 0u);
}

TEST(MulticastHash, MatchesThePfFilterTypes) {
  rte_ether_addr a{{0x01, 0x00, 0x5e, 0x12, 0x34, 0x56}};
  EXPECT_EQ(mc_hash(0, a), ((0x34 >> 4) | (0x56 << 4)) & 0xFFF);
  EXPECT_EQ(mc_hash(1, a), ((0x34 >> 3) | (0x56 << 5)) & 0xFFF);
  EXPECT_EQ(mc_hash(2, a), ((0x34 >> 2) | (0x56 << 6)) & 0xFFF);
  EXPECT_EQ(mc_hash(3, a), (0x34 | (0x56 << 8)) & 0xFFF);
}

TEST(PciIds, TableMatchesTheHardwareDefinitions) {
  size_t n = 0;
  for (const rte_pci_id *p = ixgbevf_lm_pci_ids; p->vendor_id; p++, n++) {
    EXPECT_EQ(p->vendor_id, ixgbevf_lm::hw::kIntelVendorId);
    EXPECT_EQ(p->device_id, ixgbevf_lm::hw::kSupportedVfIds[n]);
  }
  EXPECT_EQ(n, std::size(ixgbevf_lm::hw::kSupportedVfIds));
}
