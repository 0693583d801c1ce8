/* SPDX-License-Identifier: BSD-3-Clause
 * The migration devargs (see ixgbevf_lm_mig_devargs.h).
 */
#include "ixgbevf_lm_mig_devargs.h"

#include <cerrno>
#include <charconv>
#include <cstring>

namespace ixgbevf_lm::pmd::mig {

const char *dirty_log_mode_name(DirtyLogMode m) noexcept
{
  switch (m) {
  case DirtyLogMode::off: return "off";
  case DirtyLogMode::bitmap: return "bitmap";
  case DirtyLogMode::touch: return "touch";
  }
  return "?";
}

namespace {

int refuse(std::string_view key, std::string_view value, const char *expected, std::string *why)
{
  if (why != nullptr)
    *why = std::string("devarg ") + std::string(key) + "=" + std::string(value) + " refused: expected " + expected;
  return -EINVAL;
}

}  // namespace

int parse_migration_devarg(std::string_view key, std::string_view value, MigrationDevargs &out, std::string *why)
{
  if (key == "mig_region") {
    if (value.empty())
      return refuse(key, value, "a file path", why);
    out.region_path = std::string(value);
    return 0;
  }
  if (key == "dirty_log") {
    if (value == "off")
      out.dirty_log = DirtyLogMode::off;
    else if (value == "bitmap")
      out.dirty_log = DirtyLogMode::bitmap;
    else if (value == "touch")
      out.dirty_log = DirtyLogMode::touch;
    else
      return refuse(key, value, "off|bitmap|touch", why);
    out.dirty_log_given = true;
    return 0;
  }
  if (key == "dirty_addr") {
    if (value == "iova")
      out.dirty_addr = DirtyAddr::iova;
    else if (value == "pa")
      out.dirty_addr = DirtyAddr::pa;
    else
      return refuse(key, value, "iova|pa", why);
    return 0;
  }
  if (key == "mig_poll_us") {
    uint32_t v = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < 1 || v > 100000)
      return refuse(key, value, "an integer 1..100000 (microseconds)", why);
    out.poll_us = v;
    return 0;
  }
  if (key == "quiesce_timeout_us") {
    uint32_t v = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < 100 || v > 2000000)
      return refuse(key, value, "an integer 100..2000000 (microseconds)", why);
    out.quiesce_timeout_us = v;
    return 0;
  }
  if (key == "recover") {
    if (value == "auto")
      out.recover = RecoverMode::automatic;
    else if (value == "app")
      out.recover = RecoverMode::app;
    else
      return refuse(key, value, "auto|app", why);
    return 0;
  }
  return -ENOENT;
}

int validate_migration_devargs(const MigrationDevargs &a, std::string *why)
{
  if (a.dirty_log_given && a.dirty_log == DirtyLogMode::bitmap && a.region_path.empty()) {
    if (why != nullptr)
      *why = "devarg dirty_log=bitmap refused: it needs mig_region=<path>";
    return -EINVAL;
  }
  return 0;
}

}  // namespace ixgbevf_lm::pmd::mig
