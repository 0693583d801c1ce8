/* SPDX-License-Identifier: BSD-3-Clause
 * The register dump (eth_dev_ops.get_reg, `ethtool -d` style): general and per-queue registers.
 */
#include <ethdev_driver.h>

#include "ixgbevf_lm_adapter.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

/* Register dump: everything but VFMAILBOX (reading it clears status bits) and the mailbox memory. */
constexpr uint32_t kDumpGeneral[] = {VFCTRL, VFSTATUS, VFLINKS, VFFRTIMER, VTEIMS, VTEIAC, VTEIAM, VFPSRTYPE,
                                     VFGPRC, VFGPTC, VFGORC_LSB, VFGORC_MSB, VFGOTC_LSB, VFGOTC_MSB, VFMPRC,
                                     VFMRQC};
constexpr uint32_t kDumpPerQueue = 13;

uint32_t reg_count() { return uint32_t(std::size(kDumpGeneral)) + kDumpPerQueue * kVfMaxQueues; }

}  // namespace

int get_reg(rte_eth_dev *dev, rte_dev_reg_info *regs) noexcept {
  Adapter &ad = adapter_of(dev);
  if (!regs->data) {
    regs->length = reg_count();
    regs->width = sizeof(uint32_t);
    return 0;
  }
  if (regs->length && regs->length != reg_count())
    return -ENOTSUP;
  auto *out = static_cast<uint32_t *>(regs->data);
  unsigned k = 0;
  for (uint32_t off : kDumpGeneral)
    out[k++] = rd32(ad.hw, off);
  for (unsigned q = 0; q < kVfMaxQueues; q++) {
    for (uint32_t off : {VFRDBAL(q), VFRDBAH(q), VFRDLEN(q), VFRDH(q), VFRDT(q), VFSRRCTL(q), VFRXDCTL(q),
                         VFTDBAL(q), VFTDBAH(q), VFTDLEN(q), VFTDH(q), VFTDT(q), VFTXDCTL(q)})
      out[k++] = rd32(ad.hw, off);
  }
  regs->length = k;
  regs->width = sizeof(uint32_t);
  regs->version = uint32_t(ad.mac_type);
  return 0;
}

}  // namespace ixgbevf_lm::pmd
