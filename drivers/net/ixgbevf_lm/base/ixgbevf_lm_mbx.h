/* SPDX-License-Identifier: BSD-3-Clause
 * The VF side of the PF-VF mailbox: post a request, wait for the PF's ACK and reply, every wait
 * bounded in wall-clock time. VFMAILBOX's status bits clear when read, so every read goes through
 * Mailbox::poll_bits(), which keeps the bits seen until they are consumed.
 */
#pragma once

#include <cstdint>
#include <mutex>

#include <ixgbevf_lm/hw/hw.h>

#include "ixgbevf_lm_hw.h"
#include "ixgbevf_lm_regpoll.h"

namespace ixgbevf_lm::pmd {

enum class MbxResult {
  ok,        /* PF acknowledged (ACK) */
  nack,      /* PF refused (NACK) */
  timeout,   /* PF did not answer in time */
  reset,     /* PF is resetting the VF (RSTI) */
  busy,      /* mailbox held by the PF */
};
const char *mbx_result_str(MbxResult r);

/* What a PF-initiated message said; handled by the owner outside the mailbox lock. */
struct PfEvents {
  bool control = false;       /* PF_CONTROL_MSG: re-check the link */
  bool migration = false;     /* PF_MIGRATION_MSG */
  uint32_t migration_phase = 0;
  bool reset = false;         /* RSTI seen */
};

class Mailbox {
 public:
  /* timeout_us bounds one request: ACK plus reply. */
  void init(const HwAccess *hw, uint64_t timeout_us) {
    hw_ = hw;
    timeout_us_ = timeout_us;
    sticky_ = 0;
  }

  /* Send msg[0..len) and receive the reply into reply[0..reply_len). Returns ok only for an ACK
   * whose id matches the request. */
  MbxResult request(const uint32_t *msg, unsigned len, uint32_t *reply, unsigned reply_len) noexcept;
  /* Wait for RSTD after VFCTRL.RST (bounded). */
  bool wait_reset_done(uint64_t timeout_us) noexcept;
  void clear_sticky() {
    std::lock_guard g(mu_);
    sticky_ = 0;
  }
  /* Poll for a PF-initiated message without blocking (alarm context). False when the mailbox is busy. */
  bool poll_pf_message(PfEvents *ev) noexcept;
  /* RSTI as of now. */
  bool reset_asserted() noexcept;

  /* counters (xstats). A NACK is the PF's answer (the API 1.4 -> 1.3 fallback of every bring-up,
   * a policy refusal), not a fault: errors counts the requests that got no answer (timeout, or the
   * PF reset the VF meanwhile). */
  uint64_t requests = 0, nacks = 0, timeouts = 0, errors = 0, pf_messages = 0;

 private:
  uint32_t poll_bits();                 /* read VFMAILBOX, accumulate the clear-on-read bits */
  bool take(uint32_t bit);              /* consume a sticky bit */
  void read_pf_message_locked(PfEvents *ev);
  void decode_pf_message(uint32_t w0, uint32_t w1, PfEvents *ev);
  bool wait_bit(uint32_t bit, uint64_t deadline_us);

  const HwAccess *hw_ = nullptr;
  uint64_t timeout_us_ = 1000000;
  uint32_t sticky_ = 0;
  std::mutex mu_;
  PfEvents deferred_;                   /* PF messages read while waiting for a reply */
};

}  // namespace ixgbevf_lm::pmd
