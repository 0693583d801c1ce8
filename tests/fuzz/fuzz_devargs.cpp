/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the devargs of both drivers, through the probe's own parser (parse_devargs_string:
 * rte_kvargs and one handler per key). The first byte picks the driver (sim vdev or PCI), the rest
 * up to the first NUL is the string after the device name. Besides memory errors, a refusal must
 * be one printable line of bounded length that names a devarg.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ixgbevf_lm_devargs.h"

using ixgbevf_lm::pmd::Devargs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const bool for_sim = data[0] & 1;
  const std::string args(reinterpret_cast<const char *>(data + 1), size - 1);
  Devargs d;
  std::string error;
  const int rc = ixgbevf_lm::pmd::parse_devargs_string(args.c_str(), for_sim, &d, &error);
  if (rc == 0) {
    if (for_sim && (d.pf.empty() || d.vf < 0 || d.vf > 63))
      abort();
    return 0;
  }
  /* a refusal: one line, printable, bounded whatever the input's length, naming a devarg */
  bool ok = !error.empty() && error.size() <= 512 && error.find("devarg") != std::string::npos;
  for (char c : error)
    ok &= static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7e;
  if (!ok) {
    std::fprintf(stderr, "bad refusal (%zu bytes): %s\n", error.size(), error.c_str());
    abort();
  }
  return 0;
}
