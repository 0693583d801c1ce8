/* SPDX-License-Identifier: BSD-3-Clause
 * Waking an idle Rx lcore (see ixgbevf_lm_intr.h).
 */
#include "ixgbevf_lm_intr.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <vector>

#include <bus_pci_driver.h>
#include <ethdev_pci.h>
#include <rte_byteorder.h>
#include <rte_interrupts.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

/* opaque[] of the monitor condition: the little-endian DD mask and the value meaning "written back". */
enum : unsigned { kMonMask = 0, kMonValue = 1 };

/* rte_power_monitor's abort test: -1 (do not sleep) once the device wrote the descriptor back. */
int rx_monitor_cb(const uint64_t value, const uint64_t opaque[RTE_POWER_MONITOR_OPAQUE_SZ]) {
  return (value & opaque[kMonMask]) == opaque[kMonValue] ? -1 : 0;
}

/* The VF has three MSI-X vectors. As DPDK's ixgbevf lays them out: vector 0 for the mailbox/other
 * cause (the driver polls the mailbox and leaves it masked), vectors 1..2 for Rx queues; VFIO's
 * vector 1 + i is event fd i, so an Rx queue's vector list entry is its MSI-X vector. */
constexpr unsigned kRxVecStart = 1;
constexpr unsigned kRxVectors = 2;
/* VTIVAR field: vector number in bits 1:0, valid in bit 7. */
constexpr uint32_t kIvarValid = 0x80;

/* What intr_start set up for one port. */
struct IntrState {
  unsigned nb_vec = 0;                       /* Rx vectors in use (1..kRxVectors) */
  std::vector<unsigned> vec_of_queue;        /* MSI-X vector of each Rx queue */
  std::vector<bool> armed;                   /* rx_queue_intr_enable'd queues */
  /* A backend delivering MSI-X itself: our own interrupt instance and its event fds. */
  rte_intr_handle *own_handle = nullptr;
  std::vector<int> fds;

  ~IntrState() {
    if (own_handle) {
      rte_intr_vec_list_free(own_handle);
      rte_intr_instance_free(own_handle);
    }
    for (int fd : fds)
      close(fd);
  }
};

std::array<std::unique_ptr<IntrState>, RTE_MAX_ETHPORTS> g_intr;

uint32_t vector_bit(unsigned v) { return 1u << v; }

/* A backend that delivers MSI-X itself (DeviceBackend::msix_connect): our own interrupt instance,
 * one eventfd per Rx vector, which the backend's device writes. */
int own_intr_setup(rte_eth_dev *dev, Adapter &ad, IntrState &st) {
  rte_intr_handle *h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
  if (!h)
    return -ENOMEM;
  st.own_handle = h;
  for (unsigned i = 0; i < st.nb_vec; i++) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
      return -errno;
    st.fds.push_back(fd);
    if (rte_intr_efds_index_set(h, int(i), fd))
      return -rte_errno;
  }
  if (rte_intr_type_set(h, RTE_INTR_HANDLE_VDEV) || rte_intr_fd_set(h, st.fds[0]) ||
      rte_intr_nb_efd_set(h, uint8_t(st.nb_vec)) || rte_intr_max_intr_set(h, int(st.nb_vec + 1)) ||
      rte_intr_efd_counter_size_set(h, sizeof(uint64_t)))
    return -rte_errno;
  if (int rc = ad.backend->msix_connect(ad, st.fds.data(), unsigned(st.fds.size())); rc != 0)
    return rc;
  dev->intr_handle = h;
  return 0;
}

}  // namespace

namespace {

/* The VF's side of the Rx interrupts: queue-to-vector map (VTIVAR), auto-mask and auto-clear, and
 * the queues the application armed. A VF reset (a migration's rebuild, a PF reset) clears all of it. */
void program_vectors(Adapter &ad, const IntrState &st) noexcept {
  std::array<uint32_t, hw::kVfMaxQueues / 2> ivar{};
  for (unsigned q = 0; q < st.vec_of_queue.size(); q++)
    ivar[q / 2] |= (st.vec_of_queue[q] | kIvarValid) << (16 * (q & 1));
  /* all masked until rx_queue_intr_enable; a vector masks itself when it fires (one-shot, as the
   * application re-arms after each wake-up) and clears its cause */
  uint32_t all = 0, armed = 0;
  for (unsigned i = 0; i < st.nb_vec; i++)
    all |= vector_bit(kRxVecStart + i);
  for (unsigned q = 0; q < st.armed.size(); q++)
    if (st.armed[q])
      armed |= vector_bit(st.vec_of_queue[q]);
  wr32(ad.hw, VTEIMC, all);
  for (unsigned i = 0; i < (st.vec_of_queue.size() + 1) / 2; i++)
    wr32(ad.hw, VTIVAR(i), ivar[i]);
  wr32(ad.hw, VTEIAM, all);
  wr32(ad.hw, VTEIAC, all);
  wr32(ad.hw, VTEICR, all); /* forget causes from before */
  if (armed)
    wr32(ad.hw, VTEIMS, armed);
}

}  // namespace

void intr_restore(rte_eth_dev *dev) noexcept {
  if (const IntrState *st = g_intr[dev->data->port_id].get())
    program_vectors(adapter_of(dev), *st);
}

