/* SPDX-License-Identifier: BSD-3-Clause
 * The PF core: owns the VFs' state, the engines' schedule (a model thread, or step()), the device
 * clock, host administration and observation.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>

#include "pf_internal.h"

namespace ixgbevf_lm::model {

using namespace hw;

namespace {
/* The idle model thread spins this long after its last piece of work before it starts sleeping,
 * and then sleeps this long between looks (see doc/design/model.md, "Execution"); a device idle
 * for longer looks less often, so that the idle models of a process (one per PF, tens in a test
 * binary) do not take the CPUs from the threads that run traffic: 50 000 looks a second each at
 * 20 us saturated a 2-CPU machine and starved a test's application thread for a second. */
constexpr auto kIdleSpin = std::chrono::microseconds(20);
constexpr long kIdleSleepNs = 20000;
constexpr auto kIdleLonger = std::chrono::milliseconds(2);   /* then 100 us between looks */
constexpr long kIdleLongerSleepNs = 100000;
constexpr auto kIdleLongest = std::chrono::milliseconds(20); /* then 1 ms */
constexpr long kIdleLongestSleepNs = 1000000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

uint8_t name_hash(const std::string &s) {
  uint32_t h = 2166136261u;
  for (char c : s)
    h = (h ^ uint8_t(c)) * 16777619u;
  return uint8_t(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
}
}  // namespace

