/* SPDX-License-Identifier: BSD-3-Clause
 * The simulated hypervisor's engine.
 *
 * Reading the ground truth and the driver's bitmap at one instant: under DmaSpace::freeze() no
 * device write is in progress, so a page is either in both reads' past or in both reads' future
 * ("frozen"). When the model's fetch cannot run under its own freeze (it takes the same gate), the
 * engine reads the ground truth first and the bitmap right after, without the freeze ("ordered"):
 * a device write between the two reads then shows up in the next round's truth although its report
 * may already be in this round's bitmap, so the check can only err towards reporting a page as
 * missed, never towards hiding one.
 */
#include <ixgbevf_lm/hypervisor/migrator.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <system_error>
#include <thread>

namespace ixgbevf_lm::hv {

using Clock = std::chrono::steady_clock;
using region::ResumeKind;
using region::State;

namespace {

void set(std::string *why, std::string s)
{
  if (why)
    *why = std::move(s);
}

std::string fmt_ms(double ms)
{
  char b[32];
  std::snprintf(b, sizeof b, "%.3f ms", ms);
  return b;
}

}  // namespace

Migrator::Migrator(region::Host &host, MigratorOptions opts) : host_(host), opts_(std::move(opts))
{
  if (opts_.max_rounds == 0)
    opts_.max_rounds = 1;
}

double Migrator::transfer_ms(uint64_t pages, uint64_t page_size, double gbps) noexcept
{
  if (gbps <= 0)
    return 0;
  return double(pages) * double(page_size) * 8.0 / (gbps * 1e9) * 1e3;
}

void Migrator::say(const std::string &line) const
{
  if (opts_.progress)
    opts_.progress(line);
}

double Migrator::ms_since(Clock::time_point t) const
{
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

Migrator::Snapshot Migrator::snapshot()
{
  Snapshot s;
  if (opts_.truth && freeze_works_) {
    try {
      auto frozen = opts_.truth->freeze();
      s.truth = opts_.truth->fetch_and_clear_dirty();
      s.reported = host_.dirty_pages(region::ReadMode::clear);
      return s;
    } catch (const std::system_error &) {
      freeze_works_ = false;  /* the fetch takes the gate freeze() holds: fall back to "ordered" */
    }
  }
  if (opts_.truth)
    s.truth = opts_.truth->fetch_and_clear_dirty();
  s.reported = host_.dirty_pages(region::ReadMode::clear);
  return s;
}

bool Migrator::request_all(State state, ResumeKind kind, const char *what, std::vector<uint32_t> *gens,
                           std::string *why)
{
  gens->clear();
  for (uint32_t s : slots_) {
    auto g = host_.request_state(s, state, kind);
    if (!g) {
      set(why, std::string(what) + ": slot " + std::to_string(s) + ": " + g.error().message);
      return false;
    }
    gens->push_back(g.value());
  }
  return true;
}

/* The bound of one wait for a report: a driver on this kernel rings the region's doorbell and
 * ends it at once; one in a VM (no futex wake crosses) is seen within it. */
constexpr std::chrono::microseconds kReportPoll{100};

bool Migrator::wait_all(const std::vector<uint32_t> &gens, State expect, bool want_logging, const char *what,
                        std::string *why)
{
  const auto deadline = Clock::now() + opts_.ack_timeout;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const uint32_t slot = slots_[i];
    bool saw_error = false;
    for (;;) {
      const uint32_t bell = host_.report_bell();
      auto st = host_.slot_status(slot);
      if (!st) {
        set(why, std::string(what) + ": slot " + std::to_string(slot) + ": " + st.error().message);
        return false;
      }
      const region::Report rep = st->report;
      /* RESUMING: a driver whose destination PF does not answer yet acks ERROR, keeps retrying in
       * the background and re-acks RESUMING when the rebuild succeeds: wait for that within the
       * bound. Any other ERROR is final. */
      if (rep.state == State::error && expect == State::resuming &&
          region::generation_reached(rep.acked_generation, gens[i]) && Clock::now() < deadline) {
        if (!saw_error) {
          saw_error = true;
          say(std::string(what) + ": slot " + std::to_string(slot) + " ('" + st->identity +
              "') reported ERROR (" + (st->error_msg.empty() ? "no message" : st->error_msg) +
              "); waiting for its retry");
        }
        host_.wait_report(bell, kReportPoll);
        continue;
      }
      if (rep.state == State::error && region::generation_reached(rep.acked_generation, gens[i])) {
        set(why, std::string(what) + ": slot " + std::to_string(slot) + " ('" + st->identity +
                     "') reported ERROR: " + (st->error_msg.empty() ? "(no message)" : st->error_msg) + " (" +
                     std::to_string(st->last_error) + ")");
        return false;
      }
      if (region::generation_reached(rep.acked_generation, gens[i])) {
        if (rep.state != expect) {
          set(why, std::string(what) + ": slot " + std::to_string(slot) + " ('" + st->identity + "') reported " +
                       region::state_name(rep.state) + ", expected " + region::state_name(expect));
          return false;
        }
        if (want_logging && !rep.logging_active()) {
          set(why, std::string(what) + ": slot " + std::to_string(slot) + " ('" + st->identity +
                       "') acknowledged without logging active");
          return false;
        }
        break;
      }
      if (Clock::now() >= deadline) {
        set(why, std::string(what) + ": slot " + std::to_string(slot) + " ('" + st->identity +
                     "') did not acknowledge " + region::state_name(expect) + " (generation " +
                     std::to_string(gens[i]) + ") within " + std::to_string(opts_.ack_timeout.count()) +
                     " ms; it last reported " + region::state_name(rep.state) + " for generation " +
                     std::to_string(rep.acked_generation) + (st->claimed ? "" : " and the slot is no longer claimed") +
                     (st->error_msg.empty() ? "" : "; last error: " + st->error_msg));
        return false;
      }
      host_.wait_report(bell, kReportPoll);
    }
  }
  return true;
}

bool Migrator::start_logging(MigrationFigures &f, std::string *why)
{
  t_start_ = Clock::now();
  stop_request_ns_.clear();
  slots_ = opts_.slots;
  if (slots_.empty()) {
    for (uint32_t i = 0; i < host_.n_slots(); ++i) {
      auto st = host_.slot_status(i);
      if (st && st->claimed)
        slots_.push_back(i);
    }
  }
  if (slots_.empty()) {
    set(why, "no port has claimed a slot in region '" + host_.path() + "'");
    return false;
  }
  counters_before_.clear();
  for (uint32_t s : slots_) {
    auto st = host_.slot_status(s);
    if (!st || !st->claimed) {
      set(why, "slot " + std::to_string(s) + " is not claimed by any port");
      return false;
    }
    counters_before_.push_back(st->counters);
  }
  f.slots.clear();
  for (uint32_t s : slots_) {
    SlotFigures sf;
    sf.slot = s;
    sf.identity = host_.slot_status(s)->identity;
    f.slots.push_back(sf);
  }
  /* Stale bits from before this migration are not this migration's. */
  (void)host_.dirty_pages(region::ReadMode::clear);
  const auto t = Clock::now();
  std::vector<uint32_t> gens;
  if (!request_all(State::pre_copy, ResumeKind::none, "start logging", &gens, why))
    return false;
  if (!wait_all(gens, State::pre_copy, true, "start logging", why)) {
    abort_all();
    return false;
  }
  f.phases.start_logging_ms = ms_since(t);
  /* Ground truth starts now: every page written from here on must be reported. Whatever was
   * written before is copied by round 1, which copies everything. */
  verifier_.reset();
  if (opts_.truth) {
    opts_.truth->set_dirty_tracking(true);
    (void)opts_.truth->fetch_and_clear_dirty();
    verifier_ = std::make_unique<DirtyVerifier>(host_.page_size(), opts_.truth->log_page_size());
    f.compare_page_size = verifier_->compare_page_size();
  }
  say("logging on in " + std::to_string(slots_.size()) + " slot(s) after " + fmt_ms(f.phases.start_logging_ms));
  return true;
}

bool Migrator::pre_copy(MigrationFigures &f, std::string *why)
{
  (void)why;
  const auto t = Clock::now();
  uint64_t ram_pages = 0;
  if (opts_.guest_ram_bytes != 0) {
    ram_pages = (opts_.guest_ram_bytes + host_.page_size() - 1) / host_.page_size();
  } else {
    for (uint32_t r = 0; r < host_.n_ranges(); ++r)
      ram_pages += host_.range(r).n_pages;
  }
  ram_pages_ = ram_pages;
  uint64_t to_copy = ram_pages;
  for (unsigned r = 1; r <= opts_.max_rounds; ++r) {
    const auto tr = Clock::now();
    RoundFigures rf;
    rf.index = r;
    rf.pages_copied = to_copy;
    rf.transfer_ms = transfer_ms(to_copy, host_.page_size(), opts_.link_gbps);
    /* "Copying" takes the modelled time (clamped): the guest keeps running and dirtying pages. */
    const double pace = std::clamp(rf.transfer_ms, double(opts_.min_round.count()), double(opts_.max_round.count()));
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(pace));
    if (r == 1 && opts_.prepare_destination)
      opts_.prepare_destination();
    Snapshot s = snapshot();
    rf.pages_fetched = s.reported.size();
    if (verifier_)
      rf.truth_pages = verifier_->round(s.truth, s.reported).truth_pages;
    rf.elapsed_ms = ms_since(tr);
    f.per_round.push_back(rf);
    f.pages_copied += rf.pages_copied;
    f.transfer_ms += rf.transfer_ms;
    to_copy = rf.pages_fetched;
    last_fetch_ = rf.pages_fetched;
    std::string line = "round " + std::to_string(r) + ": copied " + std::to_string(rf.pages_copied) + " pages (" +
                       fmt_ms(rf.transfer_ms) + " at " + std::to_string(opts_.link_gbps).substr(0, 5) +
                       " Gb/s), fetched " + std::to_string(rf.pages_fetched) + " dirty";
    if (verifier_)
      line += ", device wrote " + std::to_string(rf.truth_pages) + ", pending " + std::to_string(verifier_->pending());
    say(line);
    if (r > 1 && rf.pages_fetched < opts_.converge_pages)
      break;
  }
  f.rounds = unsigned(f.per_round.size());
  f.phases.pre_copy_ms = ms_since(t);
  return true;
}

