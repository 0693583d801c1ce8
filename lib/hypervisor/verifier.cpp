/* SPDX-License-Identifier: BSD-3-Clause */
#include <ixgbevf_lm/hypervisor/verifier.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace ixgbevf_lm::hv {

DirtyVerifier::DirtyVerifier(uint64_t region_page_size, uint64_t truth_page_size)
{
  if (!std::has_single_bit(region_page_size) || !std::has_single_bit(truth_page_size))
    throw std::invalid_argument("page sizes must be powers of two");
  shift_ = unsigned(std::countr_zero(std::max(region_page_size, truth_page_size)));
}

RoundCheck DirtyVerifier::round(std::span<const uint64_t> truth, std::span<const uint64_t> reported)
{
  RoundCheck rc;
  std::unordered_set<uint64_t> t;
  t.reserve(truth.size());
  for (uint64_t a : truth)
    t.insert(a >> shift_);
  std::unordered_set<uint64_t> r;
  r.reserve(reported.size());
  for (uint64_t a : reported)
    r.insert(a >> shift_);
  rc.truth_pages = t.size();
  rc.reported_pages = r.size();
  pending_.insert(t.begin(), t.end());
  for (uint64_t p : r)
    pending_.erase(p);
  rc.pending_after = pending_.size();
  total_truth_ += rc.truth_pages;
  total_reported_ += rc.reported_pages;
  ++rounds_;
  return rc;
}

std::vector<uint64_t> DirtyVerifier::pending_pages(size_t max) const
{
  std::vector<uint64_t> v(pending_.begin(), pending_.end());
  std::sort(v.begin(), v.end());
  if (v.size() > max)
    v.resize(max);
  for (auto &p : v)
    p <<= shift_;
  return v;
}

void DirtyVerifier::reset()
{
  pending_.clear();
  total_truth_ = total_reported_ = 0;
  rounds_ = 0;
}

}  // namespace ixgbevf_lm::hv
