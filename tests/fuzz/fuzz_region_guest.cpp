/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the migration region as the guest (the driver's side, lib/region Guest) attaches and
 * follows it. The host is the untrusted party: the header, ranges, page size, slot words, request
 * words and generations are the input, given before the attach (a raw image, or a valid region
 * with bytes changed) and changed again between the guest's operations.
 */
#include <cstdint>
#include <cstdlib>
#include <string>

#include <ixgbevf_lm/region/guest.h>

#include "fuzz_region_common.h"

using namespace ixgbevf_lm::region;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  fz::Cursor c{data + 1, size - 1};
  if (data[0] & 1) {
    /* a raw image of up to 64 KiB, then the operations */
    const size_t want = c.take<uint16_t>();
    const size_t n = c.n < want ? c.n : want;
    int fd = ::open(fz::region_path().c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      return 0;
    (void)!write(fd, c.p, n);
    ::close(fd);
    c.p += n;
    c.n -= n;
  } else if (!fz::create_valid(c)) {
    return 0;
  }
  /* edits before the attach */
  const unsigned pre = c.take<uint8_t>() % 8;
  for (unsigned i = 0; i < pre && !c.empty(); i++) {
    const auto off = c.take<uint16_t>();
    const auto v = c.take<uint64_t>();
    fz::poke(&v, sizeof v, off);
  }
  auto g = Guest::attach(fz::region_path());
  if (!g)
    return 0;
  Guest &guest = *g;
  GuestSlot slot;
  while (!c.empty()) {
    switch (c.take<uint8_t>() % 10) {
    case 0: {
      const auto off = c.take<uint16_t>();
      const auto v = c.take<uint64_t>();
      fz::poke(&v, sizeof v, off);
      break;
    }
    case 1:
      if (auto s = guest.claim_slot("fuzz0"))
        slot = *s;
      break;
    case 2:
      if (slot.valid()) {
        const Request r = slot.poll_request();
        slot.acknowledge(r, r.state, r.logging());
        (void)slot.last_report();
        (void)slot.identity();
      }
      break;
    case 3:
      (void)guest.mark_dirty(c.take<uint64_t>());
      break;
    case 4: {
      const auto gpa = c.take<uint64_t>();
      (void)guest.mark_dirty_range(gpa, c.take<uint32_t>());
      break;
    }
    case 5:
      if (slot.valid())
        slot.set_error(-c.take<uint8_t>(), "fuzz error message that is longer than the slot's field");
      break;
    case 6:
      if (slot.valid()) {
        slot.add_pages_logged(c.take<uint8_t>());
        slot.add_frames_dropped(1);
        slot.count_migration();
        (void)slot.counters();
      }
      break;
    case 7:
      (void)guest.host_generation();
      (void)guest.n_slots();
      (void)guest.version_minor();
      for (uint32_t i = 0; i < guest.n_ranges(); i++)
        (void)guest.range(i);
      if (guest.tracks_fetches())
        (void)guest.fetch_counters();
      (void)guest.is_marked(c.take<uint64_t>());
      break;
    case 8:
      if (slot.valid())
        (void)guest.release_slot(slot);
      break;
    default:
      break;
    }
  }
  return 0;
}
