/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the guest's slot and dirty bitmaps as the host side (lib/region Host: the VMM and
 * ixgbevf-lm-migrate) reads them. The guest is the untrusted party here: it writes its slot (claim
 * word, owner, identity, report, counters, error text) and the bitmaps in any way; the host finds,
 * reports on, requests, waits on and releases slots and reads the dirty pages.
 */
#include <chrono>
#include <cstdint>
#include <cstdlib>

#include <ixgbevf_lm/region/host.h>

#include "fuzz_region_common.h"

using namespace ixgbevf_lm::region;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz::Cursor c{data, size};
  auto h = fz::create_valid(c);
  if (!h)
    return 0;
  Host &host = *h;
  const uint32_t n_slots = host.n_slots();
  /* offsets of slot i and of the bitmaps, as a guest finds them (slots follow the header) */
  auto slot_off = [&](uint32_t i) { return uint64_t(sizeof(Header)) + uint64_t(i) * sizeof(Slot); };
  while (!c.empty()) {
    const uint8_t op = c.take<uint8_t>();
    const uint32_t i = c.take<uint8_t>() % (n_slots + 1); /* one past the end too */
    switch (op % 9) {
    case 0: { /* the guest writes 8 bytes anywhere in a slot, or in the bitmaps (i == n_slots) */
      const uint64_t at = i < n_slots ? slot_off(i) + c.take<uint8_t>() % (sizeof(Slot) - 7)
                                      : slot_off(n_slots) + c.take<uint16_t>();
      const auto v = c.take<uint64_t>();
      fz::poke(&v, sizeof v, at);
      break;
    }
    case 1: { /* or a whole slot */
      uint8_t s[sizeof(Slot)] = {};
      for (auto &b : s)
        b = c.take<uint8_t>();
      fz::poke(s, sizeof s, slot_off(i % n_slots));
      break;
    }
    case 2:
      (void)host.find_slot("fuzz0");
      break;
    case 3:
      if (auto st = host.slot_status(i); st) {
        /* guest-written text reaches operators' terminals: bounded and printable */
        if (st->identity.size() >= kIdentityLen || st->error_msg.size() >= kErrorMsgLen)
          abort();
        for (const std::string *t : {&st->identity, &st->error_msg})
          for (char ch : *t)
            if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
              abort();
      }
      break;
    case 4:
      (void)host.request_state(i, State(c.take<uint8_t>() % (kStateCount + 1)),
                               ResumeKind(c.take<uint8_t>() % 4));
      break;
    case 5:
      (void)host.set_logging(i, c.take<uint8_t>() & 1);
      break;
    case 6:
      (void)host.wait_ack(i, c.take<uint32_t>(), std::chrono::milliseconds(0));
      break;
    case 7: {
      const uint64_t pages = host.dirty_pages(c.take<uint8_t>() & 1 ? ReadMode::clear : ReadMode::no_clear).size();
      uint64_t limit = 0;
      for (uint32_t r = 0; r < host.n_ranges(); r++)
        limit += host.range(r).n_words * 64;
      if (pages > limit)
        abort();
      break;
    }
    case 8:
      (void)host.release_slot(i);
      break;
    }
  }
  return 0;
}
