/* SPDX-License-Identifier: BSD-3-Clause */
// Helpers shared by the region tests: unique region paths and raw file patching.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace region_test {

// A unique path in /dev/shm (or /tmp), unlinked when the object dies.
class TempPath {
public:
    TempPath()
    {
        static std::atomic<int> counter{0};
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        path_ = std::string(dir) + "/ixgbevf_lm_region_test." + std::to_string(getpid()) + "." +
                std::to_string(counter.fetch_add(1)) + "." +
                ::testing::UnitTest::GetInstance()->current_test_info()->name();
    }
    ~TempPath() { ::unlink(path_.c_str()); }
    TempPath(const TempPath &) = delete;
    TempPath &operator=(const TempPath &) = delete;
    [[nodiscard]] const std::string &str() const { return path_; }

private:
    std::string path_;
};

// Overwrite sizeof(T) bytes at `offset` of the file with `value`.
template <class T>
void patch(const std::string &path, uint64_t offset, T value)
{
    const int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(pwrite(fd, &value, sizeof value, static_cast<off_t>(offset)), static_cast<ssize_t>(sizeof value));
    ::close(fd);
}

inline void truncate_to(const std::string &path, uint64_t size)
{
    ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(size)), 0);
}

}  // namespace region_test
