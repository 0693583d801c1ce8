/* SPDX-License-Identifier: BSD-3-Clause
 * rte_security for the VF: capabilities (ESP, AES-128-GCM, transport and tunnel, both directions),
 * sessions as PF-programmed SAs (VF_IPSEC_ADD / VF_IPSEC_DEL), per-packet metadata for the Tx path,
 * and the replay of every session onto a new VF. Control path only.
 */
#include "ixgbevf_lm_security.h"

#include <cstring>

#include <rte_byteorder.h>
#include <rte_cryptodev.h>
#include <rte_errno.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

struct SessPriv {
  uint16_t slot;
};

Adapter &adapter_of_device(void *device) { return adapter_of(static_cast<rte_eth_dev *>(device)); }

const char *refusal_reason(int err) {
  switch (err) {
  case EACCES: return "the PF refuses IPsec SAs from this VF (IPsec offload for VFs disabled on the PF, or the VF not trusted)";
  case EPERM: return "the PF refuses IPsec SAs from this VF";
  case ENOSPC: return "the device's SA table is full";
  case EOPNOTSUPP: return "the PF does not accept this kind of SA from a VF (Linux's ixgbe takes inbound SAs only)";
  case EINVAL: return "the PF found the SA malformed";
  default: return "the PF refused the SA";
  }
}

/* VF_IPSEC_ADD; 0 and *handle, or a negative errno with the reason logged. */
int pf_add(Adapter &ad, const IpsecSaMsg &m, uint32_t *handle) {
  uint32_t msg[kIpsecAddMsgWords] = {VF_IPSEC_ADD};
  std::memcpy(&msg[1], &m, sizeof m);
  uint32_t reply[2] = {};
  MbxResult r = ad.mbx.request(msg, kIpsecAddMsgWords, reply, 2);
  if (r == MbxResult::ok) {
    *handle = reply[1];
    return 0;
  }
  if (r != MbxResult::nack) {
    IXGBEVF_LM_LOG(ERR, "port %u: VF_IPSEC_ADD: %s", ad.dev->data->port_id, mbx_result_str(r));
    return mbx_errno(r);
  }
  /* word 1 is the PF's -errno; anything else (INT32_MIN has no positive) reads as a plain refusal */
  const int32_t word = int32_t(reply[1]);
  int err = word < 0 && word > -4096 ? -word : EPERM;
  IXGBEVF_LM_LOG(ERR, "port %u: SA (SPI 0x%08x, %s) not created: %s (%s)", ad.dev->data->port_id,
                 rte_be_to_cpu_32(m.spi), m.dir == kIpsecDirIn ? "inbound" : "outbound", refusal_reason(err),
                 rte_strerror(err));
  return -err;
}

int pf_del(Adapter &ad, uint32_t handle) {
  uint32_t msg[2] = {VF_IPSEC_DEL, handle};
  uint32_t reply[2] = {};
  MbxResult r = ad.mbx.request(msg, 2, reply, 2);
  if (r != MbxResult::ok) {
    IXGBEVF_LM_LOG(ERR, "port %u: VF_IPSEC_DEL of SA handle %u: %s", ad.dev->data->port_id, handle,
                   mbx_result_str(r));
    return mbx_errno(r);
  }
  return 0;
}

