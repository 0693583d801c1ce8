/* SPDX-License-Identifier: BSD-3-Clause
 * GuestRam: the memory-backend file mapped and laid out at guest-physical addresses.
 */
#include <ixgbevf_lm/shmdev/guest_ram.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ixgbevf_lm::shmdev {

namespace {
constexpr uint64_t kPage = 4096;
constexpr uint64_t k4G = 1ULL << 32;
/* QEMU's defaults: q35 moves RAM above 4 GiB from 2.75 GiB on, pc from 3.5 GiB on. */
constexpr uint64_t kQ35LowLimit = 0xB0000000, kQ35Low = 0x80000000;
constexpr uint64_t kPcLowLimit = 0xE0000000, kPcLow = 0xC0000000;

std::string sys_why(const char *what, const std::string &path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}
}  // namespace

std::vector<RamRange> ram_layout(Machine m, uint64_t ram_bytes) {
  const uint64_t limit = m == Machine::q35 ? kQ35LowLimit : kPcLowLimit;
  const uint64_t low = ram_bytes < limit ? ram_bytes : (m == Machine::q35 ? kQ35Low : kPcLow);
  std::vector<RamRange> r;
  if (low)
    r.push_back({0, 0, low});
  if (ram_bytes > low)
    r.push_back({k4G, low, ram_bytes - low});
  return r;
}

bool parse_machine(const std::string &s, Machine *m) {
  if (s == "q35")
    *m = Machine::q35;
  else if (s == "pc")
    *m = Machine::pc;
  else
    return false;
  return true;
}

std::unique_ptr<GuestRam> GuestRam::open(const std::string &path, Machine m, uint64_t ram_bytes,
                                         std::string *why) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = sys_why("cannot open guest RAM file", path);
    return nullptr;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    *why = sys_why("fstat", path);
    ::close(fd);
    return nullptr;
  }
  if (ram_bytes == 0)
    ram_bytes = uint64_t(st.st_size);
  if (ram_bytes == 0 || ram_bytes % kPage) {
    *why = path + ": guest RAM size " + std::to_string(ram_bytes) +
           " is not a positive multiple of 4 KiB";
    ::close(fd);
    return nullptr;
  }
  if (uint64_t(st.st_size) < ram_bytes) {
    *why = path + ": file holds " + std::to_string(st.st_size) + " bytes, the guest has " +
           std::to_string(ram_bytes) + " (is QEMU's memory-backend size the same?)";
    ::close(fd);
    return nullptr;
  }
  void *p = mmap(nullptr, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    *why = sys_why("mmap", path);
    return nullptr;
  }
  std::unique_ptr<GuestRam> g(new GuestRam);
  g->base_ = static_cast<uint8_t *>(p);
  g->size_ = ram_bytes;
  g->layout_ = ram_layout(m, ram_bytes);
  return g;
}

GuestRam::~GuestRam() {
  if (base_)
    munmap(base_, size_);
}

bool GuestRam::offset_of(uint64_t gpa, uint64_t len, uint64_t *offset) const {
  for (const RamRange &r : layout_) {
    if (gpa - r.gpa < r.len && len <= r.len - (gpa - r.gpa)) {
      *offset = r.offset + (gpa - r.gpa);
      return true;
    }
  }
  return false;
}

bool GuestRam::map_into(model::DmaSpace &dma, std::string *why) const {
  for (const RamRange &r : layout_)
    if (!dma.map(r.gpa, base_ + r.offset, r.len, why))
      return false;
  return true;
}

uint64_t GuestRam::copy_pages_to(const GuestRam &dst, const std::vector<uint64_t> &gpas,
                                 std::string *why) const {
  uint64_t n = 0;
  for (uint64_t gpa : gpas) {
    uint64_t so = 0, d_o = 0;
    gpa &= ~(kPage - 1);
    if (!offset_of(gpa, kPage, &so) || !dst.offset_of(gpa, kPage, &d_o)) {
      if (why && why->empty())
        *why = "GPA " + std::to_string(gpa) + " is not RAM of both guests";
      continue;
    }
    std::memcpy(dst.base_ + d_o, base_ + so, kPage);
    ++n;
  }
  return n;
}

}  // namespace ixgbevf_lm::shmdev
