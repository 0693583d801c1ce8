/* SPDX-License-Identifier: BSD-3-Clause
 * The VF side of the PF-VF mailbox (the analogue of iavf's virtchnl): hold the buffer (VFU), write
 * the request, ring REQ, wait for PFACK and the reply (PFSTS), read it, acknowledge with ACK. Every
 * wait has a wall-clock bound; a PF-initiated message found on the way is read and kept for the
 * service alarm.
 */
#include "ixgbevf_lm_mbx.h"

#include <sched.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_pause.h>

#include "ixgbevf_lm_logs.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

uint64_t now_us() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

void backoff(uint64_t waited_us) noexcept {
  /* The device answers within tens of microseconds (a mailbox reply, a reset, a queue enable):
   * spin for those. Then yield the CPU rather than sleep: a sleep of microseconds is a timer that a
   * virtual machine fires late or not at all before the thread spins back (measured here: a
   * nanosleep of 5 us never leaves the CPU, one of 20 us takes 60), while a yield lets a thread
   * that shares this CPU (a device model, the PF's own software) run at once. */
  if (waited_us < 100) {
    for (int i = 0; i < 64; i++)
      rte_pause();
    return;
  }
  if (waited_us < 2000) {
    sched_yield();
    return;
  }
  timespec ts{0, 100000};
  nanosleep(&ts, nullptr);
}

const char *mbx_result_str(MbxResult r) {
  switch (r) {
  case MbxResult::ok: return "ok";
  case MbxResult::nack: return "refused by the PF (NACK)";
  case MbxResult::timeout: return "no answer from the PF";
  case MbxResult::reset: return "VF reset by the PF";
  case MbxResult::busy: return "mailbox busy";
  }
  return "?";
}

uint32_t Mailbox::poll_bits() {
  uint32_t v = rd32(*hw_, VFMAILBOX);
  if (v == 0xFFFFFFFFu)  /* device gone (surprise removal, or a detached model VF) */
    return 0;
  sticky_ |= v & (VFMAILBOX_R2C_BITS | VFMAILBOX_RSTI);
  if (!(v & VFMAILBOX_RSTI))
    sticky_ &= ~VFMAILBOX_RSTI;
  return v;
}

bool Mailbox::take(uint32_t bit) {
  if (!(sticky_ & bit))
    return false;
  sticky_ &= ~bit;
  return true;
}

bool Mailbox::wait_bit(uint32_t bit, uint64_t deadline_us) {
  uint64_t t0 = now_us();
  for (;;) {
    poll_bits();
    if (take(bit))
      return true;
    uint64_t t = now_us();
    if (t >= deadline_us)
      return false;
    backoff(t - t0);
  }
}

/* A PF-initiated message (its first two words: the ID, and the phase of a migration message). */
void Mailbox::decode_pf_message(uint32_t w0, uint32_t w1, PfEvents *ev) {
  pf_messages++;
  const uint32_t id = w0 & VT_MSGID_MASK;
  if (id == PF_CONTROL_MSG) {
    ev->control = true;
  } else if (id == PF_MIGRATION_MSG) {
    ev->migration = true;
    ev->migration_phase = w1;
  } else {
    IXGBEVF_LM_MBX_LOG(WARNING, "unexpected message 0x%08x from the PF, ignored", w0);
  }
}

void Mailbox::read_pf_message_locked(PfEvents *ev) {
  const uint32_t w0 = rd32(*hw_, VFMBMEM);
  const uint32_t w1 = rd32(*hw_, VFMBMEM + 4);
  wr32(*hw_, VFMAILBOX, VFMAILBOX_ACK | VFMAILBOX_VFU);
  decode_pf_message(w0, w1, ev);
}

bool Mailbox::wait_reset_done(uint64_t timeout_us) noexcept {
  std::lock_guard g(mu_);
  sticky_ = 0;
  return wait_bit(VFMAILBOX_RSTD, now_us() + timeout_us);
}

bool Mailbox::reset_asserted() noexcept {
  std::lock_guard g(mu_);
  poll_bits();
  return sticky_ & VFMAILBOX_RSTI;
}

