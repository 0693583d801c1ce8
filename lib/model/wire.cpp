/* SPDX-License-Identifier: BSD-3-Clause
 * A shared Ethernet segment (a hub): every frame a station transmits is queued at every other
 * station, never back at the sender. Each station's queue is a bounded FrameRing; when a station does
 * not poll fast enough its queue fills and further frames for it are dropped and counted, while the
 * other stations keep receiving.
 *
 * Threads: any station may transmit and poll from its own thread. The station list is read-locked
 * while a frame is fanned out, so attaching or detaching a station never races a transmission.
 */
#include <cstdio>
#include <shared_mutex>
#include <string>
#include <vector>

#include <ixgbevf_lm/model/pf_model.h>

#include "wire_internal.h"

namespace ixgbevf_lm::model {

class Wire {
 public:
  explicit Wire(std::string name) : name_(std::move(name)) {}

  const std::string &name() const { return name_; }

  std::shared_ptr<detail::FrameRing> attach(unsigned *id) {
    auto ring = std::make_shared<detail::FrameRing>();
    std::unique_lock g(mu_);
    *id = next_id_++;
    stations_.push_back({*id, ring});
    return ring;
  }

  void detach(unsigned id) {
    std::unique_lock g(mu_);
    for (auto it = stations_.begin(); it != stations_.end(); ++it)
      if (it->id == id) {
        stations_.erase(it);
        return;
      }
  }

  void send(unsigned from, std::span<const uint8_t> frame) {
    std::shared_lock g(mu_);
    for (const Station &s : stations_)
      if (s.id != from)
        s.ring->push(frame);
  }

 private:
  struct Station {
    unsigned id;
    std::shared_ptr<detail::FrameRing> ring;
  };
  const std::string name_;
  std::shared_mutex mu_;
  std::vector<Station> stations_;
  unsigned next_id_ = 1;
};

namespace {

class WireUplink final : public Uplink {
 public:
  explicit WireUplink(std::shared_ptr<Wire> wire) : wire_(std::move(wire)) { ring_ = wire_->attach(&id_); }
  ~WireUplink() override { wire_->detach(id_); }

  void transmit(std::span<const uint8_t> frame) override {
    if (frame.empty() || frame.size() > detail::kMaxWireFrame) {
      oversize_tx_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    wire_->send(id_, frame);
  }

  unsigned poll(const std::function<void(std::span<const uint8_t>)> &deliver, unsigned max) override {
    return ring_->pop(deliver, max);
  }

  /* "wire:NAME station N (queue Q frames, rx R, dropped D, oversize O)" */
  std::string describe() const override {
    const detail::RingCounters c = ring_->counters();
    char buf[256];
    std::snprintf(buf, sizeof buf, "wire:%s station %u (queue %u frames, rx %llu, dropped %llu, oversize %llu)",
                  wire_->name().c_str(), id_, ring_->capacity(), (unsigned long long)c.delivered,
                  (unsigned long long)c.dropped,
                  (unsigned long long)(c.oversize + oversize_tx_.load(std::memory_order_relaxed)));
    return buf;
  }

 private:
  std::shared_ptr<Wire> wire_;
  std::shared_ptr<detail::FrameRing> ring_;
  unsigned id_ = 0;
  std::atomic<uint64_t> oversize_tx_{0};
};

}  // namespace

std::shared_ptr<Wire> make_wire(std::string name) { return std::make_shared<Wire>(std::move(name)); }

std::unique_ptr<Uplink> make_wire_uplink(std::shared_ptr<Wire> wire) {
  if (!wire)
    return nullptr;
  return std::make_unique<WireUplink>(std::move(wire));
}

}  // namespace ixgbevf_lm::model
