/* SPDX-License-Identifier: BSD-3-Clause */
#include "report.h"

#include <algorithm>
#include <cinttypes>

namespace ixlm_migrate {

using ixgbevf_lm::hv::Outcome;

namespace {

std::string num(double v)
{
  char b[48];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string esc(const std::string &s)
{
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += c;
    }
  }
  return o;
}

}  // namespace

std::string to_json(const Run &r)
{
  const auto &f = r.fig;
  std::string j = "{";
  auto add = [&](const std::string &k, const std::string &v) {
    if (j.size() > 1)
      j += ",";
    j += "\"" + k + "\":" + v;
  };
  add("kind", f.outcome == Outcome::destination ? "\"migration\"" : "\"rounds\"");
  if (r.index != 0)
    add("migration", std::to_string(r.index));
  add("rounds", std::to_string(f.rounds));
  std::string pr = "[";
  for (size_t i = 0; i < f.per_round.size(); ++i)
    pr += (i ? "," : "") + std::to_string(f.per_round[i].pages_fetched);
  add("pages_per_round", pr + "]");
  std::string pc = "[";
  for (size_t i = 0; i < f.per_round.size(); ++i)
    pc += (i ? "," : "") + std::to_string(f.per_round[i].pages_copied);
  add("pages_copied_per_round", pc + "]");
  add("final_pages", std::to_string(f.final_pages));
  if (f.verified) {
    add("dma_pages_written", std::to_string(f.dma_pages_written));
    add("pages_reported", std::to_string(f.pages_reported));
    add("missed_dirty_pages", std::to_string(f.missed_dirty_pages));
    add("over_report_ratio", num(f.over_report_ratio));
  } else {
    add("dma_pages_written", "null");
    add("pages_reported", std::to_string(f.pages_reported));
    add("missed_dirty_pages", "null");
    add("over_report_ratio", "null");
  }
  add("verification", "\"" + f.verification + "\"");
  add("compare_page_size", std::to_string(f.compare_page_size));
  add("link_gbps", num(r.link_gbps));
  add("transfer_ms", num(f.transfer_ms));
  add("stop_copy_transfer_ms", num(f.stop_copy_transfer_ms));
  add("downtime_ms", num(f.downtime_ms));
  if (r.traffic.measured) {
    add("blackout_ms", num(r.traffic.blackout_ms));
    add("frames_lost", std::to_string(r.traffic.frames_lost));
    add("frames_sent", std::to_string(r.traffic.sent));
    add("frames_received", std::to_string(r.traffic.received));
  } else {
    add("blackout_ms", "null");
    add("frames_lost", "null");
  }
  const auto &p = f.phases;
  add("phases_ms", "{\"start_logging\":" + num(p.start_logging_ms) + ",\"pre_copy\":" + num(p.pre_copy_ms) +
                       ",\"quiesce_ack\":" + num(p.quiesce_ack_ms) + ",\"final_fetch\":" + num(p.final_fetch_ms) +
                       ",\"switch_rebuild_ack\":" + num(p.switch_ack_ms) + ",\"running_ack\":" +
                       num(p.running_ack_ms) + "}");
  std::string ports = "[";
  for (size_t i = 0; i < f.slots.size(); ++i) {
    const auto &s = f.slots[i];
    ports += std::string(i ? "," : "") + "{\"slot\":" + std::to_string(s.slot) + ",\"identity\":\"" + esc(s.identity) +
             "\",\"downtime_ms\":" + num(s.downtime_ms) + ",\"driver_quiesce_ms\":" + num(s.driver_quiesce_ms) +
             ",\"driver_restart_ms\":" + num(s.driver_restart_ms) + ",\"frames_dropped\":" +
             std::to_string(s.frames_dropped) + ",\"log_errors\":" + std::to_string(s.log_errors) +
             ",\"log_incomplete\":" + (s.log_incomplete ? "true" : "false") +
             (s.log_error_msg.empty() ? "" : ",\"log_error\":\"" + esc(s.log_error_msg) + "\"") + "}";
  }
  add("ports", ports + "]");
  add("log_errors", std::to_string(f.log_errors));
  add("copied_all", f.copied_all ? "true" : "false");
  if (!f.cancelled_at.empty())
    add("cancelled_at", "\"" + esc(f.cancelled_at) + "\"");
  if (f.verified)
    add("bitmap_missed_pages", std::to_string(f.bitmap_missed_pages));
  add("total_ms", num(f.total_ms));
  return j + "}";
}

