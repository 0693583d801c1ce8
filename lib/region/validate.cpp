/* SPDX-License-Identifier: BSD-3-Clause */
// Header validation (attach/open) and layout planning (create).
#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>

#include "region_internal.h"

namespace ixgbevf_lm::region::detail {

namespace {

std::string hex(uint64_t v)
{
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

std::string dec(uint64_t v) { return std::to_string(v); }

bool aligned(uint64_t v, uint64_t a) { return (v & (a - 1)) == 0; }

uint64_t words_for(uint64_t length, uint32_t page_shift)
{
    const uint64_t pages = (length >> page_shift) + ((length & ((uint64_t{1} << page_shift) - 1)) != 0);
    return (pages + 63) / 64;
}

Result<void> check_page_size(uint64_t ps, const char *field)
{
    if (ps < kMinPageSize || ps > kMaxPageSize || !std::has_single_bit(ps))
        return make_error(Errc::bad_page_size, std::string(field) + " " + dec(ps) +
                                                   " is not a power of two in " + dec(kMinPageSize) +
                                                   ".." + dec(kMaxPageSize));
    return {};
}

// Ranges are checked the same way on create and attach.
Result<void> check_ranges(const RangeSpec *r, size_t n, uint64_t page_size)
{
    if (n == 0 || n > kMaxRanges)
        return make_error(Errc::bad_range_count,
                          "n_ranges " + dec(n) + " not in 1.." + dec(kMaxRanges));
    for (size_t i = 0; i < n; ++i) {
        const std::string f = "ranges[" + dec(i) + "]";
        if (r[i].length == 0)
            return make_error(Errc::bad_range, f + ".length is 0");
        if (!aligned(r[i].gpa_base, page_size))
            return make_error(Errc::bad_range, f + ".gpa_base " + hex(r[i].gpa_base) +
                                                   " is not aligned to page_size " + dec(page_size));
        if (r[i].length - 1 > UINT64_MAX - r[i].gpa_base)
            return make_error(Errc::bad_range, f + ": gpa_base " + hex(r[i].gpa_base) + " + length " +
                                                   hex(r[i].length) + " overflows 64 bits");
    }
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j) {
            const uint64_t ai = r[i].gpa_base, ei = r[i].gpa_base + (r[i].length - 1);
            const uint64_t aj = r[j].gpa_base, ej = r[j].gpa_base + (r[j].length - 1);
            if (ai <= ej && aj <= ei)
                return make_error(Errc::range_overlap,
                                  "ranges[" + dec(i) + "] [" + hex(ai) + ", " + hex(ei) + "] overlaps ranges[" +
                                      dec(j) + "] [" + hex(aj) + ", " + hex(ej) + "]");
        }
    return {};
}

}  // namespace

Result<Plan> plan(uint64_t page_size, const RangeSpec *ranges, size_t n_ranges, uint32_t n_slots)
{
    if (auto r = check_page_size(page_size, "page_size"); !r)
        return r.error();
    if (n_slots == 0 || n_slots > kMaxSlots)
        return make_error(Errc::bad_slot_count, "n_slots " + dec(n_slots) + " not in 1.." + dec(kMaxSlots));
    if (auto r = check_ranges(ranges, n_ranges, page_size); !r)
        return r.error();
    const auto shift = static_cast<uint32_t>(std::countr_zero(page_size));
    Plan p{};
    p.slots_offset = sizeof(Header);
    uint64_t off = p.slots_offset + uint64_t{n_slots} * sizeof(Slot);
    for (size_t i = 0; i < n_ranges; ++i) {
        const uint64_t words = words_for(ranges[i].length, shift);
        off = (off + kCacheLine - 1) & ~uint64_t{kCacheLine - 1};
        p.ranges[i] = RangeDesc{ranges[i].gpa_base, ranges[i].length, off, words};
        if (words > (UINT64_MAX / 2 - off) / 8)
            return make_error(Errc::invalid_argument, "ranges[" + dec(i) + "]: bitmap too large");
        off += words * 8;
    }
    p.total_size = (off + 4095) & ~uint64_t{4095};
    return p;
}

Result<Geometry> validate(uint8_t *base, uint64_t file_size)
{
    if (file_size < sizeof(Header))
        return make_error(Errc::truncated, "file size " + dec(file_size) + " is smaller than the header (" +
                                               dec(sizeof(Header)) + " bytes)");
    const Header &h = *header(base);
    const uint64_t magic = std::atomic_ref<uint64_t>(const_cast<uint64_t &>(h.magic)).load(std::memory_order_acquire);
    if (magic != kMagic)
        return make_error(Errc::bad_magic, "magic " + hex(magic) + " is not " + hex(kMagic) + " (\"IXVFLMRG\")");
    if (h.version_major != kVersionMajor)
        return make_error(Errc::bad_version, "version_major " + dec(h.version_major) + " (minor " +
                                                 dec(h.version_minor) + ") is not supported (need " +
                                                 dec(kVersionMajor) + ".x)");
    if (h.header_size < sizeof(Header) || !aligned(h.header_size, kCacheLine))
        return make_error(Errc::bad_header_size, "header_size " + dec(h.header_size) + " is below " +
                                                     dec(sizeof(Header)) + " or not 64-byte aligned");
    if (h.total_size > file_size)
        return make_error(Errc::truncated, "total_size " + dec(h.total_size) + " exceeds the file size " +
                                               dec(file_size) + " (truncated file?)");
    if (h.total_size < h.header_size)
        return make_error(Errc::bad_total_size, "total_size " + dec(h.total_size) + " is smaller than header_size " +
                                                    dec(h.header_size));
    if (auto r = check_page_size(h.page_size, "page_size"); !r)
        return r.error();
    if (h.n_slots == 0 || h.n_slots > kMaxSlots)
        return make_error(Errc::bad_slot_count, "n_slots " + dec(h.n_slots) + " not in 1.." + dec(kMaxSlots));
    if (h.slot_size != sizeof(Slot))
        return make_error(Errc::bad_slot_layout, "slot_size " + dec(h.slot_size) + " is not " + dec(sizeof(Slot)));
    const uint64_t slots_end = h.slots_offset + uint64_t{h.n_slots} * sizeof(Slot);
    if (h.slots_offset < h.header_size || !aligned(h.slots_offset, kCacheLine) || slots_end > h.total_size)
        return make_error(Errc::bad_slot_layout, "slots_offset " + dec(h.slots_offset) + " with " + dec(h.n_slots) +
                                                     " slots does not fit in [header_size " + dec(h.header_size) +
                                                     ", total_size " + dec(h.total_size) + "), 64-byte aligned");
    if (h.n_ranges == 0 || h.n_ranges > kMaxRanges)
        return make_error(Errc::bad_range_count, "n_ranges " + dec(h.n_ranges) + " not in 1.." + dec(kMaxRanges));

    std::array<RangeSpec, kMaxRanges> specs{};
    for (uint32_t i = 0; i < h.n_ranges; ++i)
        specs[i] = RangeSpec{h.ranges[i].gpa_base, h.ranges[i].length};
    if (auto r = check_ranges(specs.data(), h.n_ranges, h.page_size); !r)
        return r.error();

    const auto shift = static_cast<uint32_t>(std::countr_zero(h.page_size));
    Geometry g{};
    g.page_shift = shift;
    g.n_ranges = h.n_ranges;
    g.n_slots = h.n_slots;
    g.total_size = h.total_size;
    g.slots = reinterpret_cast<Slot *>(base + h.slots_offset);
    for (uint32_t i = 0; i < h.n_ranges; ++i) {
        const RangeDesc &d = h.ranges[i];
        const std::string f = "ranges[" + dec(i) + "]";
        const uint64_t want = words_for(d.length, shift);
        if (d.n_words != want)
            return make_error(Errc::word_count_mismatch, f + ".n_words " + dec(d.n_words) + " does not match length " +
                                                             hex(d.length) + " / page_size " + dec(h.page_size) +
                                                             " (expected " + dec(want) + ")");
        if (!aligned(d.bitmap_offset, kCacheLine) || d.bitmap_offset < slots_end ||
            d.bitmap_offset > h.total_size || d.n_words > (h.total_size - d.bitmap_offset) / 8)
            return make_error(Errc::bitmap_out_of_bounds,
                              f + ".bitmap_offset " + dec(d.bitmap_offset) + " (+" + dec(d.n_words * 8) +
                                  " bytes) is not 64-byte aligned inside [slots end " + dec(slots_end) +
                                  ", total_size " + dec(h.total_size) + ")");
        for (uint32_t j = 0; j < i; ++j) {
            const RangeDesc &o = h.ranges[j];
            if (d.bitmap_offset < o.bitmap_offset + o.n_words * 8 && o.bitmap_offset < d.bitmap_offset + d.n_words * 8)
                return make_error(Errc::bitmap_out_of_bounds, f + ".bitmap_offset " + dec(d.bitmap_offset) +
                                                                  " overlaps the bitmap of ranges[" + dec(j) + "]");
        }
        g.ranges[i] = RangeView{d.gpa_base, d.length, reinterpret_cast<uint64_t *>(base + d.bitmap_offset), d.n_words};
    }
    return g;
}

}  // namespace ixgbevf_lm::region::detail
