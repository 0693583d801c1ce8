/* SPDX-License-Identifier: BSD-3-Clause
 * Device arguments, parsed with rte_kvargs against one array of valid keys; one handler per key.
 */
#include "ixgbevf_lm_devargs.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <rte_devargs.h>
#include <rte_kvargs.h>

#include <algorithm>
#include <iterator>
#include <string_view>

#include "ixgbevf_lm_logs.h"

namespace ixgbevf_lm::pmd {

namespace {

struct Ctx {
  Devargs *out;
  std::string *error;
  arg_handler_t handler; /* the key's own handler, behind check_value */
};

void fail(Ctx &c, const char *key, const char *value, const char *why) {
  *c.error = mig::devarg_refusal(key, value != nullptr ? value : "", why);
}

/* Every value passes here first: kvargs hands a bare key ("vf") over with a null value. */
int check_value(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  if (const char *bad = mig::devarg_value_problem(v)) {
    fail(c, key, v, bad);
    return -1;
  }
  return c.handler(key, v, arg);
}

bool all_digits(const char *v, size_t max_len) {
  size_t n = strlen(v);
  if (n == 0 || n > max_len)
    return false;
  for (size_t i = 0; i < n; i++)
    if (v[i] < '0' || v[i] > '9')
      return false;
  return true;
}

int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

int on_pf(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  size_t n = strlen(v);
  if (n == 0 || n > 63) {
    fail(c, key, v, "a PF name of 1 to 63 characters is required");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    char ch = v[i];
    if (!(isalnum(uint8_t(ch)) || ch == '_' || ch == '-' || ch == '.')) {
      fail(c, key, v, "letters, digits, '_', '-' and '.' only");
      return -1;
    }
  }
  c.out->pf = v;
  return 0;
}

int on_vf(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  /* digits only: strtol would take "+1", " 1" and "0x1" */
  long x = all_digits(v, 2) ? strtol(v, nullptr, 10) : -1;
  if (x < 0 || x > 63) {
    fail(c, key, v, "a VF index 0..63 is required");
    return -1;
  }
  c.out->vf = int(x);
  return 0;
}

int on_mac(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  /* exactly xx:xx:xx:xx:xx:xx; sscanf's %x would take " 2", "+2" and "-0" */
  unsigned b[6];
  bool ok = strlen(v) == 17;
  for (unsigned i = 0; ok && i < 6; i++) {
    int hi = hex_digit(v[3 * i]), lo = hex_digit(v[3 * i + 1]);
    ok = hi >= 0 && lo >= 0 && (i == 5 || v[3 * i + 2] == ':');
    b[i] = unsigned(hi * 16 + lo);
  }
  if (!ok) {
    fail(c, key, v, "expected xx:xx:xx:xx:xx:xx");
    return -1;
  }
  bool zero = true;
  for (unsigned i = 0; i < 6; i++) {
    c.out->mac[i] = uint8_t(b[i]);
    zero &= b[i] == 0;
  }
  if (zero || (b[0] & 1)) {
    fail(c, key, v, "a unicast, non-zero address is required");
    return -1;
  }
  c.out->has_mac = true;
  return 0;
}

/* What the spec names is the backend's to check at probe (the sim: hv::parse_uplink_spec). */
int on_uplink(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  if (*v == '\0') {
    fail(c, key, v, "an uplink spec is required");
    return -1;
  }
  c.out->uplink = v;
  return 0;
}

/* A 0|1 key into *out. */
int parse_01(Ctx &c, const char *key, const char *v, bool *out) {
  if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
    fail(c, key, v, "0 or 1 is required");
    return -1;
  }
  *out = *v == '1';
  return 0;
}

int on_tx_head_wb(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  return parse_01(c, key, v, &c.out->tx_head_wb);
}

int on_trusted(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  bool on = false;
  if (parse_01(c, key, v, &on) != 0)
    return -1;
  c.out->trusted = on ? 1 : 0;
  return 0;
}

int on_vector(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  return parse_01(c, key, v, &c.out->vector);
}

/* The migration keys: one parser, mig::parse_migration_devarg. */
int on_migration(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  if (!strcmp(key, "mig_region") && v[0] != '/') {
    fail(c, key, v, "an absolute path is required");
    return -1;
  }
  std::string why;
  if (mig::parse_migration_devarg(key, v, c.out->mig, &why) != 0) {
    *c.error = why;
    return -1;
  }
  return 0;
}

struct Key {
  const char *name;
  arg_handler_t handler;
  bool vdev_only;
};
const Key kKeys[] = {
    {"pf", on_pf, true},
    {"vf", on_vf, true},
    {"mac", on_mac, true},
    {"uplink", on_uplink, true},
    {"trusted", on_trusted, true},
    {"tx_head_wb", on_tx_head_wb, false},
    {"vector", on_vector, false},
    {"mig_region", on_migration, false},
    {"dirty_log", on_migration, false},
    {"dirty_addr", on_migration, false},
    {"mig_poll_us", on_migration, false},
    {"recover", on_migration, false},
    {"quiesce_timeout_us", on_migration, false},
};
static_assert(std::size(mig::kMigrationDevargKeys) == 6, "every migration key has a row in kKeys");
const char *const kVdevKeys[] = {"pf", "vf", "mac", "uplink", "trusted", "tx_head_wb", "vector", "mig_region",
                                "dirty_log", "dirty_addr", "mig_poll_us", "recover", "quiesce_timeout_us", nullptr};
const char *const kPciKeys[] = {"tx_head_wb", "vector", "mig_region", "dirty_log", "dirty_addr", "mig_poll_us",
                                "recover", "quiesce_timeout_us", nullptr};

/* kvargs refused the whole list: name the first pair whose key is not valid here, or say why. */
std::string refused_list(const char *args, const char *const *valid) {
  std::string_view s(args);
  size_t pairs = 0;
  for (size_t pos = 0; pos <= s.size();) {
    size_t comma = std::min(s.find(',', pos), s.size());
    std::string_view item = s.substr(pos, comma - pos);
    std::string_view key = item.substr(0, item.find('='));
    pos = comma + 1;
    if (item.empty())
      continue;
    pairs++;
    bool known = false;
    for (const char *const *p = valid; *p; p++)
      known |= key == *p;
    if (!known || item.find('=') != item.rfind('=')) {
      std::string keys;
      for (const char *const *p = valid; *p; p++)
        keys += std::string(keys.empty() ? "" : " ") + *p;
      std::string why = known ? "more than one '=' in the pair" : "unknown key (valid keys: " + keys + ")";
      size_t eq = item.find('=');
      return mig::devarg_refusal(key, eq == std::string_view::npos ? "" : item.substr(eq + 1), why);
    }
  }
  if (pairs > RTE_KVARGS_MAX)
    return "devargs refused: more than " + std::to_string(RTE_KVARGS_MAX) + " key=value pairs";
  return mig::devarg_refusal("", s, "malformed devargs");
}

}  // namespace

