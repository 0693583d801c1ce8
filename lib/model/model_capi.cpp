/* SPDX-License-Identifier: BSD-3-Clause
 * C ABI to a model VF's register window. No exception crosses it.
 */
#include <cstdio>
#include <cstring>

#include <ixgbevf_lm/model/pf_model.h>
#include <ixgbevf_lm_model.h>

using namespace ixgbevf_lm::model;

struct ixgbevf_lm_vf_window {
  std::unique_ptr<VfPort> port;
};

namespace {
std::shared_ptr<DmaSpace> process_guest_memory() {
  auto &reg = Registry::instance();
  static std::mutex mu;
  std::lock_guard g(mu);
  auto mem = reg.guest_memory();
  if (!mem) {
    mem = std::make_shared<DmaSpace>();
    reg.set_guest_memory(mem);
  }
  return mem;
}

void set_err(char *err, size_t len, const std::string &msg) {
  if (err && len)
    std::snprintf(err, len, "%s", msg.c_str());
}
}  // namespace

extern "C" {

ixgbevf_lm_vf_window *ixgbevf_lm_vf_window_open(const char *pf_name, unsigned num_vfs, unsigned vf, char *err,
                                                size_t err_len) {
  try {
    if (!pf_name || !*pf_name) {
      set_err(err, err_len, "no PF name");
      return nullptr;
    }
    PfConfig cfg;
    cfg.name = pf_name;
    cfg.num_vfs = num_vfs ? num_vfs : cfg.num_vfs;
    auto pf = Registry::instance().get_or_create(cfg);
    auto w = std::make_unique<ixgbevf_lm_vf_window>();
    w->port = std::make_unique<VfPort>(process_guest_memory());
    std::string why;
    if (!w->port->attach(pf, vf, &why)) {
      set_err(err, err_len, why);
      return nullptr;
    }
    return w.release();
  } catch (const std::exception &e) {
    set_err(err, err_len, e.what());
  } catch (...) {
    set_err(err, err_len, "unknown error");
  }
  return nullptr;
}

void ixgbevf_lm_vf_window_close(ixgbevf_lm_vf_window *w) {
  try {
    delete w;
  } catch (...) {
  }
}

uint32_t ixgbevf_lm_vf_read32(ixgbevf_lm_vf_window *w, uint32_t offset) {
  return w ? w->port->read32(offset) : 0xFFFFFFFFu;
}

void ixgbevf_lm_vf_write32(ixgbevf_lm_vf_window *w, uint32_t offset, uint32_t value) {
  if (w)
    w->port->write32(offset, value);
}

int ixgbevf_lm_guest_memory_map(uint64_t iova, void *va, uint64_t len) {
  try {
    return process_guest_memory()->map(iova, va, len) ? 0 : -1;
  } catch (...) {
    return -1;
  }
}

}  // extern "C"
