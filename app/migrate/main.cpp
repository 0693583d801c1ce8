/* SPDX-License-Identifier: BSD-3-Clause
 * ixgbevf-lm-migrate: the simulated hypervisor. `create`, `status` and `run` work on a region file
 * shared with another process; `demo` (demo.cpp) is self-contained.
 */
#include <sys/prctl.h>

#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include <ixgbevf_lm/hypervisor/migrator.h>
#include <ixgbevf_lm/region/host.h>

#include "cli.h"
#include "report.h"

namespace ixlm_migrate {
int cmd_demo(Args &args);
}

using namespace ixlm_migrate;
using namespace ixgbevf_lm;

namespace {

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted.store(true); }

int cmd_create(Args &args)
{
  std::string path, why, n, iv, val;
  region::CreateParams p;
  p.page_size = 4096;
  while (args.next(&n, &iv)) {
    if (n == "--region") {
      if (!args.value(n, &iv, &path, &why))
        return usage_error(why);
    } else if (n == "--page-size") {
      if (!args.value(n, &iv, &val, &why))
        return usage_error(why);
      if (!parse_size(val, &p.page_size))
        return usage_error("--page-size '" + val + "': expected a size such as 4096, 4K or 2M");
    } else if (n == "--range") {
      if (!args.value(n, &iv, &val, &why))
        return usage_error(why);
      const size_t c = val.find(':');
      region::RangeSpec r{};
      if (c == std::string::npos || !parse_size(std::string_view(val).substr(0, c), &r.gpa_base) ||
          !parse_size(std::string_view(val).substr(c + 1), &r.length))
        return usage_error("--range '" + val + "': expected BASE:LEN, e.g. 4G:128G or 0x100000000:0x40000000");
      p.ranges.push_back(r);
    } else if (n == "--slots") {
      uint64_t s;
      if (!args.value(n, &iv, &val, &why))
        return usage_error(why);
      if (!parse_uint(val, region::kMaxSlots, &s) || s == 0)
        return usage_error("--slots '" + val + "': expected 1.." + std::to_string(region::kMaxSlots));
      p.n_slots = uint32_t(s);
    } else {
      return usage_error("create: unknown option '" + n + "'");
    }
  }
  if (path.empty())
    return usage_error("create: --region PATH is required");
  if (p.ranges.empty())
    p.ranges.push_back({4ULL << 30, 128ULL << 30});
  auto h = region::Host::create(path, p);
  if (!h) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: create %s: %s\n", path.c_str(), h.error().message.c_str());
    return h.error().code == region::Errc::io ? kExitFailed : kExitUsage;
  }
  std::printf("created %s: %" PRIu64 " bytes, page size %" PRIu64 ", %u range(s), %u slots\n", path.c_str(),
              h->total_size(), h->page_size(), h->n_ranges(), h->n_slots());
  return kExitOk;
}