int intr_start(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  const uint16_t port = dev->data->port_id;
  intr_stop(dev);
  if (!dev->data->dev_conf.intr_conf.rxq)
    return 0;
  const unsigned nq = dev->data->nb_rx_queues;
  if (nq == 0)
    return 0;
  try {
    auto st = std::make_unique<IntrState>();
    st->nb_vec = nq < kRxVectors ? nq : kRxVectors;
    int rc;
    const bool own = ad.backend->msix_connect != nullptr;
    if (own) {
      rc = own_intr_setup(dev, ad, *st);
    } else {
      rte_intr_handle *h = dev->intr_handle;
      if (!h || !rte_intr_cap_multiple(h)) {
        IXGBEVF_LM_LOG(ERR, "port %u: Rx interrupts need VFIO MSI-X", port);
        return -ENOTSUP;
      }
      rte_intr_disable(h);
      rc = rte_intr_efd_enable(h, st->nb_vec);
    }
    if (rc) {
      IXGBEVF_LM_LOG(ERR, "port %u: cannot set up Rx interrupt event fds: %s", port, rte_strerror(-rc));
      if (own)
        ad.backend->msix_disconnect(ad);
      if (dev->intr_handle == st->own_handle && st->own_handle)
        dev->intr_handle = nullptr;
      return rc;
    }
    rte_intr_handle *h = dev->intr_handle;
    if (rte_intr_vec_list_alloc(h, "intr_vec", int(nq))) {
      IXGBEVF_LM_LOG(ERR, "port %u: cannot allocate the Rx interrupt vector list", port);
      g_intr[port] = std::move(st);
      intr_stop(dev);
      return -ENOMEM;
    }
    st->vec_of_queue.resize(nq);
    st->armed.assign(nq, false);
    for (unsigned q = 0; q < nq; q++) {
      unsigned v = kRxVecStart + (q < st->nb_vec ? q : st->nb_vec - 1);
      st->vec_of_queue[q] = v;
      rte_intr_vec_list_index_set(h, int(q), int(v));
    }
    program_vectors(ad, *st);
    g_intr[port] = std::move(st);
    if (!own && rte_intr_enable(h)) {
      IXGBEVF_LM_LOG(ERR, "port %u: VFIO refused the MSI-X vectors", port);
      intr_stop(dev);
      return -EIO;
    }
    return 0;
  } catch (const std::bad_alloc &) {
    return -ENOMEM;
  }
}

void intr_stop(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  std::unique_ptr<IntrState> st = std::move(g_intr[dev->data->port_id]);
  if (!st)
    return;
  uint32_t all = 0;
  for (unsigned i = 0; i < st->nb_vec; i++)
    all |= vector_bit(kRxVecStart + i);
  wr32(ad.hw, VTEIMC, all);
  for (unsigned i = 0; i < (st->vec_of_queue.size() + 1) / 2; i++)
    wr32(ad.hw, VTIVAR(i), 0);
  if (st->own_handle) {
    ad.backend->msix_disconnect(ad); /* returns with no signal in flight: the fds may close */
    if (dev->intr_handle == st->own_handle)
      dev->intr_handle = nullptr;
  } else if (dev->intr_handle) {
    rte_intr_disable(dev->intr_handle);
    rte_intr_efd_disable(dev->intr_handle);
    rte_intr_vec_list_free(dev->intr_handle);
  }
}

namespace {

IntrState *intr_state(rte_eth_dev *dev, uint16_t qid) {
  IntrState *st = g_intr[dev->data->port_id].get();
  return st && qid < st->vec_of_queue.size() ? st : nullptr;
}

}  // namespace

int rx_queue_intr_enable(rte_eth_dev *dev, uint16_t qid) noexcept {
  IntrState *st = intr_state(dev, qid);
  if (!st)
    return -EINVAL;
  Adapter &ad = adapter_of(dev);
  st->armed[qid] = true;
  /* a cause that came while masked fires as soon as the vector is enabled */
  wr32(ad.hw, VTEIMS, vector_bit(st->vec_of_queue[qid]));
  if (!st->own_handle && dev->intr_handle)
    rte_intr_ack(dev->intr_handle);
  return 0;
}

int rx_queue_intr_disable(rte_eth_dev *dev, uint16_t qid) noexcept {
  IntrState *st = intr_state(dev, qid);
  if (!st)
    return -EINVAL;
  Adapter &ad = adapter_of(dev);
  st->armed[qid] = false;
  unsigned v = st->vec_of_queue[qid];
  for (size_t q = 0; q < st->vec_of_queue.size(); q++)
    if (st->armed[q] && st->vec_of_queue[q] == v)
      return 0; /* another armed queue shares the vector */
  wr32(ad.hw, VTEIMC, vector_bit(v));
  return 0;
}

int rx_get_monitor_addr(void *rxq, rte_power_monitor_cond *pmc) noexcept {
  auto *q = static_cast<RxQueue *>(rxq);
  if (!q || !q->ring || !pmc)
    return -EINVAL;
  /* the descriptor the next burst looks at; the device sets DD in its status word on write-back */
  volatile RxDesc *d = &q->ring[q->rx_tail];
  pmc->addr = &d->wb.status_error;
  pmc->size = sizeof(uint32_t);
  pmc->fn = rx_monitor_cb;
  pmc->opaque[kMonMask] = rte_cpu_to_le_32(RXD_STAT_DD);
  pmc->opaque[kMonValue] = rte_cpu_to_le_32(RXD_STAT_DD);
  return 0;
}

}  // namespace ixgbevf_lm::pmd
