/* SPDX-License-Identifier: BSD-3-Clause
 * TrafficEndpoint against a reflector on the same wire (a station that swaps MACs, as testpmd's
 * macswap or l2fwd would), with faults injected by the reflector: a dropped window, a duplicate,
 * a late frame.
 */
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <ixgbevf_lm/model/pf_model.h>
#include <ixgbevf_lm/model/traffic.h>

namespace {

using namespace ixgbevf_lm::model;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const MacAddr kEndpointMac{0x02, 0x00, 0x00, 0x00, 0xee, 0x01};
const MacAddr kAppMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x42};
constexpr size_t kSeqOff = 14 + 20 + 8 + 8;   /* after Ethernet, IPv4, UDP, magic and cookie */

uint64_t seq_of(std::span<const uint8_t> f) {
  uint64_t s = ~0ull;
  if (f.size() >= kSeqOff + 8)
    std::memcpy(&s, f.data() + kSeqOff, 8);
  return s;
}

/* Waits (bounded) until pred holds. */
bool wait_until(const std::function<bool()> &pred, std::chrono::milliseconds bound = 10s) {
  const auto deadline = Clock::now() + bound;
  while (!pred()) {
    if (Clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/* The application: a station that answers frames addressed to kAppMac with MACs swapped. */
class Reflector {
 public:
  struct Faults {
    uint64_t drop_from = ~0ull, drop_to = ~0ull;   /* drop sequence numbers [from, to) */
    uint64_t duplicate = ~0ull;                     /* reflect this one twice */
    uint64_t hold = ~0ull;                          /* reflect this one after hold + hold_for */
    uint64_t hold_for = 0;
  };

  Reflector(std::shared_ptr<Wire> wire, Faults f) : port_(make_wire_uplink(std::move(wire))), faults_(f) {
    thread_ = std::thread([this] { run(); });
  }
  ~Reflector() {
    stop_ = true;
    thread_.join();
  }

  uint64_t reflected() const { return reflected_.load(); }
  /* Time between the last frame reflected before the drop window and the first one after it. */
  double window_gap_ms() const {
    std::lock_guard g(mu_);
    if (!before_ || !after_)
      return -1;
    return std::chrono::duration<double, std::milli>(after_->time_since_epoch() - before_->time_since_epoch()).count();
  }
  std::vector<uint8_t> sample() const {
    std::lock_guard g(mu_);
    return sample_;
  }

 private:
  void reflect(std::span<const uint8_t> in) {
    std::vector<uint8_t> &out = buf_;
    out.assign(in.begin(), in.end());
    std::memcpy(out.data(), in.data() + 6, 6);
    std::memcpy(out.data() + 6, kAppMac.data(), 6);
    port_->transmit(out);
    reflected_++;
  }

  void run() {
    while (!stop_) {
      const unsigned n = port_->poll([&](std::span<const uint8_t> f) {
        if (std::memcmp(f.data(), kAppMac.data(), 6) != 0)
          return;
        const uint64_t s = seq_of(f);
        {
          std::lock_guard g(mu_);
          if (sample_.empty())
            sample_.assign(f.begin(), f.end());
          if (s + 1 == faults_.drop_from)
            before_ = Clock::now();
          if (s == faults_.drop_to)
            after_ = Clock::now();
        }
        if (s >= faults_.drop_from && s < faults_.drop_to)
          return;
        if (s == faults_.hold) {
          held_.assign(f.begin(), f.end());
          return;
        }
        reflect(f);
        if (s == faults_.duplicate)
          reflect(f);
        if (!held_.empty() && s == faults_.hold + faults_.hold_for) {
          std::vector<uint8_t> h;
          h.swap(held_);
          reflect(h);
        }
      }, 256);
      if (n == 0)
        std::this_thread::sleep_for(100us);
    }
  }

  std::unique_ptr<Uplink> port_;
  Faults faults_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> reflected_{0};
  mutable std::mutex mu_;
  std::optional<Clock::time_point> before_, after_;
  std::vector<uint8_t> sample_, held_, buf_;
};

TrafficConfig config(uint32_t fps, uint16_t size = 128) {
  TrafficConfig c;
  c.src_mac = kEndpointMac;
  c.dst_mac = kAppMac;
  c.frames_per_second = fps;
  c.frame_size = size;
  return c;
}

TEST(Traffic, CountsEveryReflectedFrameWithoutLoss) {
  auto wire = make_wire("t-clean");
  Reflector app(wire, {});
  TrafficEndpoint ep(wire, config(2000));
  ep.start();
  ASSERT_TRUE(wait_until([&] { return ep.report().received >= 300; }));
  ep.stop();
  const TrafficReport r = ep.report();
  EXPECT_GE(r.sent, r.received);
  EXPECT_LE(r.sent - r.received, 50u) << "only the last frames may still be in flight";
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_EQ(r.reordered, 0u);
  EXPECT_GT(r.mean_rtt_us, 0.0);
  EXPECT_GE(r.max_rtt_us, r.mean_rtt_us);
  EXPECT_LT(r.longest_gap_ms, 100.0);
}

TEST(Traffic, SendsValidUdpIpv4FramesToTheConfiguredMac) {
  auto wire = make_wire("t-format");
  Reflector app(wire, {});
  TrafficEndpoint ep(wire, config(1000, 200));
  ep.start();
  ASSERT_TRUE(wait_until([&] { return !app.sample().empty(); }));
  ep.stop();
  const std::vector<uint8_t> f = app.sample();
  ASSERT_EQ(f.size(), 200u);
  EXPECT_EQ(std::memcmp(f.data(), kAppMac.data(), 6), 0);
  EXPECT_EQ(std::memcmp(f.data() + 6, kEndpointMac.data(), 6), 0);
  EXPECT_EQ(f[12], 0x08);
  EXPECT_EQ(f[13], 0x00);
  const uint8_t *ip = f.data() + 14;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(ip[9], 17);
  EXPECT_EQ(ip[2] << 8 | ip[3], 200 - 14);
  auto fold = [](uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return s; };
  uint32_t s = 0;
  for (int i = 0; i < 20; i += 2)
    s += uint32_t(ip[i]) << 8 | ip[i + 1];
  EXPECT_EQ(fold(s), 0xffffu) << "IPv4 header checksum";
  const uint8_t *udp = ip + 20;
  const unsigned udp_len = udp[4] << 8 | udp[5];
  EXPECT_EQ(udp_len, 200u - 14 - 20);
  s = 17 + udp_len;
  for (int i = 12; i < 20; i += 2)
    s += uint32_t(ip[i]) << 8 | ip[i + 1];
  for (unsigned i = 0; i < udp_len; i += 2)
    s += uint32_t(udp[i]) << 8 | (i + 1 < udp_len ? udp[i + 1] : 0);
  EXPECT_EQ(fold(s), 0xffffu) << "UDP checksum";
}

TEST(Traffic, PacesAtTheConfiguredRate) {
  auto wire = make_wire("t-rate");
  TrafficEndpoint ep(wire, config(5000));
  ep.start();
  ASSERT_TRUE(wait_until([&] { return ep.report().sent > 0; }));
  ep.reset_report();
  const auto t0 = Clock::now();
  ASSERT_TRUE(wait_until([&] { return Clock::now() - t0 >= 400ms; }));
  const uint64_t sent = ep.report().sent;
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  ep.stop();
  EXPECT_NEAR(double(sent) / secs, 5000.0, 1000.0);
  EXPECT_EQ(ep.report().received, 0u) << "nobody reflects on this wire";
}

TEST(Traffic, CountsLossWhenTheReflectorDropsAWindow) {
  auto wire = make_wire("t-loss");
  Reflector::Faults f;
  f.drop_from = 500;
  f.drop_to = 700;     /* 200 frames at 2000/s: 100 ms of silence */
  Reflector app(wire, f);
  TrafficEndpoint ep(wire, config(2000));
  ep.start();
  ASSERT_TRUE(wait_until([&] { return ep.report().received >= 800; }));
  ep.stop();
  const TrafficReport r = ep.report();
  EXPECT_EQ(r.lost, 200u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_EQ(r.reordered, 0u);
}

TEST(Traffic, LongestGapMatchesTheDropWindow) {
  auto wire = make_wire("t-gap");
  Reflector::Faults f;
  f.drop_from = 400;
  f.drop_to = 600;     /* 200 frames at 2000/s: 100 ms */
  Reflector app(wire, f);
  TrafficEndpoint ep(wire, config(2000));
  ep.start();
  ASSERT_TRUE(wait_until([&] { return ep.report().received >= 700; }));
  ep.stop();
  const double truth = app.window_gap_ms();
  ASSERT_GT(truth, 0);
  const TrafficReport r = ep.report();
  EXPECT_NEAR(r.longest_gap_ms, truth, 25.0) << "reflector saw " << truth << " ms";
  EXPECT_NEAR(r.longest_gap_ms, 100.0, 50.0);
}

TEST(Traffic, CountsDuplicates) {
  auto wire = make_wire("t-dup");
  Reflector::Faults f;
  f.duplicate = 50;
  Reflector app(wire, f);
  TrafficEndpoint ep(wire, config(2000));
  ep.start();
  ASSERT_TRUE(wait_until([&] { return ep.report().received >= 100; }));
  ep.stop();
  const TrafficReport r = ep.report();
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.lost, 0u);
}

TEST(Traffic, LateFrameCountsAsReorderedNotLost) {
  auto wire = make_wire("t-reorder");
  Reflector::Faults f;
  f.hold = 60;
  f.hold_for = 5;
  Reflector app(wire, f);
  TrafficEndpoint ep(wire, config(2000));
  ep.start();
  ASSERT_TRUE(wait_until([&] { return ep.report().received >= 100; }));
  ep.stop();
  const TrafficReport r = ep.report();
  EXPECT_EQ(r.reordered, 1u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.duplicates, 0u);
}

TEST(Traffic, ResetReportStartsANewWindow) {
  auto wire = make_wire("t-reset");
  Reflector::Faults f;
  f.drop_from = 100;
  f.drop_to = 300;     /* 100 ms of silence in the first window */
  Reflector app(wire, f);
  TrafficEndpoint ep(wire, config(2000));
  ep.start();
  ASSERT_TRUE(wait_until([&] { return ep.report().lost >= 200 && ep.report().received >= 200; }));
  ep.reset_report();
  const TrafficReport fresh = ep.report();
  EXPECT_EQ(fresh.lost, 0u);
  EXPECT_LE(fresh.sent, 50u);
  ASSERT_TRUE(wait_until([&] { return ep.report().received >= 100; }));
  ep.stop();
  const TrafficReport r = ep.report();
  EXPECT_EQ(r.lost, 0u) << "the earlier drop window belongs to the previous measurement";
  EXPECT_LT(r.longest_gap_ms, 60.0) << "the 100 ms gap belongs to the previous window";
  EXPECT_GE(r.sent, r.received);
}

}  // namespace