int cmd_status(Args &args)
{
  std::string path, why, n, iv;
  bool json = false;
  while (args.next(&n, &iv)) {
    if (n == "--region") {
      if (!args.value(n, &iv, &path, &why))
        return usage_error(why);
    } else if (n == "--json") {
      json = true;
    } else {
      return usage_error("status: unknown option '" + n + "'");
    }
  }
  if (path.empty())
    return usage_error("status: --region PATH is required");
  auto h = region::Host::open(path);
  if (!h) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: %s: %s\n", path.c_str(), h.error().message.c_str());
    return kExitFailed;
  }
  if (!json) {
    std::printf("region %s: %" PRIu64 " bytes, page size %" PRIu64 ", %u slots\n", path.c_str(), h->total_size(),
                h->page_size(), h->n_slots());
    for (uint32_t r = 0; r < h->n_ranges(); ++r) {
      auto ri = h->range(r);
      std::printf("  range %u: 0x%" PRIx64 " + 0x%" PRIx64 " (%" PRIu64 " pages)\n", r, ri.gpa_base, ri.length,
                  ri.n_pages);
    }
    std::printf("  %-4s %-24s %-7s %-22s %-22s %10s %8s %s\n", "slot", "identity", "pid", "requested", "reported",
                "migrations", "logged", "last error");
  }
  for (uint32_t s = 0; s < h->n_slots(); ++s) {
    auto st = h->slot_status(s);
    if (!st || !st->claimed)
      continue;
    const std::string req = std::string(region::state_name(st->request.state)) + "/" +
                            region::resume_kind_name(st->request.kind) + "@" + std::to_string(st->request.generation);
    const std::string rep = std::string(region::state_name(st->report.state)) +
                            (st->report.logging_active() ? "+log" : "") +
                            (st->report.log_incomplete() ? "+INCOMPLETE" : "") + "@" +
                            std::to_string(st->report.acked_generation);
    if (json)
      std::printf("{\"slot\":%u,\"identity\":\"%s\",\"pid\":%u,\"requested\":\"%s\",\"reported\":\"%s\","
                  "\"migrations_done\":%" PRIu64 ",\"pages_logged\":%" PRIu64 ",\"frames_dropped\":%" PRIu64
                  ",\"last_error\":%d,\"log_errors\":%" PRIu64 ",\"log_incomplete\":%s}\n",
                  s, st->identity.c_str(), st->owner_pid, req.c_str(), rep.c_str(), st->counters.migrations_done,
                  st->counters.pages_logged, st->counters.frames_dropped, st->last_error, st->counters.log_errors,
                  st->report.log_incomplete() ? "true" : "false");
    else
      std::printf("  %-4u %-24s %-7u %-22s %-22s %10" PRIu64 " %8" PRIu64 " %s\n", s, st->identity.c_str(),
                  st->owner_pid, req.c_str(), rep.c_str(), st->counters.migrations_done, st->counters.pages_logged,
                  st->last_error ? (std::to_string(st->last_error) + " " + st->error_msg).c_str() : "-");
  }
  return kExitOk;
}