int parse_devargs_string(const char *args, bool vdev_keys, Devargs *out, std::string *error) noexcept {
  *out = Devargs{};
  if (args && *args) {
    const char *const *valid = vdev_keys ? kVdevKeys : kPciKeys;
    rte_kvargs *kv = rte_kvargs_parse(args, valid);
    if (!kv) {
      *error = refused_list(args, valid);
      return -EINVAL;
    }
    Ctx ctx{out, error, nullptr};
    for (const Key &k : kKeys) {
      if (k.vdev_only && !vdev_keys)
        continue;
      if (rte_kvargs_count(kv, k.name) > 1) {
        *error = std::string("devarg ") + k.name + " refused: given more than once";
        rte_kvargs_free(kv);
        return -EINVAL;
      }
      ctx.handler = k.handler;
      if (rte_kvargs_process(kv, k.name, check_value, &ctx) < 0) {
        rte_kvargs_free(kv);
        return -EINVAL;
      }
    }
    rte_kvargs_free(kv);
  }
  if (mig::validate_migration_devargs(out->mig, error) != 0)
    return -EINVAL;
  if (vdev_keys) {
    if (out->pf.empty()) {
      *error = "devarg pf=<name> is required";
      return -EINVAL;
    }
    if (out->vf < 0) {
      *error = "devarg vf=<index> is required";
      return -EINVAL;
    }
  }
  return 0;
}

int parse_devargs(const rte_devargs *da, bool vdev_keys, Devargs *out) noexcept {
  std::string error;
  const char *args = da ? da->args : nullptr;
  int rc = parse_devargs_string(args, vdev_keys, out, &error);
  if (rc)
    IXGBEVF_LM_LOG(ERR, "%s", error.c_str());
  return rc;
}

}  // namespace ixgbevf_lm::pmd
