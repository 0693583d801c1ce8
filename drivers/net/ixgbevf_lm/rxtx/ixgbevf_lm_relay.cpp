/* SPDX-License-Identifier: BSD-3-Clause
 * The doorbell relay for secondary processes (see ixgbevf_lm_relay.h).
 */
#include "ixgbevf_lm_relay.h"

#include <ctime>
#include <memory>
#include <map>
#include <thread>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

struct Relay {
  std::mutex mu;                /* the relay lock: one pass, the port set, queue restart/release */
  std::map<uint16_t, unsigned> ports;  /* port -> secondaries attached */
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> stop;  /* the running thread's */

  ~Relay() { stop_thread(false); }  /* an application that exits without closing its ports */
  void stop_thread(bool only_if_idle) {
    std::thread t;
    {
      std::lock_guard g(mu);
      if (only_if_idle && !ports.empty())
        return;  /* a port was added since */
      if (stop)
        stop->store(true);
      stop.reset();
      t = std::move(thread);
    }
    if (t.joinable())
      t.join();
  }
};
Relay &relay() {
  static Relay r;
  return r;
}

/* One queue: a changed posted value goes to the device; only while the queue runs. */
void relay_one(const HwAccess &hw, QueueGate &gate, SharedTail &t, uint32_t reg) {
  if (gate.state.load(std::memory_order_acquire) != kQueueRunning)
    return;
  const uint32_t v = t.posted.load(std::memory_order_acquire);
  if (v == t.relayed)
    return;
  t.relayed = v;
  wr32(hw, reg, v);
}

void relay_pass(Relay &r) {
  std::lock_guard g(r.mu);
  for (const auto &[port, users] : r.ports) {
    rte_eth_dev *dev = &rte_eth_devices[port];
    if (!dev->data || !dev->data->dev_private)
      continue;
    Adapter &ad = adapter_of(dev);
    if (ad.closed || !ad.started)
      continue;
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
      if (auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]))
        relay_one(ad.hw, q->gate, q->shared_tail, VFRDT(i));
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
      if (auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]))
        relay_one(ad.hw, q->gate, q->shared_tail, VFTDT(i));
  }
}

void relay_main(Relay *r, std::shared_ptr<std::atomic<bool>> stop) {
  const timespec nap{0, long(kRelayPollUs * 1000)};
  while (!stop->load(std::memory_order_relaxed)) {
    relay_pass(*r);
    clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, nullptr);
  }
}

}  // namespace

std::unique_lock<std::mutex> relay_lock() noexcept { return std::unique_lock(relay().mu); }

void relay_reset(SharedTail &t, uint32_t tail) noexcept {
  t.posted.store(tail, std::memory_order_relaxed);
  t.relayed = tail;
}

int relay_add_port(uint16_t port_id) noexcept {
  Relay &r = relay();
  try {
    std::lock_guard g(r.mu);
    r.ports[port_id]++;
    if (!r.stop) {
      auto stop = std::make_shared<std::atomic<bool>>(false);
      std::thread t(relay_main, &r, stop);
      if (r.thread.joinable())
        r.thread.detach();  /* a previous relay told to stop and not joined yet: it exits by itself */
      r.thread = std::move(t);
      r.stop = std::move(stop);
      IXGBEVF_LM_LOG(INFO, "port %u: relaying secondary processes' doorbells to the device every %llu us", port_id,
                     (unsigned long long)kRelayPollUs);
    }
    return 0;
  } catch (const std::exception &e) {
    IXGBEVF_LM_LOG(ERR, "port %u: cannot start the doorbell relay: %s", port_id, e.what());
    return -ENOMEM;
  }
}

void relay_release_port(uint16_t port_id) noexcept {
  Relay &r = relay();
  {
    std::lock_guard g(r.mu);
    auto it = r.ports.find(port_id);
    if (it == r.ports.end() || --it->second > 0)
      return;
    r.ports.erase(it);
  }
  r.stop_thread(true);
}

void relay_remove_port(uint16_t port_id) noexcept {
  Relay &r = relay();
  {
    std::lock_guard g(r.mu);
    if (!r.ports.erase(port_id))
      return;
  }
  r.stop_thread(true);
}

}  // namespace ixgbevf_lm::pmd
