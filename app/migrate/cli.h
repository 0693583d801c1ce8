/* SPDX-License-Identifier: BSD-3-Clause
 * ixgbevf-lm-migrate: argument parsing shared by the subcommands.
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ixlm_migrate {

/* Exit codes. */
inline constexpr int kExitOk = 0;
inline constexpr int kExitMissed = 1;    /* verification failed: a page was missed */
inline constexpr int kExitUsage = 2;     /* bad arguments */
inline constexpr int kExitFailed = 3;    /* a step failed (timeout, EAL, region...) */
inline constexpr int kExitLogErrors = 4; /* the driver reported failures to log (all memory copied) */

/* "--name value" and "--name=value" over argv[first..]. */
class Args {
 public:
  Args(int argc, char **argv, int first);
  /* Next token; false at the end. Sets name (with "--") and, when inline, value. */
  bool next(std::string *name, std::string *inline_value);
  /* Value of the current option (inline or the next token). False with *why when missing. */
  bool value(const std::string &name, const std::string *inline_value, std::string *out, std::string *why);

 private:
  std::vector<std::string> v_;
  size_t i_ = 0;
};

/* Integer with an optional K/M/G/T suffix (powers of 1024), decimal or 0x hex. */
bool parse_size(std::string_view s, uint64_t *out);
bool parse_uint(std::string_view s, uint64_t max, uint64_t *out);
bool parse_double(std::string_view s, double min, double max, double *out);

int usage_error(const std::string &msg);
void print_usage(FILE *f);

}  // namespace ixlm_migrate
