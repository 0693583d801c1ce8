/* SPDX-License-Identifier: BSD-3-Clause */
#include "reflector_loop.h"

#include <vector>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

namespace reflector {

void swap_macs(rte_mbuf *m)
{
  auto *eh = rte_pktmbuf_mtod(m, rte_ether_hdr *);
  rte_ether_addr tmp = eh->dst_addr;
  eh->dst_addr = eh->src_addr;
  eh->src_addr = tmp;
}

namespace {

struct Backlog {
  rte_mbuf *m[kBacklog];
  unsigned n = 0;
};

void publish(uint64_t &field, uint64_t v)
{
  std::atomic_ref<uint64_t>(field).store(v, std::memory_order_relaxed);
}

}  // namespace

int run_loop(const Queue *queues, unsigned n, const std::atomic<bool> *stop, Stats *stats)
{
  std::vector<Backlog> backlog(n);  /* allocated once, before the loop */
  std::vector<Stats> local(n);
  rte_mbuf *burst[kBurst];
  while (!stop->load(std::memory_order_relaxed)) {
    for (unsigned i = 0; i < n; ++i) {
      const Queue &q = queues[i];
      Backlog &b = backlog[i];
      Stats &s = local[i];
      /* Old frames first, in order. */
      if (b.n != 0) {
        const uint16_t sent = rte_eth_tx_burst(q.port, q.queue, b.m, uint16_t(b.n));
        for (unsigned k = sent; k < b.n; ++k)
          b.m[k - sent] = b.m[k];
        b.n -= sent;
        s.tx += sent;
      }
      const uint16_t nb = rte_eth_rx_burst(q.port, q.queue, burst, kBurst);
      if (nb == 0)
        continue;
      s.rx += nb;
      for (uint16_t k = 0; k < nb; ++k)
        swap_macs(burst[k]);
      uint16_t sent = 0;
      if (b.n == 0)
        sent = rte_eth_tx_burst(q.port, q.queue, burst, nb);
      s.tx += sent;
      for (uint16_t k = sent; k < nb; ++k) {
        if (b.n < kBacklog) {
          b.m[b.n++] = burst[k];
        } else {
          rte_pktmbuf_free(burst[k]);
          ++s.dropped;
        }
      }
      if (stats != nullptr) {
        publish(stats[i].rx, s.rx);
        publish(stats[i].tx, s.tx);
        publish(stats[i].dropped, s.dropped);
      }
    }
  }
  for (unsigned i = 0; i < n; ++i) {
    for (unsigned k = 0; k < backlog[i].n; ++k)
      rte_pktmbuf_free(backlog[i].m[k]);
    if (stats != nullptr) {
      publish(stats[i].tx, local[i].tx);
      publish(stats[i].dropped, local[i].dropped + backlog[i].n);
    }
  }
  return 0;
}

}  // namespace reflector