PfModel::Impl::Impl(const PfConfig &c) : cfg(c) {
  cfg.num_vfs = std::clamp(cfg.num_vfs, 1u, 64u);
  cfg.queues_per_vf = std::clamp(cfg.queues_per_vf, 1u, kVfMaxQueues);
  uint8_t h = name_hash(cfg.name);
  for (unsigned i = 0; i < cfg.num_vfs; i++) {
    auto vf = std::make_unique<VfState>();
    vf->pf = this;
    vf->index = i;
    /* a locally administered MAC per VF, distinct per PF name, as if the host had assigned it */
    vf->mac = MacAddr{0x02, 0x09, 0xc0, h, 0x00, uint8_t(i)};
    vfs.push_back(std::move(vf));
  }
  for (auto &vf : vfs)
    vf_registers_reset(*vf);
  /* the PF's RSS: a fixed key, RETA spread over the pool's queues (at most 4 on 82599 with VFs) */
  static constexpr uint8_t kKey[kRssKeyBytes] = {
      0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
      0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
      0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
  std::copy(std::begin(kKey), std::end(kKey), rss_key.begin());
  unsigned rq = std::min(cfg.queues_per_vf, 4u);
  for (unsigned i = 0; i < kPfRetaEntries; i++)
    reta[i] = uint8_t(i % rq);
  ipsec_reserve_pf_entries(*this);
  tx_frame.reserve(kMaxFrameBuf);
  seg_frame.reserve(16384);
  rx_frame.reserve(16384);
}

uint64_t PfModel::Impl::now_us() const {
  if (!cfg.threaded)
    return virtual_us.load(std::memory_order_acquire);
  return uint64_t(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
}

void vf_clear_pf_filters(VfState &vf) {
  vf.api = MbxApi::v10;
  vf.macvlans.clear();
  vf.mc_hashes.clear();
  vf.vlans.clear();
  vf.xcast = XcastMode::multi;
  vf.max_frame = 1518;
  if (vf.pf)
    ipsec_clear_vf(*vf.pf, vf.index);
}

void PfModel::Impl::reset_vf_function(VfState &vf) {
  vf_registers_reset(vf);
  vf.set_reg(VFMAILBOX, 0);
  for (unsigned i = 0; i < kMbxSizeWords; i++)
    vf.set_reg(VFMBMEM + 4 * i, 0);
  vf.cts = false;
  vf.rx_enabled = false;
  vf_clear_pf_filters(vf);
  vf.req_pending = false;
  vf.pf_msg_unacked = false;
  vf.outbox.clear();
  vf.reset_pending = false;
  vf.counters = {};
  publish_counters(vf);
}

/* Linux ixgbe tells every VF that is clear to send about a link change (PF_CONTROL_MSG). */
void PfModel::Impl::ping_all_vfs() {
  for (auto &vf : vfs)
    if (vf->attached && vf->cts)
      mbx_post(*vf, {PF_CONTROL_MSG | VT_MSGTYPE_CTS});
}

bool PfModel::Impl::do_work(bool single) {
  std::lock_guard g(mu);
  uint64_t now = now_us();
  bool did = false;

  if (link_up_pending && now >= link_up_due_us) {
    link_up_pending = false;
    link.store(true, std::memory_order_release);
    ping_all_vfs();
    did = true;
  }
  for (auto &p : vfs)
    did |= vf_complete_reset(*this, *p, now);
  if (did && single)
    return true;

  if (mbx_service(*this, single)) {
    did = true;
    if (single)
      return true;
  }

  if (!faults.desc_fetch_stall) {
    for (auto &p : vfs) {
      VfState &vf = *p;
      if (!vf.attached)
        continue;
      for (unsigned q = 0; q < cfg.queues_per_vf; q++) {
        if (tx_service_queue(*this, vf, q, single ? 1 : 64)) {
          did = true;
          if (single)
            return true;
        }
      }
    }
  }

  if (uplink) {
    unsigned n = uplink->poll(
        [this](std::span<const uint8_t> f) {
          stats.frames_from_uplink++;
          switch_frame(*this, -1, f);
        },
        single ? 1 : 32);
    if (n)
      did = true;
  }
  return did;
}

uint64_t PfModel::Impl::next_due_us() const {
  std::lock_guard g(mu);
  uint64_t due = link_up_pending ? link_up_due_us : UINT64_MAX;
  for (const auto &p : vfs) {
    if (p->req_pending && !faults.mailbox_silent)
      due = std::min(due, p->req_due_us);
    if (p->reset_pending && !faults.reset_never_completes)
      due = std::min(due, p->reset_due_us);
  }
  return due;
}

void PfModel::Impl::thread_main() {
  if (cfg.thread_nice > 0)  /* this thread only (Linux: PRIO_PROCESS of 0 is the calling thread) */
    (void)setpriority(PRIO_PROCESS, 0, std::min(cfg.thread_nice, 19));
  /* Timed work (a mailbox reply 30 us after the doorbell, a reset completion) is served at its due
   * time, not at the next idle look: the idle thread sleeps until the due time with a 1 us timer
   * slack; with nothing due it keeps the default slack (fewer wake-ups on a shared CPU). */
  bool fine_slack = false;
  auto set_slack = [&](bool fine) {
    if (fine != fine_slack) {
      (void)prctl(PR_SET_TIMERSLACK, fine ? 1000UL : 0UL, 0UL, 0UL, 0UL);  /* 0: the default again */
      fine_slack = fine;
    }
  };
  auto last_work = std::chrono::steady_clock::now();
  while (!stop.load(std::memory_order_acquire)) {
    if (do_work(false)) {
      last_work = std::chrono::steady_clock::now();
      continue;
    }
    const uint64_t due = next_due_us();
    const uint64_t now = now_us();
    if (due != UINT64_MAX && due <= now + 2) {
      for (int i = 0; i < 32; i++)  /* due within 2 us: spin to it */
        cpu_relax();
      continue;
    }
    if (due == UINT64_MAX && std::chrono::steady_clock::now() - last_work < kIdleSpin) {
      for (int i = 0; i < 32; i++)
        cpu_relax();
      continue;
    }
    const auto idle = std::chrono::steady_clock::now() - last_work;
    long ns = idle >= kIdleLongest ? kIdleLongestSleepNs : idle >= kIdleLonger ? kIdleLongerSleepNs : kIdleSleepNs;
    if (due != UINT64_MAX)
      ns = std::min<long>(ns, long(due - now) * 1000);
    set_slack(due != UINT64_MAX);
    timespec ts{0, ns};
    nanosleep(&ts, nullptr);
  }
}

/* ---------------- PfModel ---------------- */

PfModel::PfModel(const PfConfig &cfg) : impl_(std::make_unique<Impl>(cfg)) {}

std::shared_ptr<PfModel> PfModel::create(const PfConfig &cfg) {
  std::shared_ptr<PfModel> pf(new PfModel(cfg));
  if (cfg.threaded) {
    Impl *im = pf->impl_.get();
    im->thread = std::thread([im] { im->thread_main(); });
  }
  return pf;
}

PfModel::~PfModel() { shutdown(); }

void PfModel::power_off() noexcept { impl_->stop.store(true, std::memory_order_release); }

void PfModel::shutdown() {
  power_off();
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id())
    impl_->thread.join();
}

const PfConfig &PfModel::config() const { return impl_->cfg; }

void PfModel::set_vf_mac(unsigned vf, const MacAddr &mac) {
  std::lock_guard g(impl_->mu);
  if (vf < impl_->vfs.size()) {
    impl_->vfs[vf]->mac = mac;
    impl_->vfs[vf]->admin_mac = mac != MacAddr{};
  }
}

void PfModel::set_vf_trusted(unsigned vf, bool trusted) {
  std::lock_guard g(impl_->mu);
  if (vf < impl_->vfs.size())
    impl_->vfs[vf]->trusted = trusted;
}

void PfModel::set_uplink(std::unique_ptr<Uplink> uplink) {
  std::unique_ptr<Uplink> old;
  {
    std::lock_guard g(impl_->mu);
    old = std::move(impl_->uplink);
    impl_->uplink = std::move(uplink);
  }
}

void PfModel::set_link(bool up) {
  std::lock_guard g(impl_->mu);
  if (up) {
    if (impl_->link.load() || impl_->link_up_pending)
      return;
    impl_->link_up_pending = true;
    impl_->link_up_due_us = impl_->now_us() + uint64_t(impl_->cfg.timings.link_up.count());
  } else {
    impl_->link_up_pending = false;
    if (impl_->link.exchange(false))
      impl_->ping_all_vfs();
  }
}

bool PfModel::link_up() const { return impl_->link.load(std::memory_order_acquire); }

void PfModel::send_control_message(unsigned vf) {
  std::lock_guard g(impl_->mu);
  if (vf >= impl_->vfs.size())
    return;
  VfState &v = *impl_->vfs[vf];
  mbx_post(v, {PF_CONTROL_MSG | (v.cts ? VT_MSGTYPE_CTS : 0u)});
}

void PfModel::send_migration_message(unsigned vf, uint32_t phase) {
  std::lock_guard g(impl_->mu);
  if (vf >= impl_->vfs.size())
    return;
  VfState &v = *impl_->vfs[vf];
  mbx_post(v, {PF_MIGRATION_MSG | (v.cts ? VT_MSGTYPE_CTS : 0u), phase});
}

void PfModel::pf_reset() {
  std::lock_guard g(impl_->mu);
  for (auto &p : impl_->vfs) {
    VfState &vf = *p;
    vf_disable_queues(vf);
    vf.cts = false;
    vf.rx_enabled = false;
    vf.req_pending = false;
    vf.pf_msg_unacked = false;
    vf.outbox.clear();
    vf.regs[VFMAILBOX / 4].fetch_or(VFMAILBOX_RSTI);
  }
}

void PfModel::set_faults(const Faults &f) {
  std::lock_guard g(impl_->mu);
  impl_->faults = f;
}

VfView PfModel::vf_view(unsigned vf) const {
  std::lock_guard g(impl_->mu);
  VfView v;
  if (vf >= impl_->vfs.size())
    return v;
  const VfState &s = *impl_->vfs[vf];
  v.attached = s.attached;
  v.clear_to_send = s.cts;
  v.api = s.api;
  v.mac = s.mac;
  v.macvlans = s.macvlans;
  v.mc_hashes = s.mc_hashes;
  v.vlans = s.vlans;
  v.xcast = s.xcast;
  v.max_frame = s.max_frame;
  v.trusted = s.trusted;
  for (const IpsecSa &sa : impl_->ipsec.rx)
    v.ipsec_rx_sas += sa.used && sa.owner_vf == int(vf) ? 1 : 0;
  for (const IpsecSa &sa : impl_->ipsec.tx)
    v.ipsec_tx_sas += sa.used && sa.owner_vf == int(vf) ? 1 : 0;
  for (unsigned q = 0; q < impl_->cfg.queues_per_vf; q++) {
    v.rx_queues_enabled += (s.reg(VFRXDCTL(q)) & RXDCTL_ENABLE) ? 1 : 0;
    v.tx_queues_enabled += (s.reg(VFTXDCTL(q)) & TXDCTL_ENABLE) ? 1 : 0;
  }
  return v;
}

std::vector<MailboxRecord> PfModel::mailbox_log() const {
  std::lock_guard g(impl_->mu);
  return impl_->log;
}

PfStats PfModel::stats() const {
  std::lock_guard g(impl_->mu);
  return impl_->stats;
}

int PfModel::free_vf() const {
  std::lock_guard g(impl_->mu);
  for (auto &vf : impl_->vfs)
    if (!vf->attached)
      return int(vf->index);
  return -1;
}

bool PfModel::step() {
  if (impl_->cfg.threaded)
    return false;
  return impl_->do_work(true);
}

unsigned PfModel::run_until_idle(unsigned max_steps) {
  unsigned n = 0;
  while (n < max_steps && step())
    n++;
  return n;
}

void PfModel::advance_time(std::chrono::microseconds dt) {
  if (dt.count() > 0)
    impl_->virtual_us.fetch_add(uint64_t(dt.count()), std::memory_order_acq_rel);
}

void PfModel::set_vf_counters(unsigned vf, const VfCounterPreset &c) {
  std::lock_guard g(impl_->mu);
  if (vf >= impl_->vfs.size())
    return;
  VfState &s = *impl_->vfs[vf];
  s.counters.gprc = c.gprc;
  s.counters.gptc = c.gptc;
  s.counters.gorc = c.gorc;
  s.counters.gotc = c.gotc;
  s.counters.mprc = c.mprc;
  publish_counters(s);
}

/* Binding of a guest's VfPort to one of this PF's VFs (vf_port.cpp calls these). */
VfState *pf_bind_vf(PfModel::Impl &pf, unsigned vf, std::shared_ptr<DmaSpace> mem, std::string *why) {
  std::lock_guard g(pf.mu);
  if (vf >= pf.vfs.size()) {
    if (why)
      *why = "VF " + std::to_string(vf) + " does not exist on PF '" + pf.cfg.name + "' (" +
             std::to_string(pf.vfs.size()) + " VFs)";
    return nullptr;
  }
  VfState &s = *pf.vfs[vf];
  if (s.attached) {
    if (why)
      *why = "VF " + std::to_string(vf) + " of PF '" + pf.cfg.name + "' is already bound to a guest";
    return nullptr;
  }
  pf.reset_vf_function(s);
  s.attached = true;
  s.dma = std::move(mem);
  return &s;
}

void pf_unbind_vf(PfModel::Impl &pf, VfState &s) {
  std::lock_guard g(pf.mu);
  pf.reset_vf_function(s);
  s.attached = false;
  s.dma.reset();
}

}  // namespace ixgbevf_lm::model