/* The SA message for a session configuration; a negative errno (logged) when the VF cannot offload it. */
int sa_from_conf(const Adapter &ad, const rte_security_session_conf &c, IpsecSaMsg *m) {
  const uint16_t port = ad.dev->data->port_id;
  if (c.action_type != RTE_SECURITY_ACTION_TYPE_INLINE_CRYPTO || c.protocol != RTE_SECURITY_PROTOCOL_IPSEC) {
    IXGBEVF_LM_LOG(ERR, "port %u: only inline-crypto IPsec sessions are offered", port);
    return -ENOTSUP;
  }
  const rte_security_ipsec_xform &x = c.ipsec;
  if (x.proto != RTE_SECURITY_IPSEC_SA_PROTO_ESP) {
    IXGBEVF_LM_LOG(ERR, "port %u: only ESP is offloaded", port);
    return -ENOTSUP;
  }
  const rte_crypto_sym_xform *cx = c.crypto_xform;
  if (!cx || cx->next || cx->type != RTE_CRYPTO_SYM_XFORM_AEAD || cx->aead.algo != RTE_CRYPTO_AEAD_AES_GCM ||
      cx->aead.key.length != kIpsecKeyBytes || !cx->aead.key.data ||
      (cx->aead.digest_length && cx->aead.digest_length != kIpsecIcvBytes)) {
    IXGBEVF_LM_LOG(ERR, "port %u: the device offloads AES-128-GCM with a 16-byte ICV only", port);
    return -ENOTSUP;
  }
  *m = IpsecSaMsg{};
  m->spi = rte_cpu_to_be_32(x.spi);
  m->dir = x.direction == RTE_SECURITY_IPSEC_SA_DIR_INGRESS ? kIpsecDirIn : kIpsecDirOut;
  m->proto = kIpProtoEsp;
  /* The PF needs the destination address now (the inbound SA's lookup key): taken from the tunnel
   * parameters in both modes. */
  if (x.tunnel.type == RTE_SECURITY_IPSEC_TUNNEL_IPV6) {
    m->family = kAfInet6;
    std::memcpy(m->addr, &x.tunnel.ipv6.dst_addr, 16);
  } else {
    m->family = kAfInet;
    std::memcpy(m->addr, &x.tunnel.ipv4.dst_ip, 4);
  }
  if (m->dir == kIpsecDirIn && m->family == kAfInet && m->addr[0] == 0) {
    IXGBEVF_LM_LOG(ERR, "port %u: an inbound SA needs its destination address (ipsec.tunnel.ipv4.dst_ip or ipv6)",
                   port);
    return -EINVAL;
  }
  std::memcpy(m->key, cx->aead.key.data, kIpsecKeyBytes);
  std::memcpy(m->salt, &x.salt, kIpsecSaltBytes);  /* as the application holds it: the bytes after the key */
  return 0;
}

/* rte_security_session_create() returns NULL for every failure: rte_errno tells the application
 * which (EACCES: the PF refuses, ENOSPC: no SA left, ENOTSUP: not offloadable, ...). */
int create_session(Adapter &ad, rte_security_session_conf *conf, rte_security_session *sess);

int session_create(void *device, rte_security_session_conf *conf, rte_security_session *sess) {
  int rc = create_session(adapter_of_device(device), conf, sess);
  if (rc)
    rte_errno = -rc;
  return rc;
}

int create_session(Adapter &ad, rte_security_session_conf *conf, rte_security_session *sess) {
  if (!conf || !sess || !ad.sec)
    return -EINVAL;
  IpsecSaMsg m;
  int rc = sa_from_conf(ad, *conf, &m);
  if (rc)
    return rc;
  SecState &s = *ad.sec;
  std::lock_guard g(s.mu);
  unsigned slot = 0;
  while (slot < kSecMaxSessions && s.slots[slot].used)
    slot++;
  if (slot == kSecMaxSessions) {
    IXGBEVF_LM_LOG(ERR, "port %u: %u sessions already: the device has no more SAs", ad.dev->data->port_id,
                   kSecMaxSessions);
    return -ENOSPC;
  }
  uint32_t handle = 0;
  if ((rc = pf_add(ad, m, &handle)) != 0)
    return rc;
  SecSa &sa = s.slots[slot];
  sa.used = true;
  sa.outbound = m.dir == kIpsecDirOut;
  sa.msg = m;
  sa.handle = handle;
  if (sa.outbound)
    __atomic_store_n(&s.tx_sa_index[slot], uint16_t((handle - kIpsecBaseTxHandle) & ADVTXD_IPSEC_SA_INDEX_MASK),
                     __ATOMIC_RELEASE);
  static_cast<SessPriv *>(SECURITY_GET_SESS_PRIV(sess))->slot = uint16_t(slot);
  return 0;
}

int session_destroy(void *device, rte_security_session *sess) {
  Adapter &ad = adapter_of_device(device);
  if (!sess || !ad.sec)
    return -EINVAL;
  SecState &s = *ad.sec;
  uint16_t slot = static_cast<SessPriv *>(SECURITY_GET_SESS_PRIV(sess))->slot;
  std::lock_guard g(s.mu);
  if (slot >= kSecMaxSessions || !s.slots[slot].used)
    return -EINVAL;
  __atomic_store_n(&s.tx_sa_index[slot], kSecNoSa, __ATOMIC_RELEASE);
  int rc = pf_del(ad, s.slots[slot].handle);
  s.slots[slot] = SecSa{};  /* forgotten either way: it is not replayed onto a new VF */
  return rc;
}

