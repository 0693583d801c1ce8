/* SPDX-License-Identifier: BSD-3-Clause
 * A traffic endpoint on a Wire: sends numbered UDP frames to a MAC at a set rate and records what
 * comes back (the application reflects them with MACs swapped) and when.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <ixgbevf_lm/model/pf_model.h>

namespace ixgbevf_lm::model {

struct TrafficConfig {
  MacAddr src_mac{0x02, 0x00, 0x00, 0x00, 0xee, 0x01};
  MacAddr dst_mac{};
  uint32_t frames_per_second = 10000;
  uint16_t frame_size = 128;
  int thread_nice = 0;  /* the sending thread's nice value (see PfConfig::thread_nice) */
};

struct TrafficReport {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t lost = 0;                 /* sent, older than the newest received, never seen */
  uint64_t duplicates = 0;
  uint64_t reordered = 0;
  double longest_gap_ms = 0;         /* longest time without any reflected frame arriving */
  double max_rtt_us = 0;
  double mean_rtt_us = 0;
};

class TrafficEndpoint {
 public:
  TrafficEndpoint(std::shared_ptr<Wire> wire, const TrafficConfig &cfg);
  ~TrafficEndpoint();
  void start();                      /* runs its own thread */
  void stop();
  TrafficReport report() const;
  void reset_report();               /* start a new measurement window */

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ixgbevf_lm::model
