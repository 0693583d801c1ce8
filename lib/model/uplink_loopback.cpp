/* SPDX-License-Identifier: BSD-3-Clause
 * The loopback uplink: every frame the PF transmits comes back on its next poll(), as a cable
 * plugged from the port into itself would return it. Bounded like a wire station.
 */
#include <algorithm>
#include <cstdio>
#include <string>

#include <ixgbevf_lm/model/pf_model.h>

#include "wire_internal.h"

namespace ixgbevf_lm::model {
namespace {

class LoopbackUplink final : public Uplink {
 public:
  void transmit(std::span<const uint8_t> frame) override { ring_.push(frame); }

  unsigned poll(const std::function<void(std::span<const uint8_t>)> &deliver, unsigned max) override {
    /* Frames the delivery transmits again come back on the next poll, not this one. */
    return ring_.pop(deliver, std::min(max, ring_.pending()));
  }

  std::string describe() const override {
    const detail::RingCounters c = ring_.counters();
    char buf[160];
    std::snprintf(buf, sizeof buf, "loopback (queue %u frames, rx %llu, dropped %llu, oversize %llu)",
                  ring_.capacity(), (unsigned long long)c.delivered, (unsigned long long)c.dropped,
                  (unsigned long long)c.oversize);
    return buf;
  }

 private:
  detail::FrameRing ring_;
};

}  // namespace

std::unique_ptr<Uplink> make_loopback_uplink() { return std::make_unique<LoopbackUplink>(); }

}  // namespace ixgbevf_lm::model
