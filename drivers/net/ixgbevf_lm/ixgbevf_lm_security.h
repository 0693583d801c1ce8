/* SPDX-License-Identifier: BSD-3-Clause
 * Inline IPsec (rte_security, RTE_SECURITY_ACTION_TYPE_INLINE_CRYPTO) on a VF of an 82599/X540:
 * the VF cannot write the device's SA tables, so every session is an SA the PF programs for it
 * (VF_IPSEC_ADD / VF_IPSEC_DEL, mailbox API 1.4). The sessions are configuration the application
 * gave: the driver keeps them and replays them onto a new VF (reset, PF reset, migration), where
 * the PF may hand out other SA indexes; the Tx path therefore maps a session's slot to the SA
 * index through a table the replay rewrites while the queues are paused.
 */
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>

#include <rte_mbuf.h>
#include <rte_security.h>
#include <rte_security_driver.h>

#include <ixgbevf_lm/hw/hw.h>

namespace ixgbevf_lm::pmd {

struct Adapter;

/* Sessions per port: as many as the device has SAs in each direction. */
inline constexpr unsigned kSecMaxSessions = 2 * hw::kIpsecMaxSa;

/* What set_pkt_metadata leaves in the mbuf's security dynfield for the Tx path: the session's
 * slot, the ESP trailer length (padding + 2 + ICV) and a marker that the driver wrote it. */
inline constexpr uint64_t kSecMdSlotMask = 0xFFFF;
inline constexpr unsigned kSecMdTrailerShift = 16;
inline constexpr uint64_t kSecMdValid = uint64_t(1) << 32;
/* A slot whose SA is not programmed on the current VF (destroyed, or refused by a replay). */
inline constexpr uint16_t kSecNoSa = 0xFFFF;

struct SecSa {
  bool used = false;
  bool outbound = false;
  hw::IpsecSaMsg msg{};   /* what VF_IPSEC_ADD carries (replayed as is) */
  uint32_t handle = 0;    /* the PF's answer on the current VF */
};

struct SecState {
  rte_security_ctx ctx{};
  std::mutex mu;                                           /* control path: the slots */
  std::array<SecSa, kSecMaxSessions> slots{};
  alignas(64) std::array<uint16_t, kSecMaxSessions> tx_sa_index{};  /* fast path: slot -> Tx SA index */
  SecState() { tx_sa_index.fill(kSecNoSa); }
};

/* At init, when the PF accepted mailbox API 1.4: dev->security_ctx and the mbuf dynfield. */
int sec_init(Adapter &ad) noexcept;
void sec_uninit(Adapter &ad) noexcept;
bool sec_available(const Adapter &ad) noexcept;
/* Re-add every session's SA on the (new) VF; the caller has the queues paused. */
int sec_replay(Adapter &ad) noexcept;

}  // namespace ixgbevf_lm::pmd
