/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the device model (lib/model) as an untrusted guest drives it through its VF's BAR0:
 * register writes in any order and value, mailbox messages of any content, descriptor rings and
 * buffers pointing anywhere (outside guest memory, overlapping the rings, wrapping the address
 * space), packets looping back from Tx to Rx. The guest's RAM is one heap block, so AddressSanitizer
 * reports any access of the model outside it; the model must also never crash or hang.
 */
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <ixgbevf_lm/hw/hw.h>
#include <ixgbevf_lm/model/pf_model.h>

#include "fuzz_region_common.h"

using namespace ixgbevf_lm;
using namespace ixgbevf_lm::model;
using namespace ixgbevf_lm::hw;

namespace {

constexpr uint64_t kGuestBase = 0x40000000;
constexpr size_t kGuestSize = 64u << 10;

/* The registers a driver programs, so that the fuzzer reaches them without guessing offsets. */
uint32_t reg(unsigned i)
{
  static const uint32_t fixed[] = {VFCTRL, VFSTATUS, VFLINKS, VTEICR, VTEICS, VTEIMS, VTEIMC, VTEIAC, VTEIAM,
                                   VTIVAR(0), VTIVAR_MISC, VFMAILBOX, VFPSRTYPE, VFMRQC, VFRSSRK(0), VFRETA(0),
                                   VFGPRC, VFGPTC, VFRXMEMWRAP};
  static const uint32_t per_queue[] = {VFRDBAL(0), VFRDBAH(0), VFRDLEN(0), VFRDH(0), VFSRRCTL(0), VFRDT(0),
                                       VFRXDCTL(0), VFTDBAL(0), VFTDBAH(0), VFTDLEN(0), VFTDH(0), VFTDT(0),
                                       VFTXDCTL(0), VFTDWBAL(0), VFTDWBAH(0)};
  constexpr unsigned nf = sizeof fixed / sizeof fixed[0], nq = sizeof per_queue / sizeof per_queue[0];
  i %= nf + nq * 2 + kMbxSizeWords;
  if (i < nf)
    return fixed[i];
  i -= nf;
  if (i < nq * 2)
    return per_queue[i % nq] + kQueueStride * (i / nq);
  return VFMBMEM + 4 * (i - nq * 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static unsigned seq = 0;
  if (size < 1)
    return 0;
  fz::Cursor c{data + 1, size - 1};
  PfConfig cfg;
  cfg.name = "fuzz" + std::to_string(seq++);
  cfg.num_vfs = 2;
  cfg.threaded = false;
  cfg.mac_type = (data[0] & 1) ? MacType::vf_x550 : MacType::vf_82599;
  cfg.max_api = MbxApi::v14;
  cfg.allow_vf_ipsec = data[0] & 2;
  cfg.rx_crc_strip = !(data[0] & 4);
  auto pf = PfModel::create(cfg);
  pf->set_vf_trusted(0, data[0] & 8);
  pf->set_uplink(make_loopback_uplink());

  auto dma = std::make_shared<DmaSpace>();
  auto *ram = static_cast<uint8_t *>(std::calloc(1, kGuestSize));
  dma->map(kGuestBase, ram, kGuestSize);
  {
    VfPort vf(dma);
    vf.attach(pf, 0);
    while (!c.empty()) {
      const uint8_t op = c.take<uint8_t>();
      switch (op % 9) {
      case 0: {
        const uint32_t off = reg(c.take<uint8_t>());
        vf.write32(off, c.take<uint32_t>());
        break;
      }
      case 1: { /* any offset, aligned or not, inside BAR0 or past it */
        const uint32_t off = c.take<uint16_t>();
        vf.write32(off, c.take<uint32_t>());
        break;
      }
      case 2:
        (void)vf.read32(op & 0x80 ? uint32_t(c.take<uint16_t>()) : reg(c.take<uint8_t>()));
        break;
      case 3: { /* the guest writes its RAM: descriptors, buffers, rings overlapping each other */
        const uint16_t at = c.take<uint16_t>() % (kGuestSize - 8);
        const auto v = c.take<uint64_t>();
        std::memcpy(ram + at, &v, sizeof v);
        break;
      }
      case 4: { /* a mailbox message: take the buffer, write it, ring REQ */
        const unsigned n = 1 + c.take<uint8_t>() % kMbxSizeWords;
        vf.write32(VFMAILBOX, VFMAILBOX_VFU);
        for (unsigned i = 0; i < n; i++)
          vf.write32(VFMBMEM + 4 * i, c.take<uint32_t>());
        vf.write32(VFMAILBOX, VFMAILBOX_REQ);
        break;
      }
      case 5: { /* a ring somewhere in (or around) guest RAM */
        const unsigned q = c.take<uint8_t>() % 3;
        const bool rx = op & 0x40;
        const uint64_t base = kGuestBase + int64_t(c.take<int16_t>()) * 16;
        vf.write32(rx ? VFRDBAL(q) : VFTDBAL(q), uint32_t(base));
        vf.write32(rx ? VFRDBAH(q) : VFTDBAH(q), uint32_t(base >> 32));
        vf.write32(rx ? VFRDLEN(q) : VFTDLEN(q), uint32_t(c.take<uint8_t>()) * 128);
        vf.write32(rx ? VFRXDCTL(q) : VFTXDCTL(q), rx ? RXDCTL_ENABLE : TXDCTL_ENABLE);
        break;
      }
      case 6:
        pf->run_until_idle(500);
        pf->advance_time(std::chrono::microseconds(c.take<uint8_t>() * 10));
        pf->run_until_idle(500);
        break;
      case 7:
        switch (c.take<uint8_t>() % 4) {
        case 0: pf->send_control_message(0); break;
        case 1: pf->send_migration_message(0, c.take<uint8_t>()); break;
        case 2: pf->set_link(op & 0x80); break;
        case 3: pf->pf_reset(); break;
        }
        break;
      case 8: { /* a driver's usual tail bump */
        const unsigned q = c.take<uint8_t>() % 3;
        vf.write32(op & 0x40 ? VFRDT(q) : VFTDT(q), c.take<uint16_t>());
        break;
      }
      }
    }
    pf->run_until_idle(500);
    vf.detach();
  }
  pf->shutdown();
  std::free(ram);
  return 0;
}
