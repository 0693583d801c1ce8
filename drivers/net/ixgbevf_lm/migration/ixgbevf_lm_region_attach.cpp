/* SPDX-License-Identifier: BSD-3-Clause
 * One region mapping per process (see ixgbevf_lm_region_attach.h).
 */
#include "ixgbevf_lm_region_attach.h"

#include <map>

namespace ixgbevf_lm::pmd::mig {

namespace {
std::mutex g_attach_lock;
std::map<std::string, std::weak_ptr<RegionAttachment>> g_attachments;
}  // namespace

std::shared_ptr<RegionAttachment> RegionAttachment::acquire(const std::string &path, std::string *why)
{
  std::lock_guard<std::mutex> lk(g_attach_lock);
  auto it = g_attachments.find(path);
  if (it != g_attachments.end()) {
    if (auto sp = it->second.lock())
      return sp;
  }
  auto g = region::Guest::attach(path);
  if (!g) {
    if (why != nullptr)
      *why = "migration region " + path + ": " + g.error().message;
    return nullptr;
  }
  auto sp = std::make_shared<RegionAttachment>(std::move(g.value()), path);
  g_attachments[path] = sp;
  return sp;
}

region::Result<region::GuestSlot> RegionAttachment::claim(std::string_view identity)
{
  std::lock_guard<std::mutex> lk(lock_);
  return guest_.claim_slot(identity);
}

void RegionAttachment::release(region::GuestSlot &slot)
{
  std::lock_guard<std::mutex> lk(lock_);
  if (slot.valid())
    (void)guest_.release_slot(slot);
}

}  // namespace ixgbevf_lm::pmd::mig