void print_run_human(FILE *out, const Run &r)
{
  const auto &f = r.fig;
  if (r.index)
    std::fprintf(out, "migration %u:", r.index);
  else
    std::fprintf(out, "run:");
  std::fprintf(out, " %u rounds, %" PRIu64 " pages copied (%.1f ms at %.1f Gb/s)", f.rounds, f.pages_copied,
               f.transfer_ms, r.link_gbps);
  if (f.verified)
    std::fprintf(out, ", device wrote %" PRIu64 ", reported %" PRIu64 " (x%.2f), missed %" PRIu64, f.dma_pages_written,
                 f.pages_reported, f.over_report_ratio, f.missed_dirty_pages);
  std::fprintf(out, ", downtime %.3f ms", f.downtime_ms);
  if (r.traffic.measured)
    std::fprintf(out, ", blackout %.3f ms, %" PRIu64 " frames lost", r.traffic.blackout_ms, r.traffic.frames_lost);
  std::fprintf(out, "\n    phases: logging on %.3f, pre-copy %.1f, quiesce ack %.3f, final fetch %.3f, switch+rebuild "
                    "%.3f, running ack %.3f ms\n",
               f.phases.start_logging_ms, f.phases.pre_copy_ms, f.phases.quiesce_ack_ms, f.phases.final_fetch_ms,
               f.phases.switch_ack_ms, f.phases.running_ack_ms);
  for (const auto &s : f.slots)
    if (s.log_errors != 0 || s.log_incomplete)
      std::fprintf(out, "    LOG ERRORS: slot %u ('%s'): %" PRIu64 " failures to log%s%s%s\n", s.slot,
                   s.identity.c_str(), s.log_errors, s.log_error_msg.empty() ? "" : " (", s.log_error_msg.c_str(),
                   s.log_error_msg.empty() ? "" : ")");
  if (!f.cancelled_at.empty())
    std::fprintf(out, "    cancelled on purpose at %s: running again on the source VF\n", f.cancelled_at.c_str());
  if (f.copied_all)
    std::fprintf(out, "    the host treated all guest memory as dirty (bitmap alone missed %" PRIu64 " pages)\n",
                 f.bitmap_missed_pages);
  if (f.missed_dirty_pages != 0) {
    std::fprintf(out, "    MISSED pages (first %zu):", f.missed_examples.size());
    for (uint64_t a : f.missed_examples)
      std::fprintf(out, " 0x%" PRIx64, a);
    std::fprintf(out, "\n");
  }
}

void print_table(FILE *out, const std::vector<Run> &runs)
{
  std::fprintf(out, "\n  %-4s %6s %-26s %9s %9s %7s %11s %11s %8s\n", "#", "rounds", "pages per round", "written",
               "reported", "missed", "downtime ms", "blackout ms", "lost");
  for (const Run &r : runs) {
    const auto &f = r.fig;
    std::string ppr;
    for (size_t i = 0; i < f.per_round.size(); ++i)
      ppr += (i ? "," : "") + std::to_string(f.per_round[i].pages_fetched);
    if (ppr.size() > 26)
      ppr = ppr.substr(0, 23) + "...";
    std::fprintf(out, "  %-4u %6u %-26s %9s %9" PRIu64 " %7s %11.3f %11s %8s\n", r.index, f.rounds, ppr.c_str(),
                 f.verified ? std::to_string(f.dma_pages_written).c_str() : "-", f.pages_reported,
                 f.verified ? std::to_string(f.missed_dirty_pages).c_str() : "-", f.downtime_ms,
                 r.traffic.measured ? num(r.traffic.blackout_ms).c_str() : "-",
                 r.traffic.measured ? std::to_string(r.traffic.frames_lost).c_str() : "-");
  }
}

}  // namespace ixlm_migrate