/* A new SA for the session (new key, SPI, ...): added first, so that a refusal leaves the session
 * as it was; then the old one is deleted and the Tx path switches to the new index. */
int update_session(Adapter &ad, rte_security_session *sess, rte_security_session_conf *conf) {
  if (!sess || !conf || !ad.sec)
    return -EINVAL;
  IpsecSaMsg m;
  int rc = sa_from_conf(ad, *conf, &m);
  if (rc)
    return rc;
  SecState &s = *ad.sec;
  uint16_t slot = static_cast<SessPriv *>(SECURITY_GET_SESS_PRIV(sess))->slot;
  std::lock_guard g(s.mu);
  if (slot >= kSecMaxSessions || !s.slots[slot].used)
    return -EINVAL;
  uint32_t handle = 0;
  if ((rc = pf_add(ad, m, &handle)) != 0)
    return rc;
  SecSa &sa = s.slots[slot];
  const uint32_t old = sa.handle;
  sa.outbound = m.dir == kIpsecDirOut;
  sa.msg = m;
  sa.handle = handle;
  __atomic_store_n(&s.tx_sa_index[slot],
                   sa.outbound ? uint16_t((handle - kIpsecBaseTxHandle) & ADVTXD_IPSEC_SA_INDEX_MASK) : kSecNoSa,
                   __ATOMIC_RELEASE);
  pf_del(ad, old);  /* logged if it fails; the session uses the new SA either way */
  return 0;
}

int session_update(void *device, rte_security_session *sess, rte_security_session_conf *conf) {
  int rc = update_session(adapter_of_device(device), sess, conf);
  if (rc)
    rte_errno = -rc;
  return rc;
}

unsigned session_get_size(void *) { return sizeof(SessPriv); }

/* The trailer the engine must leave alone: ICV, pad length, next header and the padding, whose
 * length sits 18 bytes before the end of the packet. */
int set_pkt_metadata(void *device, rte_security_session *sess, rte_mbuf *m, void *) {
  Adapter &ad = adapter_of_device(device);
  if (!ad.sec || !m || m->pkt_len < kIpsecIcvBytes + kEspTrailerBytes)
    return -EINVAL;
  uint16_t slot = static_cast<SessPriv *>(SECURITY_GET_SESS_PRIV(sess))->slot;
  uint8_t pad_len_buf;
  const uint8_t *pad_len = static_cast<const uint8_t *>(
      rte_pktmbuf_read(m, m->pkt_len - (kIpsecIcvBytes + kEspTrailerBytes), 1, &pad_len_buf));
  if (!pad_len)
    return -EINVAL;
  uint64_t trailer = uint64_t(*pad_len) + kEspTrailerBytes + kIpsecIcvBytes;
  *rte_security_dynfield(m) = kSecMdValid | (trailer << kSecMdTrailerShift) | slot;
  return 0;
}

