/* SPDX-License-Identifier: BSD-3-Clause
 * A Linux TAP interface as the PF's uplink: frames the PF transmits are written to the TAP (the
 * kernel receives them on that interface), frames the kernel sends out of the interface are read
 * in poll(). The descriptor is non-blocking; poll() never waits and transmit() drops (and counts)
 * when the kernel's queue is full.
 */
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ixgbevf_lm/model/pf_model.h>
#include <ixgbevf_lm/model/tap.h>

#include "wire_internal.h"

namespace ixgbevf_lm::model {
namespace {

constexpr const char *kTunDevice = "/dev/net/tun";

void set_why(std::string *why, const std::string &s) {
  if (why)
    *why = s;
}

std::string errno_text(int e) { return std::string(std::strerror(e)); }

/* Owns a file descriptor. */
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd &&o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd &operator=(Fd &&o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

/* Persistent TAPs this process holds through remove_when_last_closed uplinks: how many uplinks
 * hold each name, how many hand-overs are open, and whether this process created the interface
 * (then the last one to let go removes it). Never destroyed: uplinks close during static
 * destruction (PF models in static registries) at process exit. */
struct PersistEntry {
  unsigned open = 0;
  unsigned handovers = 0;
  bool created = false;
};
struct PersistTable {
  std::mutex mu;
  std::map<std::string, PersistEntry> by_name;
};
PersistTable &persist_table() {
  static PersistTable *t = new PersistTable;
  return *t;
}

/* Opens /dev/net/tun and attaches it to ifname (creating the TAP when it does not exist). With
 * created, reports whether this call created the interface: a first attempt with IFF_TUN_EXCL
 * fails with EBUSY when the name exists in this network namespace. */
Fd open_tap(const std::string &ifname, std::string *why, bool *created = nullptr) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    set_why(why, "TAP interface name '" + ifname + "' is empty or longer than " +
                     std::to_string(IFNAMSIZ - 1) + " characters");
    return {};
  }
  Fd fd(::open(kTunDevice, O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    const int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO)
      set_why(why, std::string(kTunDevice) + " is missing (no tun module, or not in this container): " + errno_text(e));
    else if (e == EACCES || e == EPERM)
      set_why(why, std::string("cannot open ") + kTunDevice + ": " + errno_text(e) + " (needs root or CAP_NET_ADMIN)");
    else
      set_why(why, std::string("cannot open ") + kTunDevice + ": " + errno_text(e));
    return {};
  }
  /* Multi-queue: a second descriptor can attach while the first still holds the interface, so that
   * a migration's destination PF opens it before the source lets go and the carrier never drops
   * (the kernel flushes its neighbours on a carrier loss). An interface someone created single-queue
   * refuses the flag (EINVAL): it is attached single-queue then. */
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE;
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (created) {
    struct ifreq excl = ifr;
    excl.ifr_flags |= IFF_TUN_EXCL;
    if (::ioctl(fd.get(), TUNSETIFF, &excl) == 0) {
      *created = true;
      return fd;
    }
    *created = false;  /* EBUSY: it exists; any other error fails again, with its reason, below */
  }
  int rc = ::ioctl(fd.get(), TUNSETIFF, &ifr);
  if (rc < 0 && errno == EINVAL) {
    ifr.ifr_flags &= ~IFF_MULTI_QUEUE;
    rc = ::ioctl(fd.get(), TUNSETIFF, &ifr);
  }
  if (rc < 0) {
    const int e = errno;
    if (e == EPERM || e == EACCES)
      set_why(why, "TUNSETIFF " + ifname + ": " + errno_text(e) + " (needs root or CAP_NET_ADMIN)");
    else if (e == EBUSY)
      set_why(why, "TUNSETIFF " + ifname + ": " + errno_text(e) +
                       " (another descriptor holds this TAP; the previous owner must close it first)");
    else if (e == EINVAL)
      set_why(why, "TUNSETIFF " + ifname + ": " + errno_text(e) + " (the name exists and is not a TAP with these flags)");
    else
      set_why(why, "TUNSETIFF " + ifname + ": " + errno_text(e));
    return {};
  }
  return fd;
}

bool bring_up(const std::string &ifname, std::string *why) {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) {
    set_why(why, "socket for SIOCSIFFLAGS: " + errno_text(errno));
    return false;
  }
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) {
    set_why(why, "SIOCGIFFLAGS " + ifname + ": " + errno_text(errno));
    return false;
  }
  if (ifr.ifr_flags & IFF_UP)
    return true;
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) {
    set_why(why, "SIOCSIFFLAGS " + ifname + " up: " + errno_text(errno));
    return false;
  }
  return true;
}

class TapUplink final : public Uplink {
 public:
  TapUplink(Fd fd, std::string ifname, bool persist, bool tracked)
      : fd_(std::move(fd)), ifname_(std::move(ifname)), persist_(persist), tracked_(tracked) {}

  /* A tracked uplink that is the last holder of an interface this process created, with no
   * hand-over open, clears persistence on its own descriptor before closing it: the kernel then
   * deletes the interface, in whichever network namespace it is now. */
  ~TapUplink() override {
    if (!tracked_)
      return;
    PersistTable &t = persist_table();
    std::lock_guard g(t.mu);
    auto it = t.by_name.find(ifname_);
    if (it != t.by_name.end()) {
      PersistEntry &e = it->second;
      if (e.open > 0)
        --e.open;
      if (e.open == 0 && e.handovers == 0) {
        if (e.created)
          (void)::ioctl(fd_.get(), TUNSETPERSIST, 0);
        t.by_name.erase(it);
      }
    }
    fd_.reset();  /* under the lock: a hand-over's destination opens only after this */
  }

