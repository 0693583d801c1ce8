/* SPDX-License-Identifier: BSD-3-Clause */
// RAII owner of a MAP_SHARED file mapping and its descriptor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ixgbevf_lm/region/result.h"

namespace ixgbevf_lm::region {

class FileMapping {
public:
    FileMapping() = default;
    ~FileMapping();
    FileMapping(const FileMapping &) = delete;
    FileMapping &operator=(const FileMapping &) = delete;
    FileMapping(FileMapping &&other) noexcept;
    FileMapping &operator=(FileMapping &&other) noexcept;

    // Create or truncate `path` to `size` bytes (rounded up to the file system's block size for
    // hugetlbfs), zero-filled, and map it.
    static Result<FileMapping> create(const std::string &path, uint64_t size);
    // Map an existing file, all of it.
    static Result<FileMapping> open(const std::string &path);

    [[nodiscard]] uint8_t *data() const noexcept { return base_; }
    [[nodiscard]] uint64_t size() const noexcept { return size_; }
    [[nodiscard]] const std::string &path() const noexcept { return path_; }
    [[nodiscard]] bool valid() const noexcept { return base_ != nullptr; }

private:
    void reset() noexcept;

    int fd_{-1};
    uint8_t *base_{nullptr};
    uint64_t size_{0};
    std::string path_;
};

}  // namespace ixgbevf_lm::region