MbxResult Mailbox::request(const uint32_t *msg, unsigned len, uint32_t *reply, unsigned reply_len) noexcept {
  std::lock_guard g(mu_);
  requests++;
  uint64_t deadline = now_us() + timeout_us_;
  uint32_t id = msg[0] & VT_MSGID_MASK;

  /* take the buffer; a PF message already in it is read first */
  wr32(*hw_, VFMAILBOX, VFMAILBOX_VFU);
  uint32_t v = poll_bits();
  if (v & VFMAILBOX_RSTI && id != VF_RESET) {
    wr32(*hw_, VFMAILBOX, 0);
    errors++;
    return MbxResult::reset;
  }
  if (take(VFMAILBOX_PFSTS))
    read_pf_message_locked(&deferred_);

  for (unsigned i = 0; i < kMbxSizeWords; i++)
    wr32(*hw_, VFMBMEM + 4 * i, i < len ? msg[i] : 0);
  sticky_ &= ~(VFMAILBOX_PFACK | VFMAILBOX_PFSTS);
  wr32(*hw_, VFMAILBOX, VFMAILBOX_REQ);  /* hands the buffer to the PF (VFU drops) */

  if (!wait_bit(VFMAILBOX_PFACK, deadline)) {
    timeouts++;
    errors++;
    IXGBEVF_LM_MBX_LOG(ERR, "request 0x%x: no ACK from the PF within %llu ms", id,
                       (unsigned long long)(timeout_us_ / 1000));
    return MbxResult::timeout;
  }
  for (;;) {
    if (!(sticky_ & VFMAILBOX_PFSTS) && !wait_bit(VFMAILBOX_PFSTS, deadline)) {
      timeouts++;
      errors++;
      IXGBEVF_LM_MBX_LOG(ERR, "request 0x%x: no reply from the PF within %llu ms", id,
                         (unsigned long long)(timeout_us_ / 1000));
      return MbxResult::timeout;
    }
    sticky_ &= ~VFMAILBOX_PFSTS;
    uint32_t w0 = rd32(*hw_, VFMBMEM);
    if ((w0 & VT_MSGID_MASK) != id) {
      /* a PF-initiated message crossed ours: keep it and wait on */
      const uint32_t w1 = rd32(*hw_, VFMBMEM + 4);
      wr32(*hw_, VFMAILBOX, VFMAILBOX_ACK);
      decode_pf_message(w0, w1, &deferred_);
      /* a PF that only ever sends its own messages must not hold the caller past the bound */
      if (now_us() >= deadline) {
        timeouts++;
        errors++;
        IXGBEVF_LM_MBX_LOG(ERR, "request 0x%x: no reply from the PF within %llu ms (PF messages only)", id,
                           (unsigned long long)(timeout_us_ / 1000));
        return MbxResult::timeout;
      }
      continue;
    }
    for (unsigned i = 0; i < reply_len && i < kMbxSizeWords; i++)
      reply[i] = i == 0 ? w0 : rd32(*hw_, VFMBMEM + 4 * i);
    wr32(*hw_, VFMAILBOX, VFMAILBOX_ACK);
    if (w0 & VT_MSGTYPE_ACK)
      return MbxResult::ok;
    nacks++;
    IXGBEVF_LM_MBX_LOG(DEBUG, "request 0x%x refused by the PF (reply 0x%08x)", id, w0);
    return MbxResult::nack;
  }
}

bool Mailbox::poll_pf_message(PfEvents *ev) noexcept {
  std::unique_lock g(mu_, std::try_to_lock);
  if (!g.owns_lock())
    return false;
  *ev = deferred_;
  deferred_ = {};
  poll_bits();
  if (sticky_ & VFMAILBOX_RSTI)
    ev->reset = true;
  if (take(VFMAILBOX_PFSTS)) {
    wr32(*hw_, VFMAILBOX, VFMAILBOX_VFU);
    read_pf_message_locked(ev);
    wr32(*hw_, VFMAILBOX, 0);
  }
  return true;
}

}  // namespace ixgbevf_lm::pmd