  void transmit(std::span<const uint8_t> frame) override {
    if (frame.empty() || frame.size() > detail::kMaxWireFrame) {
      oversize_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const ssize_t n = ::write(fd_.get(), frame.data(), frame.size());
    if (n == ssize_t(frame.size()))
      tx_.fetch_add(1, std::memory_order_relaxed);
    else
      tx_errors_.fetch_add(1, std::memory_order_relaxed);  /* EAGAIN (queue full), EIO (link down) */
  }

  unsigned poll(const std::function<void(std::span<const uint8_t>)> &deliver, unsigned max) override {
    unsigned n = 0;
    while (n < max) {
      const ssize_t len = ::read(fd_.get(), buf_, sizeof buf_);
      if (len <= 0)
        break;  /* EAGAIN: nothing more; other errors: try again next poll */
      if (size_t(len) > detail::kMaxWireFrame) {
        oversize_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      deliver(std::span<const uint8_t>(buf_, size_t(len)));
      ++n;
    }
    rx_.fetch_add(n, std::memory_order_relaxed);
    return n;
  }

  std::string describe() const override {
    char buf[256];
    std::snprintf(buf, sizeof buf, "tap:%s%s (tx %llu, tx errors %llu, rx %llu, oversize %llu)", ifname_.c_str(),
                  persist_ ? " persistent" : "", (unsigned long long)tx_.load(),
                  (unsigned long long)tx_errors_.load(), (unsigned long long)rx_.load(),
                  (unsigned long long)oversize_.load());
    return buf;
  }

 private:
  Fd fd_;
  std::string ifname_;
  bool persist_;
  bool tracked_;  /* counted in persist_table() (persist + remove_when_last_closed) */
  /* One frame plus room to notice an oversize one (the kernel truncates reads to the buffer). */
  uint8_t buf_[detail::kMaxWireFrame + 1];
  std::atomic<uint64_t> tx_{0}, tx_errors_{0}, rx_{0}, oversize_{0};
};

}  // namespace

std::unique_ptr<Uplink> make_tap_uplink(const std::string &ifname, const TapOptions &opts, std::string *why) {
  const bool tracked = opts.persist && opts.remove_when_last_closed;
  if (!tracked) {
    Fd fd = open_tap(ifname, why);
    if (!fd)
      return nullptr;
    if (opts.persist && ::ioctl(fd.get(), TUNSETPERSIST, 1) < 0) {
      set_why(why, "TUNSETPERSIST " + ifname + ": " + errno_text(errno));
      return nullptr;
    }
    if (opts.bring_up && !bring_up(ifname, why))
      return nullptr;
    return std::make_unique<TapUplink>(std::move(fd), ifname, opts.persist, false);
  }
  PersistTable &t = persist_table();
  std::lock_guard g(t.mu);
  bool created = false;
  Fd fd = open_tap(ifname, why, &created);
  if (!fd)
    return nullptr;
  if (::ioctl(fd.get(), TUNSETPERSIST, 1) < 0) {
    set_why(why, "TUNSETPERSIST " + ifname + ": " + errno_text(errno));
    if (created)
      (void)::ioctl(fd.get(), TUNSETPERSIST, 0);
    return nullptr;
  }
  PersistEntry &e = t.by_name[ifname];
  if (created)
    e.created = true;
  else if (e.open == 0 && e.handovers == 0)
    e.created = false;  /* someone else's interface (a stale entry cannot exist, but be explicit) */
  if (opts.bring_up && !bring_up(ifname, why)) {
    if (e.open == 0 && e.handovers == 0) {
      if (e.created)
        (void)::ioctl(fd.get(), TUNSETPERSIST, 0);
      t.by_name.erase(ifname);
    }
    return nullptr;
  }
  ++e.open;
  return std::make_unique<TapUplink>(std::move(fd), ifname, true, true);
}

TapHandover::TapHandover(std::string ifname) : ifname_(std::move(ifname)) {
  PersistTable &t = persist_table();
  std::lock_guard g(t.mu);
  auto it = t.by_name.find(ifname_);
  if (it != t.by_name.end())
    ++it->second.handovers;
  else
    ifname_.clear();  /* no tracked uplink holds it: nothing to keep */
}

TapHandover::~TapHandover() {
  if (ifname_.empty())
    return;
  PersistTable &t = persist_table();
  std::lock_guard g(t.mu);
  auto it = t.by_name.find(ifname_);
  if (it == t.by_name.end())
    return;
  PersistEntry &e = it->second;
  if (e.handovers > 0)
    --e.handovers;
  if (e.open != 0 || e.handovers != 0)
    return;
  if (e.created) {  /* the hand-over ended with nobody holding it: remove what this process created */
    std::string ignored;
    if (Fd fd = open_tap(ifname_, &ignored))
      (void)::ioctl(fd.get(), TUNSETPERSIST, 0);
  }
  t.by_name.erase(it);
}

std::unique_ptr<Uplink> make_tap_uplink(const std::string &ifname, std::string *why) {
  return make_tap_uplink(ifname, TapOptions{}, why);
}

bool remove_tap_interface(const std::string &ifname, std::string *why) {
  Fd fd = open_tap(ifname, why);
  if (!fd)
    return false;
  if (::ioctl(fd.get(), TUNSETPERSIST, 0) < 0) {
    set_why(why, "TUNSETPERSIST 0 " + ifname + ": " + errno_text(errno));
    return false;
  }
  return true;  /* closing the last descriptor of a non-persistent TAP deletes it */
}

}  // namespace ixgbevf_lm::model
