/* SPDX-License-Identifier: BSD-3-Clause
 * Uplink spec parser, the wire directory and the uplink factory.
 */
#include <ixgbevf_lm/hypervisor/uplink.h>

#include <cstdio>
#include <map>
#include <mutex>

#include <ixgbevf_lm/model/tap.h>

namespace ixgbevf_lm::hv {

namespace {

constexpr const char *kForms = "expected none, loop, tap:<ifname> or wire:<name>";

bool valid_name_char(char c, bool tap)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  if (c == '-' || c == '_' || c == '.')
    return true;
  return !tap && c == '@';
}

/* A spec in a message: printable, and short enough that the reason after it stays on the line. */
std::string shown(std::string_view s)
{
  constexpr size_t kShown = 48;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kShown; i++) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c <= 0x7e && c != '\'') {
      out += char(c);
    } else {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (s.size() > kShown)
    out += "...";
  return out;
}

void set(std::string *why, std::string s)
{
  if (why)
    *why = std::move(s);
}

}  // namespace

std::string UplinkSpec::to_string() const
{
  switch (kind) {
  case UplinkKind::none: return "none";
  case UplinkKind::loop: return "loop";
  case UplinkKind::tap: return "tap:" + name;
  case UplinkKind::wire: return "wire:" + name;
  }
  return "none";
}

std::optional<UplinkSpec> parse_uplink_spec(std::string_view spec, std::string *why)
{
  const std::string quoted = "uplink '" + shown(spec) + "': ";
  if (spec == "none")
    return UplinkSpec{UplinkKind::none, {}};
  if (spec == "loop")
    return UplinkSpec{UplinkKind::loop, {}};
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    set(why, quoted + "unknown kind; " + kForms);
    return std::nullopt;
  }
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view name = spec.substr(colon + 1);
  UplinkSpec out;
  size_t max_len;
  if (kind == "tap") {
    out.kind = UplinkKind::tap;
    max_len = kMaxIfName;
  } else if (kind == "wire") {
    out.kind = UplinkKind::wire;
    max_len = kMaxWireName;
  } else {
    set(why, quoted + "unknown kind '" + shown(kind) + "'; " + kForms);
    return std::nullopt;
  }
  if (name.empty()) {
    set(why, quoted + "empty " + (out.kind == UplinkKind::tap ? "interface" : "wire") + " name; " + kForms);
    return std::nullopt;
  }
  if (name.size() > max_len) {
    set(why, quoted + "name longer than " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  for (char c : name)
    if (!valid_name_char(c, out.kind == UplinkKind::tap)) {
      set(why, quoted + "character '" + shown({&c, 1}) + "' not allowed in a name (letters, digits, - _ .)");
      return std::nullopt;
    }
  out.name = std::string(name);
  return out;
}

std::shared_ptr<model::Wire> wire_by_name(const std::string &name)
{
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<model::Wire>> wires;
  std::lock_guard g(mu);
  auto &w = wires[name];
  if (!w)
    w = model::make_wire(name);
  return w;
}

std::unique_ptr<model::Uplink> make_uplink(const UplinkSpec &spec, std::string *why)
{
  set(why, {});
  switch (spec.kind) {
  case UplinkKind::none: return nullptr;
  case UplinkKind::loop: return model::make_loopback_uplink();
  case UplinkKind::wire: return model::make_wire_uplink(wire_by_name(spec.name));
  case UplinkKind::tap: {
    /* Persistent, so that a PF switch is a pause for the kernel (same ifindex, addresses and
     * permanent neighbours); removed when the last PF model of this process lets it go, if this
     * process created it. */
    model::TapOptions opts;
    opts.persist = true;
    opts.bring_up = true;
    opts.remove_when_last_closed = true;
    std::string err;
    auto u = model::make_tap_uplink(spec.name, opts, &err);
    if (!u)
      set(why, "uplink 'tap:" + spec.name + "': " + (err.empty() ? std::string("cannot open") : err));
    return u;
  }
  }
  return nullptr;
}

std::unique_ptr<model::Uplink> make_uplink(std::string_view spec, std::string *why)
{
  auto s = parse_uplink_spec(spec, why);
  if (!s)
    return nullptr;
  return make_uplink(*s, why);
}

}  // namespace ixgbevf_lm::hv