bool Migrator::stop_copy(MigrationFigures &f, std::string *why)
{
  auto t = Clock::now();
  std::vector<uint32_t> gens;
  if (!request_all(State::stop_copy, ResumeKind::none, "stop-copy", &gens, why)) {
    abort_all();
    return false;
  }
  stop_request_ns_.clear();
  for (uint32_t s : slots_)
    stop_request_ns_.push_back(host_.slot_status(s)->request_ns);
  if (!wait_all(gens, State::stop_copy, false, "stop-copy (quiesce)", why)) {
    abort_all();
    return false;
  }
  f.phases.quiesce_ack_ms = ms_since(t);
  say("stop-copy: every port quiesced after " + fmt_ms(f.phases.quiesce_ack_ms));
  if (!check_logs(f, why)) {
    abort_all();
    return false;
  }
  t = Clock::now();
  Snapshot s = snapshot();
  f.final_pages = s.reported.size();
  if (verifier_)
    verifier_->round(s.truth, s.reported);
  f.phases.final_fetch_ms = ms_since(t);
  /* An incomplete log: the bitmap is no record, everything is copied while the guest is stopped. */
  const uint64_t stop_pages = f.copied_all ? ram_pages_ : last_fetch_ + f.final_pages;
  f.stop_copy_transfer_ms = transfer_ms(stop_pages, host_.page_size(), opts_.link_gbps);
  f.pages_copied += stop_pages;
  f.transfer_ms += f.stop_copy_transfer_ms;
  if (verifier_) {
    f.verified = true;
    f.verification = freeze_works_ ? "frozen" : "ordered";
    f.dma_pages_written = verifier_->total_truth();
    f.pages_reported = verifier_->total_reported();
    f.bitmap_missed_pages = verifier_->pending();
    f.missed_dirty_pages = f.copied_all ? 0 : f.bitmap_missed_pages;
    f.missed_examples = verifier_->pending_pages(8);
    f.over_report_ratio = f.dma_pages_written ? double(f.pages_reported) / double(f.dma_pages_written) : 0.0;
  } else {
    f.verification = "none";
    /* Without ground truth, what was reported is all there is to count. */
    uint64_t rep = f.final_pages;
    for (auto &r : f.per_round)
      rep += r.pages_fetched;
    f.pages_reported = rep;
  }
  std::string line = "final fetch: " + std::to_string(f.final_pages) + " dirty pages in " + fmt_ms(f.phases.final_fetch_ms);
  if (verifier_)
    line += "; device wrote " + std::to_string(f.dma_pages_written) + " pages, driver reported " +
            std::to_string(f.pages_reported) + ", missed " + std::to_string(f.missed_dirty_pages);
  say(line);
  return true;
}

