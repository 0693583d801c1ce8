/* SPDX-License-Identifier: BSD-3-Clause */
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli.h"

namespace ixlm_migrate {

Args::Args(int argc, char **argv, int first)
{
  for (int i = first; i < argc; ++i)
    v_.emplace_back(argv[i]);
}

bool Args::next(std::string *name, std::string *inline_value)
{
  if (i_ >= v_.size())
    return false;
  std::string a = v_[i_++];
  inline_value->clear();
  const size_t eq = a.find('=');
  if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
    *inline_value = a.substr(eq + 1);
    a.resize(eq);
    *name = a;
    inline_value->insert(0, "\x01");  /* marks "given inline", even when empty */
    return true;
  }
  *name = a;
  return true;
}

bool Args::value(const std::string &name, const std::string *inline_value, std::string *out, std::string *why)
{
  if (!inline_value->empty() && (*inline_value)[0] == '\x01') {
    *out = inline_value->substr(1);
    return true;
  }
  if (i_ >= v_.size()) {
    *why = "option " + name + " needs a value";
    return false;
  }
  *out = v_[i_++];
  return true;
}

bool parse_uint(std::string_view s, uint64_t max, uint64_t *out)
{
  if (s.empty() || s[0] == '-')
    return false;
  std::string t(s);
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(t.c_str(), &end, 0);
  if (errno != 0 || *end != '\0' || v > max)
    return false;
  *out = v;
  return true;
}

bool parse_size(std::string_view s, uint64_t *out)
{
  if (s.empty())
    return false;
  unsigned shift = 0;
  switch (s.back()) {
  case 'K': case 'k': shift = 10; break;
  case 'M': case 'm': shift = 20; break;
  case 'G': case 'g': shift = 30; break;
  case 'T': case 't': shift = 40; break;
  default: break;
  }
  if (shift != 0)
    s.remove_suffix(1);
  uint64_t v;
  if (!parse_uint(s, UINT64_MAX >> shift, &v))
    return false;
  *out = v << shift;
  return true;
}

bool parse_double(std::string_view s, double min, double max, double *out)
{
  std::string t(s);
  char *end = nullptr;
  errno = 0;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || errno != 0 || *end != '\0' || !std::isfinite(v) || v < min || v > max)
    return false;
  *out = v;
  return true;
}

void print_usage(FILE *f)
{
  std::fputs(
      "usage: ixgbevf-lm-migrate <command> [options]\n"
      "\n"
      "  demo   [--rounds N] [--migrations M] [--link-gbps G] [--rate FPS] [--json] [--driver-log]\n"
      "         self-contained: its own EAL, a sim port reflecting traffic from the model's traffic\n"
      "         endpoint, verified against the model's ground truth. Without --migrations: N rounds,\n"
      "         stop-copy, verification, then the port runs on (cancel path).\n"
      "  run    --region PATH [--migrations N] [--interval-ms M] [--rounds R] [--link-gbps G]\n"
      "         [--ack-timeout-ms T] [--guest-ram SIZE] [--json]\n"
      "         [--cancel-at pre-copy[:ROUND]|stop-copy|stop[:MS]] [--on-log-error copy-all|cancel]\n"
      "         migrate every port that claimed a slot in PATH (another process, e.g. dpdk-testpmd\n"
      "         with a sim port and mig_region=PATH) N times; no ground truth there. Round 1\n"
      "         copies --guest-ram (default 1G) for the modelled transfer time. --cancel-at cancels\n"
      "         each migration on purpose (RUNNING/SOURCE_ABORT) after that pre-copy round, once\n"
      "         STOP_COPY is acknowledged, or after STOP held MS ms. An ack whose dirty log is\n"
      "         incomplete makes the host copy all memory (default) or cancel.\n"
      "  create --region PATH [--page-size B] [--range BASE:LEN]... [--slots N]\n"
      "         create a region (default range 4G:128G, DPDK's IOVA-as-VA window; 4K pages).\n"
      "  status --region PATH [--json]\n"
      "         print the region's geometry and slots.\n"
      "\n"
      "exit codes: 0 ok, 1 a dirty page was missed, 2 bad arguments, 3 a step failed,\n"
      "            4 a driver reported failures to log (the host copied all memory)\n",
      f);
}

int usage_error(const std::string &msg)
{
  std::fprintf(stderr, "ixgbevf-lm-migrate: %s\n(ixgbevf-lm-migrate --help for usage)\n", msg.c_str());
  return kExitUsage;
}

}  // namespace ixlm_migrate
