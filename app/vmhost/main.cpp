/* SPDX-License-Identifier: BSD-3-Clause
 * ixgbevf-lm-vmhost: the device side of a QEMU guest, as a host process. It maps the guest's RAM
 * (QEMU's memory-backend file, shmdev::GuestRam) into a model::DmaSpace at guest-physical
 * addresses, so that what it writes reaches the guest the way a VF's DMA does: behind QEMU's back,
 * invisible to QEMU's dirty tracking, recorded in the DmaSpace's ground-truth log.
 *
 *   ixgbevf-lm-vmhost --ram FILE [--machine q35|pc] [--ram-size BYTES]
 *
 * Commands on stdin, one per line, one JSON reply per line on stdout (tests/vm drive it):
 *   dma GEN GPA PAGES      DMA-write the check pattern of generation GEN into PAGES 4 KiB pages
 *                          from GPA (word i of a page at p: (GEN << 48) ^ (p + 8 i))
 *   dirty                  fetch and clear the device's dirty log (pages since the last fetch); the
 *                          tool keeps their union as the pages to copy
 *   copy-to FILE           copy every page logged so far into another guest's RAM file (the
 *                          destination of a migration, paused), then forget them
 *   stats                  faults, bytes written, pages logged
 *   quit
 * A GPA outside guest RAM is a DMA fault: the write is refused and counted, the process goes on.
 */
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <ixgbevf_lm/model/dma.h>
#include <ixgbevf_lm/shmdev/guest_ram.h>

using namespace ixgbevf_lm;

namespace {

constexpr uint64_t kPage = 4096;

struct Host {
  std::unique_ptr<shmdev::GuestRam> ram;
  shmdev::Machine machine = shmdev::Machine::q35;
  model::DmaSpace dma{kPage};
  std::set<uint64_t> logged;  /* union of the fetched dirty log, copied by copy-to */
};

void reply(const std::string &json) {
  std::fputs(json.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string error(const std::string &why) {
  std::string e;
  for (char c : why)
    e += (c == '"' || c == '\\') ? '\'' : c;
  return "{\"ok\":false,\"error\":\"" + e + "\"}";
}

std::string cmd_dma(Host &h, std::istringstream &in) {
  uint64_t gen = 0, gpa = 0, pages = 0;
  std::string g, a, n;
  if (!(in >> g >> a >> n))
    return error("usage: dma GEN GPA PAGES");
  gen = std::stoull(g, nullptr, 0);
  gpa = std::stoull(a, nullptr, 0);
  pages = std::stoull(n, nullptr, 0);
  uint64_t buf[kPage / 8];
  uint64_t ok = 0, refused = 0;
  for (uint64_t p = 0; p < pages; ++p) {
    const uint64_t page = gpa + p * kPage;
    for (uint64_t i = 0; i < kPage / 8; ++i)
      buf[i] = (gen << 48) ^ (page + 8 * i);
    if (h.dma.write(page, buf, kPage))
      ++ok;
    else
      ++refused;
  }
  return "{\"ok\":true,\"written\":" + std::to_string(ok) + ",\"faults\":" +
         std::to_string(refused) + "}";
}

std::string cmd_dirty(Host &h) {
  std::vector<uint64_t> pages = h.dma.fetch_and_clear_dirty();
  h.logged.insert(pages.begin(), pages.end());
  return "{\"ok\":true,\"fetched\":" + std::to_string(pages.size()) + ",\"logged\":" +
         std::to_string(h.logged.size()) + "}";
}

std::string cmd_copy_to(Host &h, std::istringstream &in) {
  std::string path, why;
  if (!(in >> path))
    return error("usage: copy-to FILE");
  auto dst = shmdev::GuestRam::open(path, h.machine, h.ram->size(), &why);
  if (!dst)
    return error(why);
  std::vector<uint64_t> pages(h.logged.begin(), h.logged.end());
  uint64_t n = h.ram->copy_pages_to(*dst, pages, &why);
  h.logged.clear();
  if (!why.empty())
    return error(why);
  return "{\"ok\":true,\"copied\":" + std::to_string(n) + "}";
}

std::string cmd_stats(Host &h) {
  return "{\"ok\":true,\"faults\":" + std::to_string(h.dma.faults()) + ",\"bytes_written\":" +
         std::to_string(h.dma.bytes_written()) + ",\"logged\":" +
         std::to_string(h.logged.size()) + "}";
}

int usage() {
  std::fprintf(stderr,
               "usage: ixgbevf-lm-vmhost --ram FILE [--machine q35|pc] [--ram-size BYTES]\n");
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  std::string ram_path;
  std::string machine = "q35";
  uint64_t ram_size = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      return usage();
    if (a == "--ram")
      ram_path = argv[++i];
    else if (a == "--machine")
      machine = argv[++i];
    else if (a == "--ram-size")
      ram_size = std::strtoull(argv[++i], nullptr, 0);
    else
      return usage();
  }
  Host h;
  if (ram_path.empty() || !shmdev::parse_machine(machine, &h.machine))
    return usage();
  std::string why;
  h.ram = shmdev::GuestRam::open(ram_path, h.machine, ram_size, &why);
  if (!h.ram || !h.ram->map_into(h.dma, &why)) {
    std::fprintf(stderr, "ixgbevf-lm-vmhost: %s\n", why.c_str());
    return 1;
  }
  h.dma.set_dirty_tracking(true);
  h.dma.fetch_and_clear_dirty();
  std::string ranges;
  for (const auto &r : h.ram->layout())
    ranges += (ranges.empty() ? "" : ",") + std::string("[") + std::to_string(r.gpa) + "," +
              std::to_string(r.len) + "]";
  reply("{\"ok\":true,\"ram_bytes\":" + std::to_string(h.ram->size()) + ",\"ranges\":[" +
        ranges + "]}");
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    try {
      if (cmd == "dma")
        reply(cmd_dma(h, in));
      else if (cmd == "dirty")
        reply(cmd_dirty(h));
      else if (cmd == "copy-to")
        reply(cmd_copy_to(h, in));
      else if (cmd == "stats")
        reply(cmd_stats(h));
      else if (cmd == "quit")
        break;
      else if (!cmd.empty())
        reply(error("unknown command '" + cmd + "'"));
    } catch (const std::exception &e) {
      reply(error(std::string("bad argument: ") + e.what()));
    }
  }
  return 0;
}
