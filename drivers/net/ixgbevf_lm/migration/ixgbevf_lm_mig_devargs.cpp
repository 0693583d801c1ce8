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

const char *devarg_value_problem(const char *value) noexcept
{
  if (value == nullptr)
    return "the value is missing (write key=value)";
  if (*value == '\0')
    return "the value is empty";
  size_t n = 0;
  for (const char *p = value; *p != '\0'; p++, n++) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c > 0x7e)
      return "the value has a byte that is not printable ASCII";
  }
  if (value[0] == ' ' || value[n - 1] == ' ')
    return "the value starts or ends with a space";
  return nullptr;
}

namespace {

/* A key or value in a message: printable (\xNN otherwise), its first bytes only, so that a value
 * of any length leaves the reason on the line. */
void append_shown(std::string &out, std::string_view s)
{
  constexpr size_t kShown = 48;  /* characters of the message, escapes included */
  const size_t start = out.size();
  size_t i = 0;
  for (; i < s.size() && out.size() - start < kShown; i++) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c > 0x20 && c <= 0x7e && c != '\\') {
      out += char(c);
    } else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (i < s.size())
    out += "... (" + std::to_string(s.size()) + " bytes)";
}

}  // namespace

std::string devarg_refusal(std::string_view key, std::string_view value, std::string_view reason)
{
  std::string out = "devarg ";
  append_shown(out, key);
  if (!value.empty())
    out += '=';
  append_shown(out, value);
  out += " refused: ";
  out.append(reason);
  return out;
}

namespace {

int refuse(std::string_view key, std::string_view value, const char *expected, std::string *why)
{
  if (why != nullptr)
    *why = devarg_refusal(key, value, std::string("expected ") + expected);
  return -EINVAL;
}

int refuse_value(std::string_view key, std::string_view value, const char *problem, std::string *why)
{
  if (why != nullptr)
    *why = devarg_refusal(key, value, problem);
  return -EINVAL;
}

}  // namespace

int parse_migration_devarg(std::string_view key, std::string_view value, MigrationDevargs &out, std::string *why)
{
  bool known = false;
  for (const char *k : kMigrationDevargKeys)
    known |= key == k;
  if (!known)
    return -ENOENT;
  const std::string v(value);  /* NUL-terminated; a NUL inside the view is refused as well */
  if (v.find('\0') != std::string::npos)
    return refuse_value(key, value, "the value has a NUL byte", why);
  if (const char *bad = devarg_value_problem(v.c_str()); bad != nullptr)
    return refuse_value(key, value, bad, why);
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
