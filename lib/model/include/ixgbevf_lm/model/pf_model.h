/* SPDX-License-Identifier: BSD-3-Clause
 * Behavioural model of an Intel 82599 PF with its SR-IOV VFs: per-VF register files, the PF side of
 * the PF-VF mailbox, Rx/Tx descriptor engines, the PF's VM-to-VM switch and an uplink.
 */
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <ixgbevf_lm/hw/hw.h>
#include <ixgbevf_lm/model/dma.h>

namespace ixgbevf_lm::model {

using MacAddr = std::array<uint8_t, 6>;

/* How long the device takes for what it does not do instantly. See doc/design/model.md for the
 * source of each default; none is zero, so no downtime figure is flattered by an instant device. */
struct DeviceTimings {
  std::chrono::microseconds vf_reset{100};      /* VFCTRL.RST until RSTD is readable */
  std::chrono::microseconds mbx_response{30};   /* VF's REQ until the PF's reply is in VFMBMEM */
  std::chrono::microseconds link_up{50000};     /* PF link coming up after set_link(true) */
};

/* A nice value for the threads that play devices and wires beside a driver under test. */
inline constexpr int kDeviceNice = 10;

struct PfConfig {
  std::string name;
  unsigned num_vfs = 8;                    /* 1..64 */
  unsigned queues_per_vf = 2;              /* 82599: 2 with more than 32 VFs, up to 8 with 16 or fewer */
  hw::MacType mac_type = hw::MacType::vf_82599;
  hw::MbxApi max_api = hw::MbxApi::v13;    /* newest mailbox API the PF accepts */
  /* PF policy for VFs that are not trusted, as Linux's ixgbe has it (trust: set_vf_trusted, `ip link
   * set <pf> vf <n> trust on`). false (Linux): such a VF may not replace a MAC address the host
   * administered (set_vf_mac) nor add MAC filters beside it; an address the PF merely generated it may
   * change. true: every VF may. */
  bool allow_vf_set_mac = false;
  /* false (Linux): a request for all-multicast or promiscuous reception from such a VF is granted as
   * multicast reception only (the reply says which mode it got). true: granted as asked. */
  bool allow_vf_promisc = false;
  /* IPsec for VFs (VF_IPSEC_ADD/DEL, API 1.4), as Linux's ixgbe decides it: refused unless the PF
   * enables it (ethtool's vf-ipsec private flag, off by default) and the VF is trusted. */
  bool allow_vf_ipsec = false;
  bool refuse_vf_tx_sa = false;            /* Linux ixgbe today also refuses outbound SAs of VFs */
  unsigned pf_rx_sas = 0;                  /* SA table entries the PF uses itself (of 1024 each) */
  unsigned pf_tx_sas = 0;
  uint32_t link_speed_mbps = 10000;
  /* HLREG0.RXCRCSTRP: the PF strips the 4-byte FCS from every received frame, for all pools (a VF
   * can neither choose nor read it). false: frames reach the VFs with their FCS. */
  bool rx_crc_strip = true;
  /* VXLANCTRL (X550 only): the UDP port the PF programmed for VXLAN (Linux ixgbe sets the host's
   * VXLAN port); 0: the receive parser does not recognise VXLAN. */
  uint16_t vxlan_udp_port = 4789;
  bool threaded = true;                    /* false: nothing moves until the test calls step() */
  /* The model thread's nice value (0..19). The model stands in for hardware, which takes no CPU
   * from the guest: where it shares a CPU with the driver's threads, a positive value keeps the
   * scheduler from running it in their place (the migration demo uses kDeviceNice). */
  int thread_nice = 0;
  DeviceTimings timings;
};

/* One message the PF received from a VF, and its answer (for tests and tools). */
struct MailboxRecord {
  unsigned vf = 0;
  std::vector<uint32_t> request;
  std::vector<uint32_t> reply;
};

/* What the PF knows about one VF: the configuration the VF asked for and the PF accepted. */
struct VfView {
  bool attached = false;           /* a guest's VfPort is bound to it */
  bool clear_to_send = false;      /* VF_RESET handshake done */
  hw::MbxApi api = hw::MbxApi::v10;
  MacAddr mac{};
  std::vector<MacAddr> macvlans;   /* extra unicast filters (SET_MACVLAN) */
  std::vector<uint16_t> mc_hashes; /* SET_MULTICAST */
  std::set<uint16_t> vlans;        /* SET_VLAN */
  hw::XcastMode xcast = hw::XcastMode::multi;
  uint32_t max_frame = 1518;       /* SET_LPE */
  unsigned rx_queues_enabled = 0;
  unsigned tx_queues_enabled = 0;
  bool trusted = false;            /* host administration (set_vf_trusted) */
  unsigned ipsec_rx_sas = 0;       /* SAs the VF added (VF_IPSEC_ADD) in the device's tables */
  unsigned ipsec_tx_sas = 0;
};

struct PfStats {
  uint64_t frames_switched = 0;      /* VF to VF */
  uint64_t frames_to_uplink = 0;
  uint64_t frames_from_uplink = 0;
  uint64_t rx_no_descriptor_drops = 0;
  uint64_t unknown_destination_drops = 0;
  uint64_t dma_faults = 0;
  uint64_t mailbox_messages = 0;
  uint64_t mailbox_nacks = 0;
  uint64_t rx_oversize_drops = 0;    /* longer than the VF's SET_LPE maximum */
  uint64_t ipsec_tx_malformed = 0;   /* IPsec asked for a frame that cannot hold its ESP trailer */
};

/* Values to load into a VF's statistics counters (full 64-bit shadows; the registers show them at
 * their hardware width: 32-bit packets, 36-bit octets). A real PF cannot do this; the model can, so
 * that a driver's wrap-around handling is testable without sending 2^32 frames. */
struct VfCounterPreset {
  uint64_t gprc = 0, gptc = 0, gorc = 0, gotc = 0, mprc = 0;
};

/* Fault injection. */
struct Faults {
  bool mailbox_silent = false;       /* the PF stops answering the mailbox */
  bool desc_fetch_stall = false;     /* engines stop fetching descriptors (queues appear hung) */
  bool reset_never_completes = false;/* RSTD never comes */
  /* A device that writes back what no 82599 writes (the driver's bad write-back handling): */
  uint16_t rx_wb_length = 0;         /* every Rx write-back reports this length (0: the real one) */
  uint32_t rx_wb_error_bits = 0;     /* ORed into every Rx write-back's status/error word */
  bool rx_wb_no_eop = false;         /* EOP never set */
  bool tx_head_wb_beyond_tail = false; /* the Tx head write-back is TDT + 1 */
};

/* The other end of the PF's uplink port. Called on the model's thread. */
class Uplink {
 public:
  virtual ~Uplink() = default;
  virtual void transmit(std::span<const uint8_t> frame) = 0;
  /* Deliver frames that arrived from the outside, at most max; returns how many. */
  virtual unsigned poll(const std::function<void(std::span<const uint8_t>)> &deliver, unsigned max) = 0;
  virtual std::string describe() const = 0;
};

/* A shared Ethernet segment: every station attached sees what others send (a hub). Two PF models
 * on one wire are two hosts on one L2 network; a TrafficEndpoint can be a station too. */
class Wire;
std::shared_ptr<Wire> make_wire(std::string name);
std::unique_ptr<Uplink> make_wire_uplink(std::shared_ptr<Wire> wire);
std::unique_ptr<Uplink> make_loopback_uplink();
/* A Linux TAP interface (created if missing, brought up). Fails with *why when it cannot. */
std::unique_ptr<Uplink> make_tap_uplink(const std::string &ifname, std::string *why);

class VfPort;

class PfModel : public std::enable_shared_from_this<PfModel> {
 public:
  static std::shared_ptr<PfModel> create(const PfConfig &cfg);
  ~PfModel();
  /* Power the device off: its engines stop for good (the model thread is joined). A guest that
   * still holds a stale binding reads and writes dead registers. Idempotent; the destructor does it. */
  void shutdown();
  /* The same without waiting: the engines stop at the model thread's next look, which the
   * destructor (or shutdown()) joins. For a caller that must not wait for a thread it may have to
   * share a CPU with (the sim platform's VF switch, inside a migration's downtime). */
  void power_off() noexcept;
  PfModel(const PfModel &) = delete;
  PfModel &operator=(const PfModel &) = delete;

