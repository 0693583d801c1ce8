/* SPDX-License-Identifier: BSD-3-Clause
 * Shared by the region fuzz targets: a region file of this process in /dev/shm, created valid from
 * a few input bytes (so that the fuzzer starts from a layout the guest accepts), and a cursor over
 * the rest of the input.
 */
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <ixgbevf_lm/region/host.h>

namespace fz {

struct Cursor {
  const uint8_t *p;
  size_t n;
  bool empty() const { return n == 0; }
  template <typename T> T take()
  {
    T v{};
    const size_t k = n < sizeof v ? n : sizeof v;
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
  }
};

inline const std::string &region_path()
{
  static const std::string path = "/dev/shm/ixgbevf_lm_fuzz_region_" + std::to_string(getpid());
  static const bool removed_at_exit = std::atexit([] { ::unlink(path.c_str()); }) == 0;
  (void)removed_at_exit;
  return path;
}

/* A valid region whose page size, ranges and slot count come from the cursor. */
inline ixgbevf_lm::region::Result<ixgbevf_lm::region::Host> create_valid(Cursor &c)
{
  using namespace ixgbevf_lm::region;
  CreateParams params;
  params.page_size = kMinPageSize << (c.take<uint8_t>() % 10);
  params.n_slots = 1 + c.take<uint8_t>() % kMaxSlots;
  const unsigned n_ranges = 1 + c.take<uint8_t>() % 3;
  uint64_t base = 0;
  for (unsigned i = 0; i < n_ranges; i++) {
    base += uint64_t(c.take<uint8_t>()) * params.page_size;
    const uint64_t len = (1 + uint64_t(c.take<uint8_t>() % 64)) * params.page_size;
    params.ranges.push_back(RangeSpec{base, len});
    base += len;
  }
  return Host::create(region_path(), params);
}

/* Write bytes into the region file behind the mapping's back, as the other side may at any time. */
inline void poke(const void *bytes, size_t len, uint64_t off)
{
  int fd = ::open(region_path().c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return;
  const off_t size = lseek(fd, 0, SEEK_END);
  if (size > 0 && len <= uint64_t(size)) {
    off %= uint64_t(size) - len + 1;
    (void)!pwrite(fd, bytes, len, off_t(off));
  }
  ::close(fd);
}

}  // namespace fz
