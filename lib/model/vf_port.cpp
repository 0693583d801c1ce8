/* SPDX-License-Identifier: BSD-3-Clause
 * VfPort: the guest's view of a VF at its BAR0. Register access is lock-free: the port publishes
 * its current binding through an atomic pointer; a binding that was replaced stays allocated until
 * the port goes away, so an access racing a detach lands on the old VF (as an in-flight PCI write
 * would) instead of on freed memory.
 */
#include <atomic>
#include <mutex>

#include "pf_internal.h"

namespace ixgbevf_lm::model {

namespace {
struct Binding {
  std::shared_ptr<PfModel> pf;
  VfState *vf = nullptr;
};
}  // namespace

struct VfPort::Impl {
  std::shared_ptr<DmaSpace> mem;
  std::atomic<Binding *> cur{nullptr};
  mutable std::mutex mu;                        /* attach/detach */
  std::vector<std::unique_ptr<Binding>> bindings;
  std::function<void(unsigned)> msix_sink;      /* under mu; copied into the bound VF under its PF's lock */
};

VfPort::VfPort(std::shared_ptr<DmaSpace> guest_memory) : impl_(std::make_unique<Impl>()) {
  impl_->mem = guest_memory ? std::move(guest_memory) : std::make_shared<DmaSpace>();
}

VfPort::~VfPort() { detach(); }

bool VfPort::attach(const std::shared_ptr<PfModel> &pf, unsigned vf, std::string *why) {
  std::lock_guard g(impl_->mu);
  if (!pf) {
    if (why)
      *why = "no PF model";
    return false;
  }
  if (impl_->cur.load()) {
    if (why)
      *why = "port is already attached; detach it first";
    return false;
  }
  VfState *s = pf_bind_vf(pf->impl(), vf, impl_->mem, why);
  if (!s)
    return false;
  auto b = std::make_unique<Binding>();
  b->pf = pf;
  b->vf = s;
  {
    std::lock_guard pg(pf->impl().mu);
    s->msix_sink = impl_->msix_sink;
  }
  impl_->cur.store(b.get(), std::memory_order_release);
  impl_->bindings.push_back(std::move(b));
  return true;
}

void VfPort::detach() {
  std::lock_guard g(impl_->mu);
  Binding *b = impl_->cur.exchange(nullptr, std::memory_order_acq_rel);
  if (b) {
    {
      std::lock_guard pg(b->pf->impl().mu);
      b->vf->msix_sink = nullptr;
    }
    pf_unbind_vf(b->pf->impl(), *b->vf);
  }
}

void VfPort::set_msix_sink(std::function<void(unsigned)> sink) {
  std::lock_guard g(impl_->mu);
  impl_->msix_sink = std::move(sink);
  if (Binding *b = impl_->cur.load()) {
    std::lock_guard pg(b->pf->impl().mu);
    b->vf->msix_sink = impl_->msix_sink;
  }
}

bool VfPort::attached() const { return impl_->cur.load(std::memory_order_acquire) != nullptr; }

std::shared_ptr<PfModel> VfPort::pf() const {
  std::lock_guard g(impl_->mu);
  Binding *b = impl_->cur.load();
  return b ? b->pf : nullptr;
}

unsigned VfPort::vf_index() const {
  Binding *b = impl_->cur.load(std::memory_order_acquire);
  return b ? b->vf->index : 0;
}

DmaSpace &VfPort::dma() const { return *impl_->mem; }

uint32_t VfPort::read32(uint32_t offset) {
  Binding *b = impl_->cur.load(std::memory_order_acquire);
  if (!b)
    return 0xFFFFFFFFu;
  return vf_register_read(*b->vf, offset);
}

void VfPort::write32(uint32_t offset, uint32_t value) {
  Binding *b = impl_->cur.load(std::memory_order_acquire);
  if (b)
    vf_register_write(*b->vf, offset, value);
}

}  // namespace ixgbevf_lm::model