  const PfConfig &config() const;

  /* Host administration (what `ip link set <pf> vf N mac ...` does). */
  void set_vf_mac(unsigned vf, const MacAddr &mac);
  void set_vf_trusted(unsigned vf, bool trusted);
  void set_uplink(std::unique_ptr<Uplink> uplink);
  void set_link(bool up);
  bool link_up() const;

  /* PF-initiated messages and events. */
  void send_control_message(unsigned vf);
  void send_migration_message(unsigned vf, uint32_t phase);
  void pf_reset();                         /* PF driver reload: every VF sees RSTI, then must reset */
  void set_faults(const Faults &f);

  /* Observation, for tests and tools. */
  VfView vf_view(unsigned vf) const;
  std::vector<MailboxRecord> mailbox_log() const;
  PfStats stats() const;
  /* Index of a VF not bound to any guest, or -1. */
  int free_vf() const;

  /* Single-step mode (threaded == false): perform pending work, one unit at a time. */
  bool step();
  unsigned run_until_idle(unsigned max_steps = 100000);
  /* Single-step mode keeps a virtual clock for the device timings. */
  void advance_time(std::chrono::microseconds dt);

  /* Test support: preset a VF's statistics counters (see VfCounterPreset). */
  void set_vf_counters(unsigned vf, const VfCounterPreset &c);

