/* SPDX-License-Identifier: BSD-3-Clause */
// Private helpers of lib/region.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ixgbevf_lm/region/guest.h"
#include "ixgbevf_lm/region/host.h"
#include "ixgbevf_lm/region/layout.h"
#include "ixgbevf_lm/region/result.h"

namespace ixgbevf_lm::region::detail {

// The validated geometry of a mapped region.
struct Geometry {
    uint32_t page_shift;
    uint32_t n_ranges;
    uint32_t n_slots;
    uint64_t total_size;
    Slot *slots;  // base + slots_offset: the other side may rewrite the header after the check
    std::array<RangeView, kMaxRanges> ranges;
};

// Check every header field of the `file_size` bytes at `base` (see layout.h).
Result<Geometry> validate(uint8_t *base, uint64_t file_size);

// Layout computed by create(): offsets and total size.
struct Plan {
    uint64_t slots_offset;
    uint64_t total_size;
    std::array<RangeDesc, kMaxRanges> ranges;
};
Result<Plan> plan(uint64_t page_size, const RangeSpec *ranges, size_t n_ranges, uint32_t n_slots);

Error make_error(Errc code, std::string message, int sys_errno = 0);

uint64_t monotonic_ns() noexcept;
uint64_t realtime_ns() noexcept;

inline Header *header(uint8_t *base) noexcept { return reinterpret_cast<Header *>(base); }
inline Slot *slot_at(uint8_t *base, uint32_t i) noexcept
{
    return reinterpret_cast<Slot *>(base + header(base)->slots_offset) + i;
}

// Fixed char arrays shared across processes, copied 8 bytes at a time with atomics.
template <size_t N>
void store_text(char (&dst)[N], std::string_view s) noexcept
{
    static_assert(N % 8 == 0);
    std::array<char, N> buf{};
    const size_t n = s.size() < N - 1 ? s.size() : N - 1;
    for (size_t i = 0; i < n; ++i)
        buf[i] = s[i];
    for (size_t w = 0; w < N / 8; ++w) {
        uint64_t v = 0;
        __builtin_memcpy(&v, buf.data() + w * 8, 8);
        std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t *>(dst + w * 8)).store(v, std::memory_order_relaxed);
    }
}

template <size_t N>
std::string load_text(const char (&src)[N])
{
    static_assert(N % 8 == 0);
    std::array<char, N + 1> buf{};
    for (size_t w = 0; w < N / 8; ++w) {
        const uint64_t v = std::atomic_ref<uint64_t>(*const_cast<uint64_t *>(
                                                         reinterpret_cast<const uint64_t *>(src + w * 8)))
                               .load(std::memory_order_relaxed);
        __builtin_memcpy(buf.data() + w * 8, &v, 8);
    }
    // The other side wrote it: at most N - 1 characters, and nothing a terminal would interpret.
    buf[N - 1] = '\0';
    std::string out(buf.data());
    for (char &c : out)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
            c = '?';
    return out;
}

// Identity: 1..kIdentityLen-1 printable ASCII characters.
Result<void> check_identity(std::string_view identity);

}  // namespace ixgbevf_lm::region::detail
