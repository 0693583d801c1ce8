/* SPDX-License-Identifier: BSD-3-Clause
 * ixgbevf-lm-guest-probe: the vm suite's helper inside the guest, for what needs no driver.
 *
 *   ixgbevf-lm-guest-probe peek PCI OFF LEN      print LEN bytes of the ivshmem BAR2 at OFF
 *   ixgbevf-lm-guest-probe poke PCI OFF TEXT     write TEXT there
 *   ixgbevf-lm-guest-probe dmabuf NAME HUGEPAGES allocate a hugetlbfs file (stays after exit), zero
 *                                                it and print its pages' guest-physical addresses
 *                                                ("dmabuf-run GPA PAGES" per contiguous run)
 *   ixgbevf-lm-guest-probe check NAME GEN        check every page against the pattern the host's
 *                                                device wrote at generation GEN ("check: N bad")
 *   ixgbevf-lm-guest-probe scribble MIB ROUNDS   the guest's CPU dirtying MIB of its own memory
 *
 * The pattern of a page (tests/vm/vmlib.py writes the same): 64-bit word i holds
 * (GEN << 48) ^ (gpa + 8 * i). The BAR is mapped through resource2_wc when the kernel offers it
 * (write-combining, as the driver's backend does), else resource2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { kPage = 4096, kHuge = 2 << 20 };

static int die(const char *what) {
  fprintf(stderr, "guest-probe: %s: %s\n", what, strerror(errno));
  return 1;
}

static volatile uint8_t *map_bar(const char *pci, size_t *len) {
  char path[256];
  int fd = -1;
  for (int wc = 1; wc >= 0 && fd < 0; --wc) {
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource2%s", pci, wc ? "_wc" : "");
    fd = open(path, O_RDWR | O_SYNC);
  }
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0)
    return NULL;
  *len = (size_t)st.st_size;
  void *p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

static uint8_t *map_huge(const char *name, unsigned huge, int create) {
  char path[256];
  snprintf(path, sizeof path, "/mnt/huge/%s", name);
  int fd = open(path, O_RDWR | (create ? O_CREAT : 0), 0600);
  if (fd < 0)
    return NULL;
  size_t len = (size_t)huge * kHuge;
  if (!create) {
    struct stat st;
    if (fstat(fd, &st) != 0)
      return NULL;
    len = (size_t)st.st_size;
  } else if (ftruncate(fd, (off_t)len) != 0) {
    return NULL;
  }
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

static size_t huge_size(const char *name) {
  char path[256];
  struct stat st;
  snprintf(path, sizeof path, "/mnt/huge/%s", name);
  return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Guest-physical address of a mapped page, from /proc/self/pagemap (root sees the frame). */
static uint64_t gpa_of(int pagemap, const void *va) {
  uint64_t e = 0;
  off_t off = (off_t)((uintptr_t)va / kPage * 8);
  if (pread(pagemap, &e, sizeof e, off) != sizeof e || !(e & (1ULL << 63)))
    return 0;
  return (e & ((1ULL << 55) - 1)) * kPage + (uintptr_t)va % kPage;
}

static uint64_t pattern(uint64_t gen, uint64_t gpa, size_t i) { return (gen << 48) ^ (gpa + 8 * i); }

static int cmd_dmabuf(const char *name, unsigned huge) {
  uint8_t *p = map_huge(name, huge, 1);
  if (!p)
    return die("hugetlbfs file");
  size_t len = (size_t)huge * kHuge;
  memset(p, 0, len);
  int pm = open("/proc/self/pagemap", O_RDONLY);
  if (pm < 0)
    return die("/proc/self/pagemap");
  /* runs of physically contiguous pages: "dmabuf-run <gpa> <pages>" */
  uint64_t run_start = 0, run_pages = 0;
  for (size_t off = 0; off < len; off += kPage) {
    uint64_t gpa = gpa_of(pm, p + off);
    if (!gpa)
      return die("pagemap gives no frame (not root?)");
    if (run_pages && gpa == run_start + run_pages * kPage) {
      ++run_pages;
      continue;
    }
    if (run_pages)
      printf("dmabuf-run 0x%" PRIx64 " %" PRIu64 "\n", run_start, run_pages);
    run_start = gpa;
    run_pages = 1;
  }
  printf("dmabuf-run 0x%" PRIx64 " %" PRIu64 "\n", run_start, run_pages);
  printf("dmabuf-done %zu pages\n", len / kPage);
  return 0;
}