  struct Impl;
  Impl &impl() { return *impl_; }

 private:
  explicit PfModel(const PfConfig &cfg);
  std::unique_ptr<Impl> impl_;
};

/* The VF as the guest sees it at its BAR0. It is bound to one VF of one PF model at a time; a
 * migration detaches it (reads return all ones, writes are dropped, like a removed device) and
 * binds it to a fresh VF in reset state on another PF model. Its DmaSpace stays the same. */
class VfPort {
 public:
  explicit VfPort(std::shared_ptr<DmaSpace> guest_memory);
  ~VfPort();
  VfPort(const VfPort &) = delete;
  VfPort &operator=(const VfPort &) = delete;

  bool attach(const std::shared_ptr<PfModel> &pf, unsigned vf, std::string *why = nullptr);
  void detach();
  bool attached() const;
  std::shared_ptr<PfModel> pf() const;
  unsigned vf_index() const;
  DmaSpace &dma() const;

  uint32_t read32(uint32_t offset);
  void write32(uint32_t offset, uint32_t value);

  /* The VF's MSI-X table as a callback: the device calls sink(vector) when it raises a cause in
   * VTEICR whose bit is enabled in VTEIMS (the vector is the bit number, 0..2). Called on the
   * model's thread (or the thread writing VTEICS/VTEIMS) with the PF's lock held: the sink must
   * not call back into the model (writing an eventfd is fine). The sink stays with the port across
   * a migration; an empty function removes it, and returns only once no call is in progress. */
  void set_msix_sink(std::function<void(unsigned vector)> sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/* Process-wide directory of PF models and guest memory, so that a vdev, a tool and a test in
 * one process reach the same objects by name. */
class Registry {
 public:
  static Registry &instance();
  /* The PF named cfg.name, created with cfg when it does not exist. *created tells which. */
  std::shared_ptr<PfModel> get_or_create(const PfConfig &cfg, bool *created = nullptr);
  std::shared_ptr<PfModel> find(const std::string &name) const;
  void remove(const std::string &name);
  void set_guest_memory(std::shared_ptr<DmaSpace> mem);
  std::shared_ptr<DmaSpace> guest_memory() const;

 private:
  Registry() = default;
  struct Impl;
  Impl *impl();
};

}  // namespace ixgbevf_lm::model
