/* SPDX-License-Identifier: BSD-3-Clause */
// Errors, names, clocks and the RAII file mapping.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "region_internal.h"

namespace ixgbevf_lm::region {

int Error::to_errno() const noexcept
{
    switch (code) {
    case Errc::io: return sys_errno > 0 ? -sys_errno : -EIO;
    case Errc::bad_version: return -EPROTONOSUPPORT;
    case Errc::truncated:
    case Errc::bad_magic:
    case Errc::bad_header_size:
    case Errc::bad_total_size:
    case Errc::bad_page_size:
    case Errc::bad_slot_count:
    case Errc::bad_slot_layout:
    case Errc::bad_range_count:
    case Errc::bad_range:
    case Errc::range_overlap:
    case Errc::bitmap_out_of_bounds:
    case Errc::word_count_mismatch: return -EBADMSG;
    case Errc::invalid_argument: return -EINVAL;
    case Errc::no_free_slot: return -ENOSPC;
    case Errc::slot_busy: return -EBUSY;
    case Errc::not_found: return -ENOENT;
    case Errc::timeout: return -ETIMEDOUT;
    case Errc::transition_not_allowed: return -EPERM;
    }
    return -EINVAL;
}

const char *errc_name(Errc c) noexcept
{
    switch (c) {
    case Errc::io: return "io";
    case Errc::truncated: return "truncated";
    case Errc::bad_magic: return "bad_magic";
    case Errc::bad_version: return "bad_version";
    case Errc::bad_header_size: return "bad_header_size";
    case Errc::bad_total_size: return "bad_total_size";
    case Errc::bad_page_size: return "bad_page_size";
    case Errc::bad_slot_count: return "bad_slot_count";
    case Errc::bad_slot_layout: return "bad_slot_layout";
    case Errc::bad_range_count: return "bad_range_count";
    case Errc::bad_range: return "bad_range";
    case Errc::range_overlap: return "range_overlap";
    case Errc::bitmap_out_of_bounds: return "bitmap_out_of_bounds";
    case Errc::word_count_mismatch: return "word_count_mismatch";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::no_free_slot: return "no_free_slot";
    case Errc::slot_busy: return "slot_busy";
    case Errc::not_found: return "not_found";
    case Errc::timeout: return "timeout";
    case Errc::transition_not_allowed: return "transition_not_allowed";
    }
    return "unknown";
}

const char *state_name(State s) noexcept
{
    switch (s) {
    case State::unknown: return "UNKNOWN";
    case State::running: return "RUNNING";
    case State::pre_copy: return "PRE_COPY";
    case State::stop_copy: return "STOP_COPY";
    case State::stop: return "STOP";
    case State::resuming: return "RESUMING";
    case State::error: return "ERROR";
    }
    return "INVALID";
}

const char *resume_kind_name(ResumeKind k) noexcept
{
    switch (k) {
    case ResumeKind::none: return "NONE";
    case ResumeKind::source_abort: return "SOURCE_ABORT";
    case ResumeKind::destination: return "DESTINATION";
    }
    return "INVALID";
}

namespace detail {

Error make_error(Errc code, std::string message, int sys_errno)
{
    return Error{code, sys_errno, std::move(message)};
}

uint64_t monotonic_ns() noexcept
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

uint64_t realtime_ns() noexcept
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

Result<void> check_identity(std::string_view identity)
{
    if (identity.empty() || identity.size() >= kIdentityLen)
        return make_error(Errc::invalid_argument, "identity '" + std::string(identity) + "': length " +
                                                      std::to_string(identity.size()) + " not in 1.." +
                                                      std::to_string(kIdentityLen - 1));
    for (char c : identity)
        if (c < 0x21 || c > 0x7e)
            return make_error(Errc::invalid_argument,
                              "identity '" + std::string(identity) + "': non-printable or space character");
    return {};
}

}  // namespace detail

using detail::make_error;

static Error sys_error(const char *what, const std::string &path)
{
    const int e = errno;
    return make_error(Errc::io, std::string(what) + " " + path + ": " + std::strerror(e), e);
}

FileMapping::~FileMapping() { reset(); }

FileMapping::FileMapping(FileMapping &&o) noexcept
    : fd_(o.fd_), base_(o.base_), size_(o.size_), path_(std::move(o.path_))
{
    o.fd_ = -1;
    o.base_ = nullptr;
    o.size_ = 0;
}

FileMapping &FileMapping::operator=(FileMapping &&o) noexcept
{
    if (this != &o) {
        reset();
        fd_ = o.fd_;
        base_ = o.base_;
        size_ = o.size_;
        path_ = std::move(o.path_);
        o.fd_ = -1;
        o.base_ = nullptr;
        o.size_ = 0;
    }
    return *this;
}

void FileMapping::reset() noexcept
{
    if (base_ != nullptr)
        munmap(base_, size_);
    if (fd_ >= 0)
        close(fd_);
    fd_ = -1;
    base_ = nullptr;
    size_ = 0;
}

Result<FileMapping> FileMapping::create(const std::string &path, uint64_t size)
{
    FileMapping m;
    m.path_ = path;
    m.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
    if (m.fd_ < 0)
        return sys_error("open", path);
    struct statfs sfs {};
    if (fstatfs(m.fd_, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC && sfs.f_bsize > 0) {
        const uint64_t bs = uint64_t(sfs.f_bsize);
        size = (size + bs - 1) / bs * bs;
    }
    if (ftruncate(m.fd_, off_t(size)) != 0)
        return sys_error("ftruncate", path);
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd_, 0);
    if (p == MAP_FAILED)
        return sys_error("mmap", path);
    m.base_ = static_cast<uint8_t *>(p);
    m.size_ = size;
    return m;
}

Result<FileMapping> FileMapping::open(const std::string &path)
{
    FileMapping m;
    m.path_ = path;
    m.fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (m.fd_ < 0)
        return sys_error("open", path);
    struct stat st {};
    if (fstat(m.fd_, &st) != 0)
        return sys_error("fstat", path);
    const uint64_t size = uint64_t(st.st_size);
    if (size < sizeof(Header))
        return make_error(Errc::truncated, path + ": file size " + std::to_string(size) +
                                               " is smaller than the region header (" +
                                               std::to_string(sizeof(Header)) + " bytes)");
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd_, 0);
    if (p == MAP_FAILED)
        return sys_error("mmap", path);
    m.base_ = static_cast<uint8_t *>(p);
    m.size_ = size;
    return m;
}

}  // namespace ixgbevf_lm::region
