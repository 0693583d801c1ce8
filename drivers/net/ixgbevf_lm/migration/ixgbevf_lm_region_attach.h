/* SPDX-License-Identifier: BSD-3-Clause
 * A migration region mapped once per process, and the slot claims of the ports that name it.
 */
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <ixgbevf_lm/region/guest.h>

namespace ixgbevf_lm::pmd::mig {

/* One migration region mapped once per process and shared by every port that names its path. */
class RegionAttachment {
 public:
  static std::shared_ptr<RegionAttachment> acquire(const std::string &path, std::string *why);
  region::Guest &guest() noexcept { return guest_; }
  const std::string &path() const noexcept { return path_; }
  /* Slot claims and releases are serialised across ports. */
  region::Result<region::GuestSlot> claim(std::string_view identity);
  void release(region::GuestSlot &slot);

  RegionAttachment(region::Guest g, std::string path) : guest_(std::move(g)), path_(std::move(path)) {}

 private:
  region::Guest guest_;
  std::string path_;
  std::mutex lock_;
};

}  // namespace ixgbevf_lm::pmd::mig