bool Migrator::check_logs(MigrationFigures &f, std::string *why)
{
  std::string bad;
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto st = host_.slot_status(slots_[i]);
    if (!st)
      continue;
    SlotFigures &sf = f.slots[i];
    sf.log_errors = st->counters.log_errors - counters_before_[i].log_errors;
    sf.log_incomplete = st->report.log_incomplete();
    if (!sf.log_incomplete)
      continue;
    sf.log_error_msg = st->error_msg;
    bad += (bad.empty() ? "" : "; ") + std::string("slot ") + std::to_string(slots_[i]) + " ('" + st->identity +
           "'): " + std::to_string(sf.log_errors) + " failures to log" +
           (st->error_msg.empty() ? "" : ", last: " + st->error_msg);
  }
  f.log_errors = 0;
  for (auto &sf : f.slots)
    f.log_errors += sf.log_errors;
  if (bad.empty())
    return true;
  if (opts_.on_log_error == OnLogError::cancel) {
    set(why, "stop-copy: the dirty log is incomplete (" + bad + "): migration cancelled");
    return false;
  }
  f.copied_all = true;
  say("stop-copy: the dirty log is incomplete (" + bad + "): treating all guest memory as dirty");
  return true;
}

bool Migrator::finish(Outcome outcome, MigrationFigures &f, std::string *why)
{
  f.outcome = outcome;
  std::vector<uint32_t> gens;
  if (outcome == Outcome::destination) {
    auto t = Clock::now();
    if (!request_all(State::resuming, ResumeKind::none, "switch", &gens, why))
      return false;
    if (!wait_all(gens, State::resuming, false, "switch (RESUMING: VF switch + rebuild)", why)) {
      abort_all();
      return false;
    }
    f.phases.switch_ack_ms = ms_since(t);
    say("switched: every port rebuilt on its destination VF after " + fmt_ms(f.phases.switch_ack_ms));
    t = Clock::now();
    if (!request_all(State::running, ResumeKind::destination, "resume", &gens, why))
      return false;
    if (!wait_all(gens, State::running, false, "resume (RUNNING on the destination)", why))
      return false;
    f.phases.running_ack_ms = ms_since(t);
  } else {
    auto t = Clock::now();
    if (!request_all(State::running, ResumeKind::source_abort, "abort", &gens, why))
      return false;
    if (!wait_all(gens, State::running, false, "abort (RUNNING on the source VF)", why))
      return false;
    f.phases.running_ack_ms = ms_since(t);
  }
  f.downtime_ms = 0;
  f.log_errors = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto st = host_.slot_status(slots_[i]);
    if (!st)
      continue;
    SlotFigures &sf = f.slots[i];
    if (i >= stop_request_ns_.size())  /* cancelled before stop-copy: the guest never stopped */
      sf.downtime_ms = 0;
    else if (st->ack_ns >= stop_request_ns_[i])
      sf.downtime_ms = double(st->ack_ns - stop_request_ns_[i]) / 1e6;
    else  /* clocks not comparable (another host): fall back to the phases this side measured */
      sf.downtime_ms = f.phases.quiesce_ack_ms + f.phases.final_fetch_ms + f.phases.switch_ack_ms +
                       f.phases.running_ack_ms;
    sf.driver_quiesce_ms = double(st->counters.last_quiesce_ns) / 1e6;
    sf.driver_restart_ms = double(st->counters.last_restart_ns) / 1e6;
    sf.frames_dropped = st->counters.frames_dropped - counters_before_[i].frames_dropped;
    sf.log_errors = st->counters.log_errors - counters_before_[i].log_errors;
    f.downtime_ms = std::max(f.downtime_ms, sf.downtime_ms);
    f.log_errors += sf.log_errors;
  }
  f.total_ms = ms_since(t_start_);
  say(std::string(outcome == Outcome::destination ? "running on the destination" : "running again on the source") +
      "; driver downtime " + fmt_ms(f.downtime_ms));
  return true;
}

