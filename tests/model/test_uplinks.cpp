/* SPDX-License-Identifier: BSD-3-Clause
 * The loopback and TAP uplinks. The TAP tests need root and /dev/net/tun; they skip without them.
 */
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ixgbevf_lm/model/pf_model.h>
#include <ixgbevf_lm/model/tap.h>
#include "../common/host_env.h"

namespace {

using namespace ixgbevf_lm::model;
using Frame = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

constexpr uint16_t kTestEtherType = 0x88b5;  /* IEEE local experimental */

Frame make_frame(uint32_t tag, size_t len = 64) {
  Frame f(len, 0);
  std::memset(f.data(), 0xff, 6);
  const uint8_t src[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  std::memcpy(f.data() + 6, src, 6);
  f[12] = kTestEtherType >> 8;
  f[13] = kTestEtherType & 0xff;
  std::memcpy(f.data() + 14, &tag, 4);
  return f;
}

bool has_tag(std::span<const uint8_t> f, uint32_t tag) {
  return f.size() >= 18 && f[12] == (kTestEtherType >> 8) && f[13] == (kTestEtherType & 0xff) &&
         std::memcmp(f.data() + 14, &tag, 4) == 0;
}

uint32_t random_tag() { return std::random_device{}() | 1; }

/* ---- loopback ---- */

TEST(Loopback, ReturnsTransmittedFramesInOrder) {
  auto lo = make_loopback_uplink();
  for (uint32_t i = 1; i <= 3; ++i)
    lo->transmit(make_frame(i, 60 + i));
  std::vector<uint32_t> tags;
  EXPECT_EQ(lo->poll([&](std::span<const uint8_t> f) {
    uint32_t t;
    std::memcpy(&t, f.data() + 14, 4);
    EXPECT_EQ(f.size(), 60u + t);
    tags.push_back(t);
  }, 16), 3u);
  EXPECT_EQ(tags, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(lo->poll([](std::span<const uint8_t>) {}, 16), 0u);
}

TEST(Loopback, FrameTransmittedDuringDeliveryComesBackOnNextPoll) {
  auto lo = make_loopback_uplink();
  lo->transmit(make_frame(1));
  unsigned n = lo->poll([&](std::span<const uint8_t>) { lo->transmit(make_frame(2)); }, 100);
  EXPECT_EQ(n, 1u);
  bool second = false;
  EXPECT_EQ(lo->poll([&](std::span<const uint8_t> f) { second = has_tag(f, 2); }, 100), 1u);
  EXPECT_TRUE(second);
}

TEST(Loopback, QueueIsBounded) {
  auto lo = make_loopback_uplink();
  for (uint32_t i = 0; i < 5000; ++i)
    lo->transmit(make_frame(i));
  const unsigned n = lo->poll([](std::span<const uint8_t>) {}, 100000);
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, 5000u);
  EXPECT_NE(lo->describe().find("dropped " + std::to_string(5000 - n)), std::string::npos) << lo->describe();
}

/* ---- TAP ---- */


std::string tap_name(const char *what) {
  return std::string("ixlm") + what + std::to_string(::getpid() % 100000);
}

/* A raw AF_PACKET socket bound to one interface (the kernel's side of the TAP). */
class RawSocket {
 public:
  explicit RawSocket(const std::string &ifname) {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    ifindex_ = ::if_nametoindex(ifname.c_str());
    if (fd_ < 0 || ifindex_ == 0)
      return;
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = int(ifindex_);
    if (::bind(fd_, reinterpret_cast<sockaddr *>(&sll), sizeof sll) < 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawSocket() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  bool send(const Frame &f) {
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = int(ifindex_);
    sll.sll_halen = 6;
    std::memcpy(sll.sll_addr, f.data(), 6);
    return ::sendto(fd_, f.data(), f.size(), 0, reinterpret_cast<sockaddr *>(&sll), sizeof sll) == ssize_t(f.size());
  }

  /* Waits (bounded) for a frame carrying tag; returns its length or -1. */
  long wait_for(uint32_t tag, std::chrono::milliseconds bound) {
    const auto deadline = Clock::now() + bound;
    std::vector<uint8_t> buf(16384);
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n > 0 && has_tag(std::span<const uint8_t>(buf.data(), size_t(n)), tag))
        return long(n);
    }
    return -1;
  }

 private:
  int fd_ = -1;
  unsigned ifindex_ = 0;
};

/* Polls the uplink (bounded) until a frame with tag arrives. */
bool model_receives(Uplink &u, uint32_t tag, std::chrono::milliseconds bound) {
  const auto deadline = Clock::now() + bound;
  bool seen = false;
  while (!seen && Clock::now() < deadline) {
    if (u.poll([&](std::span<const uint8_t> f) { seen = seen || has_tag(f, tag); }, 64) == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return seen;
}

TEST(Tap, RejectsAnInvalidNameWithAReason) {
  std::string why;
  EXPECT_EQ(make_tap_uplink("a-name-longer-than-fifteen", &why), nullptr);
  EXPECT_NE(why.find("longer than"), std::string::npos) << why;
}

TEST(Tap, CreatesTheInterfaceUpAndRemovesItOnClose) {
  SKIP_WITHOUT_TAP();
  const std::string name = tap_name("c");
  std::string why;
  {
    auto tap = make_tap_uplink(name, &why);
    ASSERT_NE(tap, nullptr) << why;
    const unsigned idx = ::if_nametoindex(name.c_str());
    EXPECT_NE(idx, 0u);
    EXPECT_NE(tap->describe().find(name), std::string::npos);
  }
  EXPECT_EQ(::if_nametoindex(name.c_str()), 0u) << "a non-persistent TAP disappears with its descriptor";
}

TEST(Tap, FrameTransmittedByModelIsReadByRawSocket) {
  SKIP_WITHOUT_TAP();
  const std::string name = tap_name("t");
  std::string why;
  auto tap = make_tap_uplink(name, &why);
  ASSERT_NE(tap, nullptr) << why;
  RawSocket raw(name);
  ASSERT_TRUE(raw.ok()) << "AF_PACKET socket on " << name << ": " << std::strerror(errno);
  const uint32_t tag = random_tag();
  tap->transmit(make_frame(tag, 100));
  EXPECT_EQ(raw.wait_for(tag, std::chrono::seconds(5)), 100);
}

TEST(Tap, FrameSentByRawSocketIsPolledByModel) {
  SKIP_WITHOUT_TAP();
  const std::string name = tap_name("r");
  std::string why;
  auto tap = make_tap_uplink(name, &why);
  ASSERT_NE(tap, nullptr) << why;
  RawSocket raw(name);
  ASSERT_TRUE(raw.ok()) << std::strerror(errno);
  const uint32_t tag = random_tag();
  ASSERT_TRUE(raw.send(make_frame(tag, 90))) << std::strerror(errno);
  EXPECT_TRUE(model_receives(*tap, tag, std::chrono::seconds(5)));
}

/* The kernel's count of carrier changes of an interface (-1: unreadable). */
long carrier_changes(const std::string &ifname) {
  FILE *f = std::fopen(("/sys/class/net/" + ifname + "/carrier_changes").c_str(), "r");
  long n = -1;
  if (f != nullptr) {
    if (std::fscanf(f, "%ld", &n) != 1)
      n = -1;
    std::fclose(f);
  }
  return n;
}

/* A second PF model (a migration's destination) attaches while the first still holds the TAP; the
 * first lets go; the carrier never dropped and the second carries the traffic. */
TEST(Tap, ADestinationAttachesBeforeTheSourceLetsGoAndTheCarrierStays) {
  SKIP_WITHOUT_TAP();
  const std::string name = tap_name("b");
  std::string why;
  auto first = make_tap_uplink(name, &why);
  ASSERT_NE(first, nullptr) << why;
  const long carrier_before = carrier_changes(name);
  ASSERT_GE(carrier_before, 0);
  auto second = make_tap_uplink(name, &why);
  ASSERT_NE(second, nullptr) << why;
  first.reset();
  EXPECT_EQ(carrier_changes(name), carrier_before);
  RawSocket raw(name);
  ASSERT_TRUE(raw.ok()) << std::strerror(errno);
  const uint32_t tag = random_tag();
  ASSERT_TRUE(raw.send(make_frame(tag, 90))) << std::strerror(errno);
  EXPECT_TRUE(model_receives(*second, tag, std::chrono::seconds(5)));
}

/* An interface created single-queue by someone else is still attached (without the multi-queue
 * flag); a second open then fails, saying why. */
TEST(Tap, ASingleQueueInterfaceIsAttachedAndASecondOpenFailsWithBusy) {
  SKIP_WITHOUT_TAP();
  const std::string name = tap_name("s");
  {
    const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    struct ifreq ifr {};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    ASSERT_EQ(::ioctl(fd, TUNSETIFF, &ifr), 0) << std::strerror(errno);
    ASSERT_EQ(::ioctl(fd, TUNSETPERSIST, 1), 0) << std::strerror(errno);
    ::close(fd);
  }
  std::string why;
  auto first = make_tap_uplink(name, &why);
  ASSERT_NE(first, nullptr) << why;
  auto second = make_tap_uplink(name, &why);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(why.find("close it first"), std::string::npos) << why;
  first.reset();
  EXPECT_TRUE(remove_tap_interface(name, &why)) << why;
}

TEST(Tap, PersistentInterfaceIsHandedOverLikeAMigration) {
  SKIP_WITHOUT_TAP();
  const std::string name = tap_name("p");
  std::string why;
  TapOptions opts;
  opts.persist = true;
  auto source = make_tap_uplink(name, opts, &why);
  ASSERT_NE(source, nullptr) << why;
  const unsigned idx = ::if_nametoindex(name.c_str());
  ASSERT_NE(idx, 0u);
  RawSocket raw(name);   /* the kernel side, kept across the hand-over */
  ASSERT_TRUE(raw.ok());

  source.reset();        /* stop-copy: the source PF model closes its uplink */
  EXPECT_EQ(::if_nametoindex(name.c_str()), idx) << "the interface survives the pause";

  auto dest = make_tap_uplink(name, opts, &why);  /* the destination takes it over */
  ASSERT_NE(dest, nullptr) << why;
  EXPECT_EQ(::if_nametoindex(name.c_str()), idx) << "same link, not a new one";
  const uint32_t out = random_tag(), in = random_tag() ^ 2;
  dest->transmit(make_frame(out));
  EXPECT_GT(raw.wait_for(out, std::chrono::seconds(5)), 0);
  ASSERT_TRUE(raw.send(make_frame(in)));
  EXPECT_TRUE(model_receives(*dest, in, std::chrono::seconds(5)));

  dest.reset();
  EXPECT_TRUE(remove_tap_interface(name, &why)) << why;
  EXPECT_EQ(::if_nametoindex(name.c_str()), 0u);
}

}  // namespace
