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

#include <iterator>

#include "ixgbevf_lm_logs.h"

namespace ixgbevf_lm::pmd {

namespace {

struct Ctx {
  Devargs *out;
  std::string *error;
  const char *key;
};

void fail(Ctx &c, const char *key, const char *value, const char *why) {
  char buf[256];
  snprintf(buf, sizeof buf, "invalid devarg %s=%s: %s", key, value ? value : "", why);
  *c.error = buf;
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
  char *end = nullptr;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || errno || x < 0 || x > 63) {
    fail(c, key, v, "a VF index 0..63 is required");
    return -1;
  }
  c.out->vf = int(x);
  return 0;
}

int on_mac(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  unsigned b[6];
  char tail;
  if (strlen(v) != 17 ||
      sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
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

int on_tx_head_wb(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
    fail(c, key, v, "0 or 1 is required");
    return -1;
  }
  c.out->tx_head_wb = *v == '1';
  return 0;
}

int on_vector(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
    fail(c, key, v, "0 or 1 is required");
    return -1;
  }
  c.out->vector = *v == '1';
  return 0;
}

/* The migration keys: one parser, mig::parse_migration_devarg. */
int on_migration(const char *key, const char *v, void *arg) {
  auto &c = *static_cast<Ctx *>(arg);
  if (!strcmp(key, "mig_region") && *v != '/') {
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
  bool sim_only;
};
const Key kKeys[] = {
    {"pf", on_pf, true},
    {"vf", on_vf, true},
    {"mac", on_mac, true},
    {"uplink", on_uplink, true},
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
const char *const kSimKeys[] = {"pf", "vf", "mac", "uplink", "tx_head_wb", "vector", "mig_region", "dirty_log",
                                "dirty_addr", "mig_poll_us", "recover", "quiesce_timeout_us", nullptr};
const char *const kPciKeys[] = {"tx_head_wb", "vector", "mig_region", "dirty_log", "dirty_addr", "mig_poll_us",
                                "recover", "quiesce_timeout_us", nullptr};

}  // namespace

int parse_devargs_string(const char *args, bool for_sim, Devargs *out, std::string *error) noexcept {
  *out = Devargs{};
  if (args && *args) {
    const char *const *valid = for_sim ? kSimKeys : kPciKeys;
    rte_kvargs *kv = rte_kvargs_parse(args, valid);
    if (!kv) {
      /* find the key that was refused, to name it */
      std::string s(args);
      size_t pos = 0;
      std::string bad = s;
      while (pos <= s.size()) {
        size_t comma = s.find(',', pos);
        std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        std::string k = item.substr(0, item.find('='));
        bool known = false;
        for (const char *const *p = valid; *p; p++)
          known |= k == *p;
        if (!known) {
          bad = item;
          break;
        }
        if (comma == std::string::npos)
          break;
        pos = comma + 1;
      }
      *error = "invalid devarg '" + bad + "': unknown key or malformed (valid keys:";
      for (const char *const *p = valid; *p; p++)
        *error += std::string(" ") + *p;
      *error += ")";
      return -EINVAL;
    }
    Ctx ctx{out, error, nullptr};
    for (const Key &k : kKeys) {
      if (k.sim_only && !for_sim)
        continue;
      if (rte_kvargs_count(kv, k.name) > 1) {
        *error = std::string("devarg ") + k.name + " given more than once";
        rte_kvargs_free(kv);
        return -EINVAL;
      }
      if (rte_kvargs_process(kv, k.name, k.handler, &ctx) < 0) {
        rte_kvargs_free(kv);
        return -EINVAL;
      }
    }
    rte_kvargs_free(kv);
  }
  if (mig::validate_migration_devargs(out->mig, error) != 0)
    return -EINVAL;
  if (for_sim) {
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

int parse_devargs(const rte_devargs *da, bool for_sim, Devargs *out) noexcept {
  std::string error;
  const char *args = da ? da->args : nullptr;
  int rc = parse_devargs_string(args, for_sim, out, &error);
  if (rc)
    IXGBEVF_LM_LOG(ERR, "%s", error.c_str());
  return rc;
}

}  // namespace ixgbevf_lm::pmd
