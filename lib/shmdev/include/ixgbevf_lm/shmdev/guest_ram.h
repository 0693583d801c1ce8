/* SPDX-License-Identifier: BSD-3-Clause
 * GuestRam: a QEMU guest's RAM as a device process sees it. QEMU runs with
 *   -object memory-backend-file,id=ram,share=on,mem-path=FILE,size=N
 *   -machine q35,memory-backend=ram
 * and this maps FILE and lays it out at the guest-physical addresses of the machine type, so that a
 * device model (model::DmaSpace) reaches guest RAM by GPA, as a VF's DMA does with IOVA = GPA.
 *
 * Layout (QEMU's x86 machines with default options): the file's first `below_4g` bytes are GPA
 * [0, below_4g), the rest is GPA [4 GiB, 4 GiB + rest). q35 keeps all RAM below 4 GiB when it is
 * smaller than 2.75 GiB, else 2 GiB (the PCI hole above); pc (i440fx): 3.5 GiB, else 3 GiB. Any
 * GPA outside is not RAM: the DmaSpace refuses the access (a DMA fault, counted), never a crash.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ixgbevf_lm/model/dma.h>

namespace ixgbevf_lm::shmdev {

enum class Machine { q35, pc };

/* One contiguous piece of guest RAM: GPA [gpa, gpa + len) is file offset [offset, offset + len). */
struct RamRange {
  uint64_t gpa;
  uint64_t offset;
  uint64_t len;
};

/* The RAM layout of a machine type for ram_bytes of RAM (at most two ranges). */
std::vector<RamRange> ram_layout(Machine m, uint64_t ram_bytes);
bool parse_machine(const std::string &s, Machine *m);

class GuestRam {
 public:
  /* Maps path (shared, read-write). ram_bytes 0: the file's size. nullptr and *why when the file
   * is missing, is smaller than ram_bytes, or ram_bytes is not a multiple of 4 KiB. */
  static std::unique_ptr<GuestRam> open(const std::string &path, Machine m, uint64_t ram_bytes,
                                        std::string *why);
  ~GuestRam();
  GuestRam(const GuestRam &) = delete;
  GuestRam &operator=(const GuestRam &) = delete;

  uint64_t size() const { return size_; }
  const std::vector<RamRange> &layout() const { return layout_; }
  uint8_t *base() const { return base_; }
  /* File offset of a GPA range inside one RAM range, or false. */
  bool offset_of(uint64_t gpa, uint64_t len, uint64_t *offset) const;
  /* Maps every RAM range into dma at its GPA (IOVA = GPA). */
  bool map_into(model::DmaSpace &dma, std::string *why) const;
  /* Copies the 4 KiB pages at these GPAs to another guest's RAM of the same layout (the destination
   * of a migration); returns the pages copied, *why names the first GPA that is not RAM. */
  uint64_t copy_pages_to(const GuestRam &dst, const std::vector<uint64_t> &gpas,
                         std::string *why) const;

 private:
  GuestRam() = default;
  uint8_t *base_ = nullptr;
  uint64_t size_ = 0;
  std::vector<RamRange> layout_;
};

}  // namespace ixgbevf_lm::shmdev
