/* SPDX-License-Identifier: BSD-3-Clause
 * The Wire (a hub): delivery to every other station, order, bounded station queues, isolation.
 */
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <ixgbevf_lm/model/pf_model.h>

namespace {

using namespace ixgbevf_lm::model;
using Frame = std::vector<uint8_t>;

Frame make_frame(uint32_t tag, size_t len = 64) {
  Frame f(len, 0);
  std::memset(f.data(), 0xff, 6);                       /* broadcast */
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;                                        /* local experimental EtherType */
  std::memcpy(f.data() + 14, &tag, 4);
  return f;
}

uint32_t tag_of(std::span<const uint8_t> f) {
  uint32_t t = 0;
  if (f.size() >= 18)
    std::memcpy(&t, f.data() + 14, 4);
  return t;
}

std::vector<uint32_t> drain(Uplink &u, unsigned max = 1u << 20) {
  std::vector<uint32_t> tags;
  u.poll([&](std::span<const uint8_t> f) { tags.push_back(tag_of(f)); }, max);
  return tags;
}

/* The number after `key ` in an uplink's describe() text, or -1. */
long long described(const Uplink &u, const std::string &key) {
  const std::string d = u.describe();
  const size_t p = d.find(key + " ");
  return p == std::string::npos ? -1 : std::stoll(d.substr(p + key.size() + 1));
}

TEST(Wire, DeliversToEveryOtherStationButNotBackToSender) {
  auto wire = make_wire("hub");
  auto a = make_wire_uplink(wire), b = make_wire_uplink(wire), c = make_wire_uplink(wire);
  a->transmit(make_frame(7));
  EXPECT_EQ(drain(*a), std::vector<uint32_t>{});
  EXPECT_EQ(drain(*b), std::vector<uint32_t>{7});
  EXPECT_EQ(drain(*c), std::vector<uint32_t>{7});
  /* Delivered once: a second poll finds nothing. */
  EXPECT_TRUE(drain(*b).empty());
}

TEST(Wire, KeepsEachSendersOrderAndFrameContent) {
  auto wire = make_wire("order");
  auto a = make_wire_uplink(wire), b = make_wire_uplink(wire);
  std::vector<uint32_t> want;
  for (uint32_t i = 1; i <= 100; ++i) {
    a->transmit(make_frame(i, 60 + i));
    want.push_back(i);
  }
  std::vector<uint32_t> got;
  unsigned n = b->poll([&](std::span<const uint8_t> f) {
    const uint32_t t = tag_of(f);
    EXPECT_EQ(f.size(), 60u + t);
    EXPECT_EQ(std::memcmp(f.data(), make_frame(t, 60 + t).data(), f.size()), 0);
    got.push_back(t);
  }, 1000);
  EXPECT_EQ(n, 100u);
  EXPECT_EQ(got, want);
}

TEST(Wire, PollDeliversAtMostMaxFrames) {
  auto wire = make_wire("max");
  auto a = make_wire_uplink(wire), b = make_wire_uplink(wire);
  for (uint32_t i = 0; i < 10; ++i)
    a->transmit(make_frame(i));
  EXPECT_EQ(drain(*b, 4).size(), 4u);
  EXPECT_EQ(drain(*b, 4), (std::vector<uint32_t>{4, 5, 6, 7}));
  EXPECT_EQ(drain(*b, 4), (std::vector<uint32_t>{8, 9}));
}

TEST(Wire, StationQueueIsBoundedAndCountsDrops) {
  auto wire = make_wire("bounded");
  auto a = make_wire_uplink(wire), slow = make_wire_uplink(wire), fast = make_wire_uplink(wire);
  const long long cap = described(*slow, "queue");
  ASSERT_GT(cap, 0) << slow->describe();
  const unsigned extra = 100;
  unsigned fast_got = 0;
  for (unsigned i = 0; i < cap + extra; ++i) {
    a->transmit(make_frame(i));
    fast_got += unsigned(drain(*fast).size());   /* a station that keeps up loses nothing */
  }
  EXPECT_EQ(fast_got, cap + extra);
  EXPECT_EQ(described(*fast, "dropped"), 0);
  /* The slow station kept the first `cap` frames and dropped the rest (tail drop). */
  auto got = drain(*slow);
  ASSERT_EQ(got.size(), size_t(cap));
  EXPECT_EQ(got.front(), 0u);
  EXPECT_EQ(got.back(), uint32_t(cap - 1));
  EXPECT_EQ(described(*slow, "dropped"), extra);
  /* Once drained it accepts frames again. */
  a->transmit(make_frame(12345));
  EXPECT_EQ(drain(*slow), std::vector<uint32_t>{12345});
}

TEST(Wire, DropsOversizeFramesAndCarriesJumboOnes) {
  auto wire = make_wire("jumbo");
  auto a = make_wire_uplink(wire), b = make_wire_uplink(wire);
  a->transmit(make_frame(1, 9728));
  a->transmit(make_frame(2, 9729));
  a->transmit({});
  std::vector<size_t> sizes;
  b->poll([&](std::span<const uint8_t> f) { sizes.push_back(f.size()); }, 16);
  EXPECT_EQ(sizes, std::vector<size_t>{9728});
  EXPECT_EQ(described(*a, "oversize"), 2);
}

TEST(Wire, DetachedStationStopsReceivingAndOthersCarryOn) {
  auto wire = make_wire("detach");
  auto a = make_wire_uplink(wire), b = make_wire_uplink(wire);
  {
    auto c = make_wire_uplink(wire);
    a->transmit(make_frame(1));
    EXPECT_EQ(drain(*c).size(), 1u);
  }
  a->transmit(make_frame(2));
  EXPECT_EQ(drain(*b), (std::vector<uint32_t>{1, 2}));
  b.reset();
  a->transmit(make_frame(3));   /* nobody listening: nothing to deliver, nothing breaks */
  auto d = make_wire_uplink(wire);
  a->transmit(make_frame(4));
  EXPECT_EQ(drain(*d), std::vector<uint32_t>{4});
}

TEST(Wire, TwoWiresAreIsolated) {
  auto w1 = make_wire("one"), w2 = make_wire("two");
  auto a = make_wire_uplink(w1), b = make_wire_uplink(w1), c = make_wire_uplink(w2);
  a->transmit(make_frame(9));
  EXPECT_EQ(drain(*b).size(), 1u);
  EXPECT_TRUE(drain(*c).empty());
}

TEST(Wire, ConcurrentSendersAndPollerLoseNothingWithinCapacity) {
  auto wire = make_wire("threads");
  auto rx = make_wire_uplink(wire);
  const long long cap = described(*rx, "queue");
  ASSERT_GT(cap, 0);
  const unsigned per_sender = unsigned(cap / 2) - 8;   /* the total fits the receiver's queue */
  std::atomic<bool> go{false};
  std::vector<std::thread> senders;
  for (uint32_t s = 0; s < 2; ++s)
    senders.emplace_back([&, s] {
      auto tx = make_wire_uplink(wire);
      while (!go.load())
        std::this_thread::yield();
      for (uint32_t i = 0; i < per_sender; ++i)
        tx->transmit(make_frame(s << 24 | i));
    });
  go.store(true);
  std::vector<uint32_t> next(2, 0);
  unsigned total = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool in_order = true;
  while (total < 2 * per_sender && std::chrono::steady_clock::now() < deadline) {
    total += rx->poll([&](std::span<const uint8_t> f) {
      const uint32_t t = tag_of(f), s = t >> 24, i = t & 0xffffff;
      if (s > 1 || i != next[s])
        in_order = false;
      else
        ++next[s];
    }, 64);
  }
  for (auto &t : senders)
    t.join();
  total += unsigned(drain(*rx).size());
  EXPECT_EQ(total, 2 * per_sender);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(described(*rx, "dropped"), 0);
}

}  // namespace