int cmd_run(Args &args)
{
  std::string path, why, n, iv, val;
  uint64_t migrations = 1, interval_ms = 1000, rounds = 4, ack_ms = 2000;
  /* What round 1 copies. The host of a real VM knows its RAM; the region's ranges here may span a
   * whole address window (0:128T), far more than the guest has. */
  uint64_t guest_ram = 1ULL << 30;
  double gbps = 10;
  bool json = false;
  hv::CancelAt cancel_at = hv::CancelAt::never;
  uint64_t cancel_round = 1, stop_hold_ms = 0;
  hv::OnLogError on_log_error = hv::OnLogError::copy_all;
  while (args.next(&n, &iv)) {
    if (n == "--json") {
      json = true;
      continue;
    }
    if (!args.value(n, &iv, &val, &why))
      return usage_error(why);
    if (n == "--region")
      path = val;
    else if (n == "--migrations") {
      if (!parse_uint(val, 1000000, &migrations) || migrations == 0)
        return usage_error("--migrations '" + val + "': expected a positive integer");
    } else if (n == "--interval-ms") {
      if (!parse_uint(val, 3600000, &interval_ms))
        return usage_error("--interval-ms '" + val + "': expected 0..3600000");
    } else if (n == "--rounds") {
      if (!parse_uint(val, 1000, &rounds) || rounds == 0)
        return usage_error("--rounds '" + val + "': expected 1..1000");
    } else if (n == "--ack-timeout-ms") {
      if (!parse_uint(val, 600000, &ack_ms) || ack_ms == 0)
        return usage_error("--ack-timeout-ms '" + val + "': expected 1..600000");
    } else if (n == "--link-gbps") {
      if (!parse_double(val, 0.001, 1e6, &gbps))
        return usage_error("--link-gbps '" + val + "': expected a positive number");
    } else if (n == "--cancel-at") {
      /* pre-copy[:ROUND] | stop-copy | stop[:MS] */
      const std::string kind = val.substr(0, val.find(':'));
      const std::string arg = val.find(':') == std::string::npos ? "" : val.substr(val.find(':') + 1);
      if (kind == "pre-copy" && (arg.empty() || (parse_uint(arg, 1000, &cancel_round) && cancel_round > 0)))
        cancel_at = hv::CancelAt::pre_copy;
      else if (kind == "stop-copy" && arg.empty())
        cancel_at = hv::CancelAt::stop_copy_ack;
      else if (kind == "stop" && (arg.empty() || parse_uint(arg, 600000, &stop_hold_ms)))
        cancel_at = hv::CancelAt::stop;
      else
        return usage_error("--cancel-at '" + val + "': expected pre-copy[:ROUND], stop-copy or stop[:MS]");
    } else if (n == "--on-log-error") {
      if (val == "copy-all")
        on_log_error = hv::OnLogError::copy_all;
      else if (val == "cancel")
        on_log_error = hv::OnLogError::cancel;
      else
        return usage_error("--on-log-error '" + val + "': expected copy-all or cancel");
    } else if (n == "--guest-ram") {
      if (!parse_size(val, &guest_ram) || guest_ram == 0)
        return usage_error("--guest-ram '" + val + "': expected a size such as 512M or 4G");
    } else {
      return usage_error("run: unknown option '" + n + "'");
    }
  }
  if (path.empty())
    return usage_error("run: --region PATH is required");
  auto h = region::Host::open(path);
  if (!h) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: %s: %s\n", path.c_str(), h.error().message.c_str());
    return kExitFailed;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (!json)
    std::fprintf(stderr, "no ground truth in this mode (the device model runs in the other process): pages "
                         "reported are counted, missed pages cannot be (missed_dirty_pages: null)\n");
  std::vector<Run> runs;
  bool log_errors = false;  /* a driver could not log: every page was copied, but say so */
  for (uint64_t m = 1; m <= migrations && !g_interrupted.load(); ++m) {
    if (m > 1)
      for (uint64_t t = 0; t < interval_ms && !g_interrupted.load(); t += 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<uint64_t>(10, interval_ms - t)));
    if (g_interrupted.load())
      break;
    hv::MigratorOptions o;
    o.max_rounds = unsigned(rounds);
    o.link_gbps = gbps;
    o.guest_ram_bytes = guest_ram;
    o.ack_timeout = std::chrono::milliseconds(ack_ms);
    o.cancel_at = cancel_at;
    o.cancel_after_round = unsigned(cancel_round);
    o.stop_hold = std::chrono::milliseconds(stop_hold_ms);
    o.on_log_error = on_log_error;
    o.progress = [m](const std::string &l) { std::fprintf(stderr, "[migration %" PRIu64 "] %s\n", m, l.c_str()); };
    hv::Migrator mig(*h, o);
    Run r;
    r.index = unsigned(m);
    r.link_gbps = gbps;
    if (!mig.migrate(hv::Outcome::destination, &r.fig, &why)) {
      std::fprintf(stderr, "ixgbevf-lm-migrate: migration %" PRIu64 " failed: %s\n", m, why.c_str());
      return kExitFailed;
    }
    if (r.fig.log_errors != 0 || r.fig.copied_all)
      log_errors = true;
    if (json)
      std::printf("%s\n", to_json(r).c_str());
    else
      print_run_human(stdout, r);
    std::fflush(stdout);
    runs.push_back(std::move(r));
  }
  if (!json && !runs.empty()) {
    print_table(stdout, runs);
    double worst = 0;
    for (auto &r : runs)
      worst = std::max(worst, r.fig.downtime_ms);
    std::printf("\n%zu migration(s) completed; longest driver downtime %.3f ms; dirty pages not verified "
                "(no ground truth across processes)\n", runs.size(), worst);
  }
  return g_interrupted.load() ? kExitFailed : log_errors ? kExitLogErrors : kExitOk;
}

}  // namespace

int main(int argc, char **argv)
{
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    print_usage(stdout);
    return kExitOk;
  }
  /* The host side waits for acks in 20 us naps: at the default 50 us timer slack each nap would
   * be three times longer and add to every measured phase. */
  (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  /* every subcommand answers --help, before its own option parsing can call it a bad option */
  for (int i = 2; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      print_usage(stdout);
      return kExitOk;
    }
  }
  Args args(argc, argv, 2);
  if (cmd == "create")
    return cmd_create(args);
  if (cmd == "status")
    return cmd_status(args);
  if (cmd == "run")
    return cmd_run(args);
  if (cmd == "demo")
    return cmd_demo(args);
  return usage_error("unknown command '" + cmd + "' (demo, run, create, status)");
}
