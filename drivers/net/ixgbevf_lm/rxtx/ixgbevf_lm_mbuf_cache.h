/* SPDX-License-Identifier: BSD-3-Clause
 * Bulk moves of mbuf pointers between a ring's software slots and the calling lcore's mempool
 * cache, 16 bytes at a time: the mempool's own get copies one pointer per step (to hand them out
 * in LIFO order), which cost the Rx refill about six instructions per buffer. Whatever the cache
 * cannot serve or hold whole goes through rte_mempool_get_bulk / rte_mempool_put_bulk, which refill
 * or flush it: the cache's contents and thresholds evolve as with those calls, only the order of
 * the pointers within one take differs. The fields used (len, flushthresh, objs) are the public
 * rte_mempool_cache layout of DPDK 22.11.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include <emmintrin.h>

#include <rte_lcore.h>
#include <rte_mempool.h>

namespace ixgbevf_lm::pmd {

/* The calling lcore's cache of mp; nullptr without one (no cache, or a non-EAL thread). */
__rte_always_inline rte_mempool_cache *lcore_cache(rte_mempool *mp) {
  return rte_mempool_default_cache(mp, rte_lcore_id());
}

/* n pointers from src to dst, 16 bytes a step, eight pointers per loop turn (one counter), then
 * what is left. */
__rte_always_inline void copy_ptrs(void **dst, void *const *src, unsigned n) {
  const auto ld = [](void *const *p) { return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)); };
  const auto st = [](void **p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i *>(p), v); };
  const ptrdiff_t k = ptrdiff_t(n & ~7u);
  void *const *const se = src + k;
  void **const de = dst + k;
  for (ptrdiff_t i = -k; i != 0; i += 8) {
    const __m128i a = ld(se + i), b = ld(se + i + 2), c = ld(se + i + 4), d = ld(se + i + 6);
    st(de + i, a);
    st(de + i + 2, b);
    st(de + i + 4, c);
    st(de + i + 6, d);
  }
  for (unsigned j = unsigned(k); j < n; j++)
    dst[j] = src[j];
}

/* Take n objects from the top of cache c: the address of the first of them (valid until the
 * lcore's next put into c), or nullptr when c is nullptr or holds fewer (then the caller takes them
 * with rte_mempool_get_bulk, which refills the cache). */
__rte_always_inline void *const *cache_take(rte_mempool *mp, rte_mempool_cache *c, unsigned n) {
  if (c == nullptr || c->len < n)
    return nullptr;
  c->len -= n;
  void *const *objs = &c->objs[c->len];
  RTE_MEMPOOL_CACHE_STAT_ADD(c, get_success_bulk, 1);
  RTE_MEMPOOL_CACHE_STAT_ADD(c, get_success_objs, n);
  RTE_MEMPOOL_CHECK_COOKIES(mp, objs, n, 1);
  (void)mp;
  return objs;
}

/* Return n objects of mp into c, the calling lcore's cache of mp (lcore_cache), when they fit under
 * its flush threshold (as rte_mempool_put_bulk would), else through rte_mempool_put_bulk. */
__rte_always_inline void cache_put_to(rte_mempool *mp, rte_mempool_cache *c, void *const *objs, unsigned n) {
  if (c == nullptr || c->len + n > c->flushthresh) {
    rte_mempool_put_bulk(mp, objs, n);
    return;
  }
  RTE_MEMPOOL_CHECK_COOKIES(mp, objs, n, 0);
  copy_ptrs(&c->objs[c->len], objs, n);
  c->len += n;
  RTE_MEMPOOL_CACHE_STAT_ADD(c, put_bulk, 1);
  RTE_MEMPOOL_CACHE_STAT_ADD(c, put_objs, n);
}

/* The same, looking the calling lcore's cache up. */
__rte_always_inline void cache_put(rte_mempool *mp, void *const *objs, unsigned n) {
  cache_put_to(mp, lcore_cache(mp), objs, n);
}

}  // namespace ixgbevf_lm::pmd
