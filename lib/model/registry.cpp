/* SPDX-License-Identifier: BSD-3-Clause
 * Registry: the process-wide directory of PF models and the guest memory.
 */
#include <map>
#include <mutex>

#include <ixgbevf_lm/model/pf_model.h>

namespace ixgbevf_lm::model {

struct Registry::Impl {
  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<PfModel>> pfs;
  std::shared_ptr<DmaSpace> mem;
};

Registry &Registry::instance() {
  static Registry r;
  return r;
}

Registry::Impl *Registry::impl() {
  static Impl im;
  return &im;
}

std::shared_ptr<PfModel> Registry::get_or_create(const PfConfig &cfg, bool *created) {
  Impl *im = impl();
  std::lock_guard g(im->mu);
  auto it = im->pfs.find(cfg.name);
  if (it != im->pfs.end()) {
    if (created)
      *created = false;
    return it->second;
  }
  auto pf = PfModel::create(cfg);
  im->pfs.emplace(cfg.name, pf);
  if (created)
    *created = true;
  return pf;
}

std::shared_ptr<PfModel> Registry::find(const std::string &name) const {
  Impl *im = const_cast<Registry *>(this)->impl();
  std::lock_guard g(im->mu);
  auto it = im->pfs.find(name);
  return it == im->pfs.end() ? nullptr : it->second;
}

void Registry::remove(const std::string &name) {
  std::shared_ptr<PfModel> victim;
  Impl *im = impl();
  {
    std::lock_guard g(im->mu);
    auto it = im->pfs.find(name);
    if (it == im->pfs.end())
      return;
    victim = std::move(it->second);
    im->pfs.erase(it);
  }
}

void Registry::set_guest_memory(std::shared_ptr<DmaSpace> mem) {
  Impl *im = impl();
  std::lock_guard g(im->mu);
  im->mem = std::move(mem);
}

std::shared_ptr<DmaSpace> Registry::guest_memory() const {
  Impl *im = const_cast<Registry *>(this)->impl();
  std::lock_guard g(im->mu);
  return im->mem;
}

}  // namespace ixgbevf_lm::model
