/* SPDX-License-Identifier: BSD-3-Clause
 * Waking an idle Rx lcore: the power-management monitor condition (next descriptor's status word)
 * and Rx queue interrupts (an eventfd per queue that fires on receive while armed).
 */
#include <sys/epoll.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rte_power_intrinsics.h>

#include "ixgbevf_lm_rxtx.h"
#include "pmd_env.h"

using namespace ixlm_test;
using namespace ixgbevf_lm;

namespace {

struct WakePair : public SimPortPair {
  WakePair() : SimPortPair("wk", 0x02, 2047) {}
  /* a sends one UDP frame to b */
  void send_a_to_b() {
    rte_mbuf *m = to_mbuf(mp, udp_frame(mac_b, mac_a, 64));
    ASSERT_TRUE(m);
    ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 1);
  }
  const pmd::RxQueue &rxq(uint16_t port, uint16_t q) const {
    return *static_cast<const pmd::RxQueue *>(rte_eth_devices[port].data->rx_queues[q]);
  }
};

uint64_t monitored_value(const rte_power_monitor_cond &pmc) {
  return *static_cast<const volatile uint32_t *>(pmc.addr);
}

}  // namespace

TEST_F(WakePair, MonitorAddressIsTheNextDescriptorsStatusWordAndReportsDataReadyAfterWriteBack) {
  ASSERT_EQ(a->start(mp), 0);
  ASSERT_EQ(b->start(mp), 0);
  rte_power_monitor_cond pmc{};
  ASSERT_EQ(rte_eth_get_monitor_addr(b->port, 0, &pmc), 0);
  const pmd::RxQueue &q = rxq(b->port, 0);
  EXPECT_EQ(pmc.addr, static_cast<const volatile void *>(&q.ring[q.rx_tail].wb.status_error));
  EXPECT_EQ(pmc.size, sizeof(uint32_t));
  ASSERT_NE(pmc.fn, nullptr);
  /* idle ring: the descriptor still holds its buffer address, DD clear: sleep */
  EXPECT_EQ(pmc.fn(monitored_value(pmc), pmc.opaque), 0);

  send_a_to_b();
  /* the model writes the descriptor back: the condition now says "do not sleep" */
  EXPECT_TRUE(wait_for([&] { return pmc.fn(monitored_value(pmc), pmc.opaque) != 0; }));
  EXPECT_EQ(pmc.fn(monitored_value(pmc), pmc.opaque), -1);

  /* after the frame is consumed the monitored address moves on to the following descriptor */
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  free_all(got);
  rte_power_monitor_cond next{};
  ASSERT_EQ(rte_eth_get_monitor_addr(b->port, 0, &next), 0);
  EXPECT_EQ(static_cast<const volatile uint8_t *>(next.addr) - static_cast<const volatile uint8_t *>(pmc.addr),
            ptrdiff_t(sizeof(hw::RxDesc)));
  EXPECT_EQ(next.fn(monitored_value(next), next.opaque), 0);
}

namespace {

/* Events on fd within the bound (0 or 1); an event's counter is drained. */
int wait_event(int ep, int fd, int timeout_ms) {
  epoll_event ev{};
  int n = epoll_wait(ep, &ev, 1, timeout_ms);
  if (n == 1) {
    uint64_t c;
    EXPECT_EQ(read(fd, &c, sizeof c), ssize_t(sizeof c));
  }
  return n;
}

}  // namespace

TEST_F(WakePair, RxInterruptFiresOnReceiveOnlyWhileEnabled) {
  rte_eth_conf conf{};
  conf.intr_conf.rxq = 1;
  ASSERT_EQ(a->start(mp), 0);
  ASSERT_EQ(b->start(mp, 1, &conf), 0);
  int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(b->port, 0);
  ASSERT_GE(fd, 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);

  /* armed and idle: no event */
  ASSERT_EQ(rte_eth_dev_rx_intr_enable(b->port, 0), 0);
  EXPECT_EQ(wait_event(ep, fd, 50), 0);

  /* a frame arrives: the model raises the queue's vector and the eventfd wakes the waiter */
  send_a_to_b();
  EXPECT_EQ(wait_event(ep, fd, 3000), 1);
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  free_all(got);

  /* disabled: frames arrive without an event */
  ASSERT_EQ(rte_eth_dev_rx_intr_disable(b->port, 0), 0);
  send_a_to_b();
  got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  free_all(got);
  EXPECT_EQ(wait_event(ep, fd, 50), 0);

  /* re-armed: the cause the frame left pending while masked fires at once (no lost wake-up);
   * the vector masks itself when it fires (VTEIAM), so the application re-arms after each wake */
  ASSERT_EQ(rte_eth_dev_rx_intr_enable(b->port, 0), 0);
  EXPECT_EQ(wait_event(ep, fd, 3000), 1);
  send_a_to_b();
  got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  free_all(got);
  EXPECT_EQ(wait_event(ep, fd, 50), 0);
  ASSERT_EQ(rte_eth_dev_rx_intr_enable(b->port, 0), 0);
  EXPECT_EQ(wait_event(ep, fd, 3000), 1);  /* that frame's cause, pending since */
  ASSERT_EQ(rte_eth_dev_rx_intr_enable(b->port, 0), 0);
  EXPECT_EQ(wait_event(ep, fd, 50), 0);
  send_a_to_b();
  EXPECT_EQ(wait_event(ep, fd, 3000), 1);
  got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  free_all(got);
  close(ep);
}

TEST_F(WakePair, RxInterruptFdIsUnavailableWithoutIntrConf) {
  ASSERT_EQ(b->start(mp), 0);
  EXPECT_LT(rte_eth_dev_rx_intr_ctl_q_get_fd(b->port, 0), 0);
  EXPECT_NE(rte_eth_dev_rx_intr_enable(b->port, 0), 0);
}
