/* SPDX-License-Identifier: BSD-3-Clause
 * TrafficEndpoint: a station on a Wire that sends numbered UDP/IPv4 frames at a fixed rate and
 * measures what an application reflects back (MACs swapped): loss, duplicates, reordering, RTT and
 * the longest silence between two reflected frames (the traffic blackout of a live migration).
 *
 * Payload after the UDP header: magic "IXLM", a per-endpoint cookie, the 64-bit sequence number and
 * the 64-bit steady-clock send time in ns (all little-endian), then zero padding to frame_size.
 * Its thread wakes on a timer (no busy wait), sends the frames that are due and reads what arrived.
 */
#include <ixgbevf_lm/model/traffic.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "wire_internal.h"

namespace ixgbevf_lm::model {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kEthLen = 14, kIpLen = 20, kUdpLen = 8;
constexpr size_t kPayloadOff = kEthLen + kIpLen + kUdpLen;
constexpr size_t kMagicOff = kPayloadOff, kCookieOff = kPayloadOff + 4, kSeqOff = kPayloadOff + 8,
                 kTsOff = kPayloadOff + 16;
constexpr size_t kMinFrame = kPayloadOff + 24;
constexpr uint32_t kMagic = 0x4d4c5849;  /* "IXLM" read as little-endian */
constexpr uint16_t kUdpPort = 9;         /* discard */
constexpr uint8_t kSrcIp[4] = {198, 18, 0, 1};   /* RFC 2544 benchmarking range */
constexpr uint8_t kDstIp[4] = {198, 18, 0, 2};
/* Duplicate/reorder memory: sequence numbers this far behind the newest are still told apart. */
constexpr uint64_t kSeenWindow = 1u << 16;

uint64_t now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

void put16be(uint8_t *p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void put32le(uint8_t *p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64le(uint8_t *p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get32le(const uint8_t *p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t get64le(const uint8_t *p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

/* One's-complement sum of big-endian 16-bit words. */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1)
    sum += uint32_t(p[n - 1]) << 8;
  return sum;
}
uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

}  // namespace

struct TrafficEndpoint::Impl {
  TrafficConfig cfg;
  std::unique_ptr<Uplink> port;
  std::vector<uint8_t> frame;   /* the template, updated in place per frame (worker thread only) */
  uint32_t cookie = 0;
  std::thread worker;
  std::atomic<bool> running{false};

  /* ---- guarded by mu ---- */
  mutable std::mutex mu;
  uint64_t next_seq = 0;        /* next sequence number to send */
  uint64_t base_seq = 0;        /* first sequence number of the measurement window */
  uint64_t sent = 0;
  uint64_t received = 0;        /* distinct sequence numbers >= base_seq */
  uint64_t duplicates = 0, reordered = 0;
  bool have_highest = false;
  uint64_t highest = 0;
  std::vector<uint64_t> seen = std::vector<uint64_t>(kSeenWindow / 64);
  uint64_t last_rx_ns = 0, longest_gap_ns = 0;
  double rtt_sum_us = 0, rtt_max_us = 0;
  uint64_t rtt_count = 0;

  Impl(std::shared_ptr<Wire> wire, const TrafficConfig &c) : cfg(c), port(make_wire_uplink(std::move(wire))) {
    cookie = std::random_device{}();
    build_template();
  }

  void build_template() {
    const size_t len = std::clamp<size_t>(cfg.frame_size, kMinFrame, detail::kMaxWireFrame);
    frame.assign(len, 0);
    uint8_t *f = frame.data();
    std::memcpy(f, cfg.dst_mac.data(), 6);
    std::memcpy(f + 6, cfg.src_mac.data(), 6);
    put16be(f + 12, 0x0800);
    uint8_t *ip = f + kEthLen;
    ip[0] = 0x45;
    put16be(ip + 2, uint16_t(len - kEthLen));
    put16be(ip + 6, 0x4000);  /* DF */
    ip[8] = 64;
    ip[9] = 17;               /* UDP */
    std::memcpy(ip + 12, kSrcIp, 4);
    std::memcpy(ip + 16, kDstIp, 4);
    put16be(ip + 10, csum_fold(csum_add(0, ip, kIpLen)));
    uint8_t *udp = ip + kIpLen;
    put16be(udp, kUdpPort);
    put16be(udp + 2, kUdpPort);
    put16be(udp + 4, uint16_t(len - kEthLen - kIpLen));
    put32le(f + kMagicOff, kMagic);
    put32le(f + kCookieOff, cookie);
  }

  void stamp(uint64_t seq, uint64_t ts) {
    uint8_t *f = frame.data();
    put64le(f + kSeqOff, seq);
    put64le(f + kTsOff, ts);
    uint8_t *udp = f + kEthLen + kIpLen;
    const size_t udp_len = frame.size() - kEthLen - kIpLen;
    udp[6] = udp[7] = 0;
    uint32_t sum = csum_add(0, f + kEthLen + 12, 8);  /* pseudo header: addresses, protocol, length */
    sum += 17 + uint32_t(udp_len);
    sum = csum_add(sum, udp, udp_len);
    uint16_t c = csum_fold(sum);
    put16be(udp + 6, c == 0 ? 0xffff : c);
  }

  bool test_and_set_seen(uint64_t seq) {
    uint64_t &w = seen[(seq % kSeenWindow) / 64];
    const uint64_t bit = uint64_t(1) << (seq % 64);
    const bool was = w & bit;
    w |= bit;
    return was;
  }
  void clear_seen(uint64_t seq) { seen[(seq % kSeenWindow) / 64] &= ~(uint64_t(1) << (seq % 64)); }

  /* Called with mu held. */
  void on_frame(std::span<const uint8_t> f, uint64_t t_ns) {
    if (f.size() < kMinFrame || std::memcmp(f.data(), cfg.src_mac.data(), 6) != 0 || f[12] != 0x08 ||
        f[13] != 0x00 || f[kEthLen + 9] != 17 || get32le(f.data() + kMagicOff) != kMagic ||
        get32le(f.data() + kCookieOff) != cookie)
      return;
    const uint64_t seq = get64le(f.data() + kSeqOff);
    const uint64_t ts = get64le(f.data() + kTsOff);
    if (seq < base_seq || seq >= next_seq)
      return;  /* in flight from the previous window (or not ours) */

    if (last_rx_ns)
      longest_gap_ns = std::max(longest_gap_ns, t_ns - std::min(t_ns, last_rx_ns));
    last_rx_ns = t_ns;
    const double rtt = double(t_ns - std::min(t_ns, ts)) / 1e3;
    rtt_sum_us += rtt;
    rtt_max_us = std::max(rtt_max_us, rtt);
    ++rtt_count;

    if (!have_highest || seq > highest) {
      /* Forget what the window slides over. */
      const uint64_t from = have_highest ? highest + 1 : base_seq;
      if (seq - from >= kSeenWindow)
        std::fill(seen.begin(), seen.end(), 0);
      else
        for (uint64_t s = from; s < seq; ++s)
          clear_seen(s);
      clear_seen(seq);
      have_highest = true;
      highest = seq;
      test_and_set_seen(seq);
      ++received;
      return;
    }
    if (highest - seq >= kSeenWindow) {
      ++reordered;  /* too old to tell apart; counted late, not as received */
      return;
    }
    if (test_and_set_seen(seq)) {
      ++duplicates;
      return;
    }
    ++reordered;
    ++received;
  }

  void run() {
    if (cfg.thread_nice > 0)  /* this thread only (see PfConfig::thread_nice) */
      (void)setpriority(PRIO_PROCESS, 0, std::min(cfg.thread_nice, 19));
    const uint32_t fps = std::max<uint32_t>(cfg.frames_per_second, 1);
    const auto interval = std::chrono::nanoseconds(1000000000ull / fps);
    const auto tick = std::clamp<Clock::duration>(interval, std::chrono::microseconds(200), std::chrono::milliseconds(1));
    /* Never more than 10 ms of frames at once: after a stall the schedule skips rather than bursts. */
    const uint64_t burst_cap = std::max<uint64_t>(fps / 100, 16);
    const auto t0 = Clock::now();
    uint64_t scheduled = 0;
    auto next_wake = t0;
    while (running.load(std::memory_order_acquire)) {
      const auto now = Clock::now();
      const uint64_t due = uint64_t(std::chrono::duration<double>(now - t0).count() * fps) + 1;
      if (due > scheduled + burst_cap)
        scheduled = due - burst_cap;
      uint64_t seq;
      {
        std::lock_guard g(mu);
        seq = next_seq;
      }
      const uint64_t n = due > scheduled ? due - scheduled : 0;
      for (uint64_t i = 0; i < n; ++i) {
        stamp(seq + i, now_ns());
        {
          std::lock_guard g(mu);
          next_seq = seq + i + 1;
          ++sent;
        }
        port->transmit(frame);
      }
      scheduled += n;
      {
        const uint64_t t = now_ns();
        std::lock_guard g(mu);
        port->poll([&](std::span<const uint8_t> f) { on_frame(f, t); }, 1u << 20);
      }
      next_wake += tick;
      const auto after = Clock::now();
      if (next_wake < after)
        next_wake = after;
      std::this_thread::sleep_until(next_wake);
    }
  }

  TrafficReport report() const {
    std::lock_guard g(mu);
    TrafficReport r;
    r.sent = sent;
    r.received = received;
    r.lost = have_highest ? (highest - base_seq + 1) - std::min(received, highest - base_seq + 1) : 0;
    r.duplicates = duplicates;
    r.reordered = reordered;
    uint64_t gap = longest_gap_ns;
    if (running.load(std::memory_order_acquire) && last_rx_ns) {
      const uint64_t t = now_ns();
      gap = std::max(gap, t - std::min(t, last_rx_ns));  /* a blackout still going on counts */
    }
    r.longest_gap_ms = double(gap) / 1e6;
    r.max_rtt_us = rtt_max_us;
    r.mean_rtt_us = rtt_count ? rtt_sum_us / double(rtt_count) : 0;
    return r;
  }

  void reset() {
    std::lock_guard g(mu);
    base_seq = next_seq;
    sent = received = duplicates = reordered = 0;
    have_highest = false;
    highest = 0;
    last_rx_ns = longest_gap_ns = 0;
    rtt_sum_us = rtt_max_us = 0;
    rtt_count = 0;
  }
};

TrafficEndpoint::TrafficEndpoint(std::shared_ptr<Wire> wire, const TrafficConfig &cfg)
    : impl_(std::make_unique<Impl>(std::move(wire), cfg)) {}

TrafficEndpoint::~TrafficEndpoint() { stop(); }

void TrafficEndpoint::start() {
  if (impl_->running.exchange(true))
    return;
  impl_->worker = std::thread([this] { impl_->run(); });
}

void TrafficEndpoint::stop() {
  if (!impl_->running.exchange(false))
    return;
  if (impl_->worker.joinable())
    impl_->worker.join();
}

TrafficReport TrafficEndpoint::report() const { return impl_->report(); }

void TrafficEndpoint::reset_report() { impl_->reset(); }

}  // namespace ixgbevf_lm::model
