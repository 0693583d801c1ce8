/* SPDX-License-Identifier: BSD-3-Clause
 * Private to lib/model: the bounded frame queue behind the wire's stations and the loopback uplink.
 *
 * A FrameRing is a ring of fixed-size slots allocated once (kSlotBytes each), so steady-state traffic
 * allocates nothing. Any number of producers (serialised by a mutex: a wire station receives from
 * every other station) and one consumer at a time (pop() holds the consumer mutex while it delivers
 * straight from the slots, then releases them). A full ring drops the frame and counts it, as a link
 * whose receiver does not keep up would.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <span>

#include <ixgbevf_lm/hw/regs.h>

namespace ixgbevf_lm::model::detail {

/* Largest frame a wire, the loopback or a TAP carries: the MAC's jumbo limit. */
inline constexpr unsigned kMaxWireFrame = hw::kMaxFrameSize;
/* Frames a station can hold before it drops (about 10 MB of slots, allocated lazily by the OS). */
inline constexpr unsigned kDefaultStationSlots = 1024;

struct RingCounters {
  uint64_t queued = 0;     /* accepted into the ring */
  uint64_t delivered = 0;  /* handed to the consumer */
  uint64_t dropped = 0;    /* ring full */
  uint64_t oversize = 0;   /* longer than kMaxWireFrame (or empty) */
};

class FrameRing {
 public:
  static constexpr unsigned kSlotBytes = kMaxWireFrame;

  explicit FrameRing(unsigned slots = kDefaultStationSlots)
      : slots_(slots), data_(new uint8_t[size_t(slots) * kSlotBytes]), len_(new uint32_t[slots]) {}
  FrameRing(const FrameRing &) = delete;
  FrameRing &operator=(const FrameRing &) = delete;

  unsigned capacity() const { return slots_; }

  /* Copies the frame into the next free slot; false (and counted) when full or oversize. */
  bool push(std::span<const uint8_t> frame) {
    if (frame.empty() || frame.size() > kSlotBytes) {
      oversize_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::lock_guard g(prod_mu_);
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) >= slots_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    const size_t i = size_t(tail % slots_);
    std::memcpy(data_.get() + i * kSlotBytes, frame.data(), frame.size());
    len_[i] = uint32_t(frame.size());
    tail_.store(tail + 1, std::memory_order_release);
    queued_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /* Delivers up to max queued frames in order; returns how many. The span is valid during the call. */
  unsigned pop(const std::function<void(std::span<const uint8_t>)> &deliver, unsigned max) {
    std::lock_guard g(cons_mu_);
    uint64_t head = head_.load(std::memory_order_relaxed);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    unsigned n = 0;
    while (head != tail && n < max) {
      const size_t i = size_t(head % slots_);
      deliver(std::span<const uint8_t>(data_.get() + i * kSlotBytes, len_[i]));
      ++head;
      ++n;
      head_.store(head, std::memory_order_release);  /* the slot is free again */
    }
    delivered_.fetch_add(n, std::memory_order_relaxed);
    return n;
  }

  unsigned pending() const {
    return unsigned(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
  }

  RingCounters counters() const {
    RingCounters c;
    c.queued = queued_.load(std::memory_order_relaxed);
    c.delivered = delivered_.load(std::memory_order_relaxed);
    c.dropped = dropped_.load(std::memory_order_relaxed);
    c.oversize = oversize_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  const unsigned slots_;
  std::unique_ptr<uint8_t[]> data_;
  std::unique_ptr<uint32_t[]> len_;
  std::mutex prod_mu_;
  std::mutex cons_mu_;
  std::atomic<uint64_t> head_{0};
  std::atomic<uint64_t> tail_{0};
  std::atomic<uint64_t> queued_{0}, delivered_{0}, dropped_{0}, oversize_{0};
};

}  // namespace ixgbevf_lm::model::detail
