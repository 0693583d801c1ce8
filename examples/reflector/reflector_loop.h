/* SPDX-License-Identifier: BSD-3-Clause
 * The reflector's forwarding loop: every frame received on a queue goes back out of the same
 * port and queue with its source and destination MAC addresses swapped. Plain DPDK: it knows
 * nothing of migration. A port that stops taking frames (tx burst returns fewer than offered, as
 * a port does while it is quiesced) keeps them in a small per-queue backlog that is retried on
 * every turn; only when the backlog is full are frames dropped.
 */
#pragma once

#include <atomic>
#include <cstdint>

struct rte_mbuf;

namespace reflector {

struct Queue {
  uint16_t port = 0;
  uint16_t queue = 0;
};

struct Stats {
  uint64_t rx = 0;
  uint64_t tx = 0;
  uint64_t dropped = 0;  /* backlog full */
};

/* Frames one queue holds back while its port refuses them. */
inline constexpr unsigned kBacklog = 512;
inline constexpr unsigned kBurst = 32;

/* Poll the queues round-robin until *stop is true. stats (n entries, one per queue) is updated
 * with relaxed stores so that another thread may read it. Returns 0. */
int run_loop(const Queue *queues, unsigned n, const std::atomic<bool> *stop, Stats *stats);

/* Swap the source and destination MAC addresses of one frame in place. */
void swap_macs(rte_mbuf *m);

}  // namespace reflector
