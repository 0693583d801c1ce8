/* SPDX-License-Identifier: BSD-3-Clause
 * Test-local stand-in for the OS-dependency header that Intel's ixgbe shared code includes
 * ("ixgbe_osdep.h"). The real one is DPDK-internal and pulls in rte_* headers and the PMD's logging;
 * the conformance test only needs the type names and a few macros the shared-code headers use in
 * declarations. The build copies Intel's headers into the build directory and this file beside them
 * as ixgbe_osdep.h, so their `#include "ixgbe_osdep.h"` finds it and not DPDK's.
 *
 * Only the definitions of the headers are used, never their functions: nothing here must work.
 */
#ifndef IXGBEVF_LM_CONFORMANCE_OSDEP_H
#define IXGBEVF_LM_CONFORMANCE_OSDEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef int8_t s8;
typedef uint16_t u16;
typedef int16_t s16;
typedef uint32_t u32;
typedef int32_t s32;
typedef uint64_t u64;
typedef int64_t s64;

/* Byte-order annotated types (__le16 ... __be64): the kernel UAPI's, which other system headers
 * may pull in as well. */
#include <linux/types.h>

#define IOMEM
#define STATIC static
#define ASSERT(x) ((void)0)

#define UNREFERENCED_PARAMETER(p) ((void)(p))
#define UNREFERENCED_1PARAMETER(p) ((void)(p))
#define UNREFERENCED_2PARAMETER(p, q) ((void)(p), (void)(q))
#define UNREFERENCED_3PARAMETER(p, q, r) ((void)(p), (void)(q), (void)(r))
#define UNREFERENCED_4PARAMETER(p, q, r, s) ((void)(p), (void)(q), (void)(r), (void)(s))
#define UNREFERENCED_5PARAMETER(p, q, r, s, t) ((void)(p), (void)(q), (void)(r), (void)(s), (void)(t))

/* Little-endian host (the project checks it): conversions are identities. */
#define IXGBE_CPU_TO_LE16(v) ((uint16_t)(v))
#define IXGBE_CPU_TO_LE32(v) ((uint32_t)(v))
#define IXGBE_LE32_TO_CPU(v) ((uint32_t)(v))

#endif