const rte_security_capability *capabilities_get(void *) {
  static const rte_cryptodev_capabilities kCrypto[] = {
      {.op = RTE_CRYPTO_OP_TYPE_SYMMETRIC,
       .sym = {.xform_type = RTE_CRYPTO_SYM_XFORM_AEAD,
               .aead = {.algo = RTE_CRYPTO_AEAD_AES_GCM,
                        .block_size = 16,
                        .key_size = {.min = 16, .max = 16, .increment = 0},
                        .digest_size = {.min = 16, .max = 16, .increment = 0},
                        .aad_size = {.min = 0, .max = 65535, .increment = 1},
                        .iv_size = {.min = 12, .max = 12, .increment = 0}}}},
      {.op = RTE_CRYPTO_OP_TYPE_UNDEFINED, .sym = {.xform_type = RTE_CRYPTO_SYM_XFORM_NOT_SPECIFIED}},
  };
  auto cap = [](rte_security_ipsec_sa_mode mode, rte_security_ipsec_sa_direction dir) {
    rte_security_capability c{};
    c.action = RTE_SECURITY_ACTION_TYPE_INLINE_CRYPTO;
    c.protocol = RTE_SECURITY_PROTOCOL_IPSEC;
    c.ipsec.proto = RTE_SECURITY_IPSEC_SA_PROTO_ESP;
    c.ipsec.mode = mode;
    c.ipsec.direction = dir;
    c.crypto_capabilities = kCrypto;
    c.ol_flags = dir == RTE_SECURITY_IPSEC_SA_DIR_EGRESS ? RTE_SECURITY_TX_OLOAD_NEED_MDATA : 0;
    return c;
  };
  static const rte_security_capability kCaps[] = {
      cap(RTE_SECURITY_IPSEC_SA_MODE_TRANSPORT, RTE_SECURITY_IPSEC_SA_DIR_EGRESS),
      cap(RTE_SECURITY_IPSEC_SA_MODE_TRANSPORT, RTE_SECURITY_IPSEC_SA_DIR_INGRESS),
      cap(RTE_SECURITY_IPSEC_SA_MODE_TUNNEL, RTE_SECURITY_IPSEC_SA_DIR_EGRESS),
      cap(RTE_SECURITY_IPSEC_SA_MODE_TUNNEL, RTE_SECURITY_IPSEC_SA_DIR_INGRESS),
      rte_security_capability{.action = RTE_SECURITY_ACTION_TYPE_NONE},
  };
  return kCaps;
}

const rte_security_ops kSecurityOps = {
    .session_create = session_create,
    .session_update = session_update,
    .session_get_size = session_get_size,
    .session_stats_get = nullptr,
    .session_destroy = session_destroy,
    .set_pkt_metadata = set_pkt_metadata,
    .capabilities_get = capabilities_get,
};

}  // namespace

bool sec_available(const Adapter &ad) noexcept { return ad.sec != nullptr; }

int sec_init(Adapter &ad) noexcept {
  if (ad.api != MbxApi::v14 || ad.sec)
    return 0;
  if (rte_security_dynfield_register() < 0) {
    IXGBEVF_LM_LOG(ERR, "port %u: the security mbuf field cannot be registered: %s", ad.dev->data->port_id,
                   rte_strerror(rte_errno));
    return -rte_errno;
  }
  try {
    ad.sec = std::make_unique<SecState>();
  } catch (...) {
    return -ENOMEM;
  }
  ad.sec->ctx.device = ad.dev;
  ad.sec->ctx.ops = &kSecurityOps;
  ad.dev->security_ctx = &ad.sec->ctx;
  return 0;
}

void sec_uninit(Adapter &ad) noexcept {
  if (ad.dev)
    ad.dev->security_ctx = nullptr;
  ad.sec.reset();
}

int sec_replay(Adapter &ad) noexcept {
  if (!ad.sec)
    return 0;
  SecState &s = *ad.sec;
  std::lock_guard g(s.mu);
  int first_err = 0;
  unsigned n = 0;
  for (unsigned slot = 0; slot < kSecMaxSessions; slot++) {
    SecSa &sa = s.slots[slot];
    if (!sa.used)
      continue;
    if (ad.api != MbxApi::v14) {
      IXGBEVF_LM_LOG(ERR, "port %u: the new VF's PF does not speak mailbox API 1.4: IPsec SAs cannot be restored",
                     ad.dev->data->port_id);
      s.tx_sa_index.fill(kSecNoSa);
      return -ENOTSUP;
    }
    uint32_t handle = 0;
    int rc = pf_add(ad, sa.msg, &handle);
    if (rc) {
      /* the old index may be anybody's on this VF's PF: packets of this session are dropped */
      __atomic_store_n(&s.tx_sa_index[slot], kSecNoSa, __ATOMIC_RELEASE);
      if (!first_err)
        first_err = rc;
      continue;
    }
    sa.handle = handle;
    if (sa.outbound)
      __atomic_store_n(&s.tx_sa_index[slot], uint16_t((handle - kIpsecBaseTxHandle) & ADVTXD_IPSEC_SA_INDEX_MASK),
                       __ATOMIC_RELEASE);
    n++;
  }
  if (n)
    IXGBEVF_LM_LOG(INFO, "port %u: %u IPsec SAs restored on the VF", ad.dev->data->port_id, n);
  return first_err;
}

}  // namespace ixgbevf_lm::pmd