static int cmd_check(const char *name, uint64_t gen) {
  size_t len = huge_size(name);
  uint8_t *p = len ? map_huge(name, 0, 0) : NULL;
  if (!p)
    return die("hugetlbfs file");
  int pm = open("/proc/self/pagemap", O_RDONLY);
  if (pm < 0)
    return die("/proc/self/pagemap");
  size_t bad = 0, pages = len / kPage;
  for (size_t off = 0; off < len; off += kPage) {
    uint64_t gpa = gpa_of(pm, p + off);
    const uint64_t *w = (const uint64_t *)(p + off);
    for (size_t i = 0; i < kPage / 8; ++i) {
      if (w[i] != pattern(gen, gpa, i)) {
        if (bad < 4)
          printf("check: page 0x%" PRIx64 " word %zu holds 0x%016" PRIx64 ", expected 0x%016" PRIx64 "\n",
                 gpa, i, w[i], pattern(gen, gpa, i));
        ++bad;
        break;
      }
    }
  }
  printf("check: %zu of %zu pages bad at generation %" PRIu64 "\n", bad, pages, gen);
  return bad ? 2 : 0;
}

static int cmd_scribble(unsigned mib, unsigned rounds) {
  size_t len = (size_t)mib << 20;
  uint8_t *p = malloc(len);
  if (!p)
    return die("malloc");
  for (unsigned r = 0; r < rounds; ++r)
    for (size_t off = 0; off < len; off += kPage)
      p[off] = (uint8_t)(r + off / kPage);
  printf("scribble: %u rounds over %u MiB\n", rounds, mib);
  free(p);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 5 && !strcmp(argv[1], "peek")) {
    size_t blen = 0, off = strtoull(argv[3], NULL, 0), n = strtoull(argv[4], NULL, 0);
    volatile uint8_t *b = map_bar(argv[2], &blen);
    if (!b)
      return die("BAR2");
    if (off > blen || n > blen - off)
      return fprintf(stderr, "guest-probe: [%zu, +%zu) outside the %zu-byte BAR\n", off, n, blen), 1;
    printf("peek: ");
    for (size_t i = 0; i < n; ++i)
      putchar(b[off + i] >= 32 && b[off + i] < 127 ? b[off + i] : '.');
    printf("\n");
    return 0;
  }
  if (argc == 5 && !strcmp(argv[1], "poke")) {
    size_t blen = 0, off = strtoull(argv[3], NULL, 0), n = strlen(argv[4]);
    volatile uint8_t *b = map_bar(argv[2], &blen);
    if (!b)
      return die("BAR2");
    if (off > blen || n > blen - off)
      return fprintf(stderr, "guest-probe: [%zu, +%zu) outside the %zu-byte BAR\n", off, n, blen), 1;
    for (size_t i = 0; i < n; ++i)
      b[off + i] = (uint8_t)argv[4][i];
    __sync_synchronize();
    printf("poke: %zu bytes at %zu\n", n, off);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "dmabuf"))
    return cmd_dmabuf(argv[2], (unsigned)strtoul(argv[3], NULL, 0));
  if (argc == 4 && !strcmp(argv[1], "check"))
    return cmd_check(argv[2], strtoull(argv[3], NULL, 0));
  if (argc == 4 && !strcmp(argv[1], "scribble"))
    return cmd_scribble((unsigned)strtoul(argv[2], NULL, 0), (unsigned)strtoul(argv[3], NULL, 0));
  fprintf(stderr, "usage: see the head of tests/vm/guest_probe.c\n");
  return 1;
}