void Migrator::abort_all() noexcept
{
  try {
    std::vector<uint32_t> gens;
    for (uint32_t s : slots_) {
      auto st = host_.slot_status(s);
      if (!st)
        continue;
      const State from = st->request.state;
      if (from == State::running && st->request.kind == ResumeKind::none)
        (void)host_.set_logging(s, false);
      else if (from == State::resuming)
        continue;  /* nothing to go back to: the VF has moved */
      else
        (void)host_.abort_to_running(s);
    }
  } catch (...) {
  }
}

bool Migrator::migrate(Outcome outcome, MigrationFigures *out, std::string *why)
{
  MigrationFigures f;
  const CancelAt at = opts_.cancel_at;
  const unsigned rounds = opts_.max_rounds;
  if (at == CancelAt::pre_copy)
    opts_.max_rounds = std::clamp(opts_.cancel_after_round, 1u, rounds);
  bool ok = start_logging(f, why) && pre_copy(f, why);
  opts_.max_rounds = rounds;
  if (ok && at == CancelAt::pre_copy) {
    f.cancelled_at = "pre-copy round " + std::to_string(f.rounds);
  } else if (ok) {
    ok = stop_copy(f, why);
    if (ok && at == CancelAt::stop_copy_ack)
      f.cancelled_at = "stop-copy acknowledged";
    if (ok && at == CancelAt::stop) {
      std::vector<uint32_t> gens;
      ok = request_all(State::stop, ResumeKind::none, "stop", &gens, why) &&
           wait_all(gens, State::stop, false, "stop", why);
      if (ok) {
        std::this_thread::sleep_for(opts_.stop_hold);
        f.cancelled_at = "STOP held " + std::to_string(opts_.stop_hold.count()) + " ms";
      } else {
        abort_all();
      }
    }
  }
  if (ok && !f.cancelled_at.empty()) {
    say("cancelling on purpose at " + f.cancelled_at);
    ok = finish(Outcome::source_abort, f, why);
  } else if (ok) {
    ok = finish(outcome, f, why);
  }
  if (out)
    *out = std::move(f);
  return ok;
}

}  // namespace ixgbevf_lm::hv
