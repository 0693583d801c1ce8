/* SPDX-License-Identifier: BSD-3-Clause
 * The migration devargs (mig_region, dirty_log, dirty_addr, mig_poll_us, recover,
 * quiesce_timeout_us): their values, parsing and cross-key checks.
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ixgbevf_lm::pmd::mig {

enum class DirtyLogMode : uint8_t { off, bitmap, touch };
enum class DirtyAddr : uint8_t { iova, pa };
enum class RecoverMode : uint8_t { automatic, app };

const char *dirty_log_mode_name(DirtyLogMode m) noexcept;

/* The migration devargs (parsed by the probe's kvargs handlers through parse_migration_devarg). */
struct MigrationDevargs {
  std::string region_path;                 /* mig_region=<path>, empty: no region */
  DirtyLogMode dirty_log = DirtyLogMode::off;
  bool dirty_log_given = false;            /* dirty_log= appeared (else: bitmap iff a region) */
  DirtyAddr dirty_addr = DirtyAddr::iova;  /* dirty_addr=iova|pa */
  uint32_t poll_us = 100;                  /* mig_poll_us=<1..100000> */
  uint32_t quiesce_timeout_us = 50000;     /* quiesce_timeout_us=<100..2000000>: region/PF-triggered quiesce */
  RecoverMode recover = RecoverMode::automatic;  /* recover=auto|app */

  /* The effective logging mode after all keys were seen. */
  DirtyLogMode effective_mode() const noexcept
  {
    if (dirty_log_given)
      return dirty_log;
    return region_path.empty() ? DirtyLogMode::off : DirtyLogMode::bitmap;
  }
};

/* The devarg keys handled here, for the probe's list of valid keys. */
inline constexpr const char *kMigrationDevargKeys[] = {"mig_region", "dirty_log", "dirty_addr", "mig_poll_us",
                                                       "recover", "quiesce_timeout_us"};
inline constexpr const char *kMigrationParamString =
    "mig_region=<path> dirty_log=off|bitmap|touch dirty_addr=iova|pa mig_poll_us=<1-100000> recover=auto|app "
    "quiesce_timeout_us=<100-2000000>";
/* Returns 0, or -EINVAL with *why naming the key and the refused value. Unknown key: -ENOENT. */
int parse_migration_devarg(std::string_view key, std::string_view value, MigrationDevargs &out, std::string *why);
/* Cross-key checks once every key was parsed (bitmap needs a region). */
int validate_migration_devargs(const MigrationDevargs &a, std::string *why);

/* Devarg values cross a trust boundary (an operator's command line, an orchestrator's template):
 * nullptr if the value may reach a key's parser, else why not (missing, empty, not printable
 * ASCII, leading or trailing space). */
const char *devarg_value_problem(const char *value) noexcept;
/* "devarg <key>=<value> refused: <reason>", the value made printable (\xNN) and cut to a bounded
 * length so that the reason always ends the line. */
std::string devarg_refusal(std::string_view key, std::string_view value, std::string_view reason);

}  // namespace ixgbevf_lm::pmd::mig
