/* SPDX-License-Identifier: BSD-3-Clause
 * Multi-process: the primary's IPC handler, the secondary's attach and its control-path requests.
 */
#include "ixgbevf_lm_mp.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include <rte_eal.h>
#include <rte_string_fns.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_relay.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

namespace {

constexpr char kMpAction[] = "ixgbevf_lm_mp";

enum class MpOp : uint32_t { attach = 1, detach, counters, stats_reset, xstats_reset, link_update };

const char *op_name(MpOp op) {
  switch (op) {
  case MpOp::attach: return "attach";
  case MpOp::detach: return "detach";
  case MpOp::counters: return "counters";
  case MpOp::stats_reset: return "stats_reset";
  case MpOp::xstats_reset: return "xstats_reset";
  case MpOp::link_update: return "link_update";
  }
  return "?";
}

struct MpRequest {
  uint32_t op;
  uint16_t port_id;
};
struct MpReply {
  int32_t rc;
  CounterSnapshot snap;
};
static_assert(sizeof(MpRequest) <= RTE_MP_MAX_PARAM_LEN && sizeof(MpReply) <= RTE_MP_MAX_PARAM_LEN,
              "IPC messages carry at most RTE_MP_MAX_PARAM_LEN bytes");

/* ---------------- primary ---------------- */

int serve(const MpRequest &req, MpReply *rep) {
  if (!rte_eth_dev_is_valid_port(req.port_id))
    return -ENODEV;
  rte_eth_dev *dev = &rte_eth_devices[req.port_id];
  if (dev->dev_ops != &kEthDevOps)
    return -ENODEV;  /* not a port of this driver */
  Adapter &ad = adapter_of(dev);
  if (ad.closed)
    return -ENODEV;
  switch (MpOp(req.op)) {
  case MpOp::attach:
    return ad.backend->secondary_doorbell_relay ? relay_add_port(req.port_id) : 0;
  case MpOp::detach:
    if (ad.backend->secondary_doorbell_relay)
      relay_release_port(req.port_id);
    return 0;
  case MpOp::counters:
    counters_snapshot(ad, &rep->snap);
    return 0;
  case MpOp::stats_reset:
    return stats_reset(dev);
  case MpOp::xstats_reset:
    return xstats_reset(dev);
  case MpOp::link_update:
    return vf_link_update(dev, 0);
  }
  return -EINVAL;
}

int mp_handle(const rte_mp_msg *msg, const void *peer) noexcept {
  MpReply rep{};
  MpRequest req{};
  if (msg->len_param != int(sizeof req)) {
    rep.rc = -EINVAL;
  } else {
    std::memcpy(&req, msg->param, sizeof req);
    rep.rc = serve(req, &rep);
  }
  rte_mp_msg out{};
  rte_strlcpy(out.name, kMpAction, sizeof out.name);
  out.len_param = int(sizeof rep);
  std::memcpy(out.param, &rep, sizeof rep);
  return rte_mp_reply(&out, static_cast<const char *>(peer));
}

/* ---------------- secondary ---------------- */

int request(uint16_t port_id, MpOp op, MpReply *rep) {
  rte_mp_msg msg{};
  rte_strlcpy(msg.name, kMpAction, sizeof msg.name);
  const MpRequest req{uint32_t(op), port_id};
  msg.len_param = int(sizeof req);
  std::memcpy(msg.param, &req, sizeof req);
  struct rte_mp_reply reply{};
  const timespec ts{kMpTimeoutMs / 1000, long(kMpTimeoutMs % 1000) * 1000000L};
  int rc = rte_mp_request_sync(&msg, &reply, &ts);
  if (rc != 0 || reply.nb_received != 1 || reply.msgs[0].len_param != int(sizeof *rep)) {
    IXGBEVF_LM_LOG(ERR, "port %u: the primary process did not answer %s within %u ms (%s)", port_id, op_name(op),
                   kMpTimeoutMs, rc != 0 ? rte_strerror(rte_errno) : "no or malformed reply");
    free(reply.msgs);
    return -EIO;
  }
  std::memcpy(rep, reply.msgs[0].param, sizeof *rep);
  free(reply.msgs);
  return rep->rc;
}

}  // namespace

void mp_primary_init() noexcept {
  if (rte_mp_action_register(kMpAction, mp_handle) != 0 && rte_errno != EEXIST && rte_errno != ENOTSUP)
    IXGBEVF_LM_LOG(WARNING, "cannot register IPC action %s (%s): secondary processes cannot use the ports",
                   kMpAction, rte_strerror(rte_errno));
}

int secondary_attach(rte_eth_dev *dev, uint8_t *mmio) noexcept {
  auto *pl = new (std::nothrow) ProcessLocal();
  if (!pl)
    return -ENOMEM;
  pl->mmio = mmio;
  MpReply rep{};
  int rc = request(dev->data->port_id, MpOp::attach, &rep);
  if (rc) {
    IXGBEVF_LM_LOG(ERR, "port %u (%s): the primary process refused the attach: %s", dev->data->port_id,
                   dev->data->name, rte_strerror(-rc));
    delete pl;
    return rc;
  }
  dev->process_private = pl;
  dev->dev_ops = &kEthDevOpsSecondary;
  install_datapath(dev, true);
  return 0;
}

int mp_dev_close(rte_eth_dev *dev) noexcept {
  MpReply rep{};
  (void)request(dev->data->port_id, MpOp::detach, &rep);  /* a primary gone or closing: nothing to undo */
  delete static_cast<ProcessLocal *>(dev->process_private);
  dev->process_private = nullptr;
  return 0;
}

int mp_link_update(rte_eth_dev *dev, int) noexcept {
  MpReply rep{};
  int rc = request(dev->data->port_id, MpOp::link_update, &rep);
  return rc == 0 ? 0 : -1;  /* 0: changed, -1: unchanged (or the primary did not answer: dev_link kept) */
}

int mp_stats_get(rte_eth_dev *dev, rte_eth_stats *st) noexcept {
  MpReply rep{};
  if (int rc = request(dev->data->port_id, MpOp::counters, &rep); rc != 0)
    return rc;
  return stats_fill(dev, rep.snap, st);
}

int mp_stats_reset(rte_eth_dev *dev) noexcept {
  MpReply rep{};
  return request(dev->data->port_id, MpOp::stats_reset, &rep);
}

int mp_xstats_get(rte_eth_dev *dev, rte_eth_xstat *xs, unsigned n) noexcept {
  MpReply rep{};
  int total = xstats_fill(dev, rep.snap, nullptr, 0);
  if (!xs || n < unsigned(total))
    return total;
  if (int rc = request(dev->data->port_id, MpOp::counters, &rep); rc != 0)
    return rc;
  return xstats_fill(dev, rep.snap, xs, n);
}

int mp_xstats_reset(rte_eth_dev *dev) noexcept {
  MpReply rep{};
  return request(dev->data->port_id, MpOp::xstats_reset, &rep);
}

}  // namespace ixgbevf_lm::pmd
