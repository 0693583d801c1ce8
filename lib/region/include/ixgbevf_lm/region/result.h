/* SPDX-License-Identifier: BSD-3-Clause */
// Error reporting for the migration region: a code, the negative errno the C ABI returns, and a
// message naming the field and the value that was refused.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace ixgbevf_lm::region {

enum class Errc : int {
    io = 1,                  // open/ftruncate/mmap/unlink failed (errno kept)
    truncated,               // file smaller than the header or than the layout needs
    bad_magic,
    bad_version,             // major version not supported
    bad_header_size,
    bad_total_size,
    bad_page_size,
    bad_slot_count,
    bad_slot_layout,         // slot size/offset
    bad_range_count,
    bad_range,               // zero length, unaligned base, address overflow
    range_overlap,
    bitmap_out_of_bounds,    // bitmap offset/extent outside the region or overlapping another
    word_count_mismatch,
    invalid_argument,
    no_free_slot,
    slot_busy,               // identity claimed by another live process
    not_found,
    timeout,
    transition_not_allowed,
};

struct Error {
    Errc code{Errc::invalid_argument};
    int sys_errno{0};        // errno of the failing system call, for Errc::io
    std::string message;

    // Negative errno for the C ABI.
    [[nodiscard]] int to_errno() const noexcept;
};

const char *errc_name(Errc c) noexcept;

template <class T>
class [[nodiscard]] Result {
public:
    Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}          // NOLINT: implicit by design
    Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT
    [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    T &value() & { return std::get<0>(v_); }
    const T &value() const & { return std::get<0>(v_); }
    T &&value() && { return std::get<0>(std::move(v_)); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    T &operator*() & { return value(); }
    [[nodiscard]] const Error &error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : err_(std::move(e)), ok_(false) {}                 // NOLINT
    [[nodiscard]] bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    [[nodiscard]] const Error &error() const { return err_; }

private:
    Error err_{};
    bool ok_{true};
};

}  // namespace ixgbevf_lm::region
