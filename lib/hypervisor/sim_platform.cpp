/* SPDX-License-Identifier: BSD-3-Clause
 * SimPlatform: moves sim ports between PF models the way a migration moves a VM between hosts.
 */
#include <ixgbevf_lm/hypervisor/sim_platform.h>

#include <exception>
#include <optional>

#include <ixgbevf_lm/model/tap.h>

namespace ixgbevf_lm::hv {

namespace {

void set(std::string *why, std::string s)
{
  if (why)
    *why = std::move(s);
}

std::string base_name(const std::string &pf_name)
{
  const size_t at = pf_name.find('@');
  return at == std::string::npos ? pf_name : pf_name.substr(0, at);
}

bool any_vf_attached(const model::PfModel &pf)
{
  for (unsigned i = 0; i < pf.config().num_vfs; ++i)
    if (pf.vf_view(i).attached)
      return true;
  return false;
}

}  // namespace

SimPlatform &SimPlatform::instance()
{
  static SimPlatform p;
  return p;
}

std::string SimPlatform::destination_name(const std::string &pf_name, uint32_t seq)
{
  return base_name(pf_name) + "@" + std::to_string(seq);
}

std::shared_ptr<model::PfModel> SimPlatform::source_pf(const model::PfConfig &cfg, const std::string &uplink_spec,
                                                       std::string *why)
{
  auto spec = parse_uplink_spec(uplink_spec, why);
  if (!spec)
    return nullptr;
  std::lock_guard g(mu_);
  bool created = false;
  auto pf = model::Registry::instance().get_or_create(cfg, &created);
  if (!created)
    return pf;
  std::string err;
  auto up = make_uplink(*spec, &err);
  if (!up && !err.empty()) {
    model::Registry::instance().remove(cfg.name);
    set(why, "PF '" + cfg.name + "': " + err);
    return nullptr;
  }
  if (up)
    pf->set_uplink(std::move(up));
  pf_uplinks_[cfg.name] = spec->to_string();
  return pf;
}

std::string SimPlatform::pf_uplink(const std::string &pf_name) const
{
  std::lock_guard g(mu_);
  auto it = pf_uplinks_.find(pf_name);
  return it == pf_uplinks_.end() ? std::string() : it->second;
}

bool SimPlatform::register_port(const std::string &port_name, std::shared_ptr<model::VfPort> port,
                                const std::string &pf_name, const std::string &uplink_spec,
                                const model::MacAddr &admin_mac, std::string *why)
{
  auto spec = parse_uplink_spec(uplink_spec, why);
  if (!spec)
    return false;
  if (!port || !port->attached()) {
    set(why, "port '" + port_name + "' is not attached to a VF");
    return false;
  }
  auto pf = port->pf();
  if (!pf || pf->config().name != pf_name) {
    set(why, "port '" + port_name + "' is attached to PF '" + (pf ? pf->config().name : std::string("?")) +
                 "', not '" + pf_name + "'");
    return false;
  }
  std::lock_guard g(mu_);
  if (ports_.count(port_name) != 0) {
    set(why, "port '" + port_name + "' is already registered");
    return false;
  }
  Port p;
  p.info = SimPortInfo{port_name, pf_name, port->vf_index(), spec->to_string(), admin_mac, 0};
  p.uplink = *spec;
  p.port = std::move(port);
  ports_.emplace(port_name, std::move(p));
  return true;
}

void SimPlatform::unregister_port(const std::string &port_name)
{
  std::lock_guard g(mu_);
  auto it = ports_.find(port_name);
  if (it == ports_.end())
    return;
  const std::string pf = it->second.info.pf_name;
  ports_.erase(it);
  if (created_.count(pf) != 0)
    release_pf_if_unused(pf);
}

bool SimPlatform::pf_in_use(const std::string &pf_name) const
{
  for (const auto &[name, p] : ports_)
    if (p.info.pf_name == pf_name)
      return true;
  return false;
}

/* Caller holds mu_. */
void SimPlatform::release_pf_if_unused(const std::string &pf_name)
{
  if (pf_in_use(pf_name))
    return;
  auto &reg = model::Registry::instance();
  auto pf = reg.find(pf_name);
  if (!pf)
    return;
  if (any_vf_attached(*pf))  /* someone outside the platform still uses it */
    return;
  pf->set_uplink(nullptr);
  reg.remove(pf_name);
  created_.erase(pf_name);
  /* The VM's port may keep a stale binding to it (VfPort never frees one a lcore could be reading
   * through), so the object lives on; its engines must not: an idle model thread still wakes up
   * every few tens of microseconds, and every migration would add one. Powered off without a join:
   * this runs inside the downtime, and the model thread (niced, perhaps asleep) may take a while to
   * look; the last owner's destructor joins it. */
  pf->power_off();
}

/* Caller holds mu_. */
std::shared_ptr<model::PfModel> SimPlatform::destination_pf(const model::PfConfig &src_cfg, const UplinkSpec &uplink,
                                                            uint32_t seq, bool connect_tap, std::string *why)
{
  model::PfConfig cfg = src_cfg;
  cfg.name = destination_name(src_cfg.name, seq);
  bool created = false;
  auto pf = model::Registry::instance().get_or_create(cfg, &created);
  if (created)
    created_[cfg.name] = false;
  auto owned = created_.find(cfg.name);
  const bool need_uplink = owned != created_.end() && !owned->second;
  if (need_uplink && (uplink.kind != UplinkKind::tap || connect_tap)) {
    std::string err;
    auto up = make_uplink(uplink, &err);
    if (!up && !err.empty()) {
      set(why, "destination PF '" + cfg.name + "': " + err);
      if (created) {
        model::Registry::instance().remove(cfg.name);
        created_.erase(cfg.name);
      }
      return nullptr;
    }
    if (up)
      pf->set_uplink(std::move(up));
    owned->second = true;
  }
  return pf;
}

bool SimPlatform::prepare_destinations(std::string *why) noexcept
{
  try {
    std::lock_guard g(mu_);
    for (auto &[name, p] : ports_) {
      auto src = model::Registry::instance().find(p.info.pf_name);
      if (!src)
        src = p.port->pf();
      if (!src)
        continue;
      if (!destination_pf(src->config(), p.uplink, p.info.switches + 1, false, why))
        return false;
    }
    return true;
  } catch (const std::exception &e) {
    set(why, std::string("prepare_destinations: ") + e.what());
    return false;
  }
}

bool SimPlatform::switch_to_destination(const std::string &port_name, uint32_t migration_seq, std::string *why) noexcept
{
  try {
    std::lock_guard g(mu_);
    auto it = ports_.find(port_name);
    if (it == ports_.end()) {
      set(why, "sim port '" + port_name + "' is not registered with the sim platform");
      return false;
    }
    Port &p = it->second;
    auto src = p.port->pf();
    if (!src)
      src = model::Registry::instance().find(p.info.pf_name);
    if (!src) {
      set(why, "sim port '" + port_name + "': source PF '" + p.info.pf_name + "' is gone");
      return false;
    }
    const uint32_t seq = migration_seq != 0 ? migration_seq : p.info.switches + 1;
    const std::string src_name = src->config().name;
    if (destination_name(src_name, seq) == src_name) {
      set(why, "sim port '" + port_name + "' is already on '" + src_name + "'");
      return true;
    }
    /* A TAP interface: the destination opens it while the source still holds it (a multi-queue
     * TAP takes both), so that its carrier never drops; the source lets go after. A single-queue
     * TAP can be held by one PF only: then the source lets go first, and the hand-over keeps the
     * (persistent) interface from being removed in between. */
    std::optional<model::TapHandover> handover;
    std::shared_ptr<model::PfModel> dst;
    if (p.uplink.kind == UplinkKind::tap) {
      handover.emplace(p.uplink.name);
      std::string busy;
      dst = destination_pf(src->config(), p.uplink, seq, true, &busy);
      src->set_uplink(nullptr);
    }
    if (!dst)
      dst = destination_pf(src->config(), p.uplink, seq, true, why);
    if (!dst) {
      if (p.uplink.kind == UplinkKind::tap) {  /* give the TAP back to the source */
        std::string ignored;
        if (auto up = make_uplink(p.uplink, &ignored))
          src->set_uplink(std::move(up));
      }
      return false;
    }
    int vf = int(p.info.vf);
    if (vf >= int(dst->config().num_vfs) || dst->vf_view(unsigned(vf)).attached)
      vf = dst->free_vf();
    if (vf < 0) {
      set(why, "destination PF '" + dst->config().name + "' has no free VF");
      return false;
    }
    dst->set_vf_mac(unsigned(vf), p.info.admin_mac);  /* as libvirt does on the destination */
    /* the host's trust in the VM's VF goes with it, as its MAC does */
    dst->set_vf_trusted(unsigned(vf), src->vf_view(p.port->vf_index()).trusted);
    const unsigned old_vf = p.port->vf_index();
    p.port->detach();
    std::string err;
    if (!p.port->attach(dst, unsigned(vf), &err)) {
      set(why, "attaching sim port '" + port_name + "' to VF " + std::to_string(vf) + " of '" +
                   dst->config().name + "': " + err);
      std::string ignored;
      p.port->attach(src, old_vf, &ignored);  /* stay on the source (its VF was reset) */
      return false;
    }
    p.info.pf_name = dst->config().name;
    p.info.vf = unsigned(vf);
    p.info.switches = seq;
    release_pf_if_unused(src_name);
    return true;
  } catch (const std::exception &e) {
    set(why, std::string("switch_to_destination: ") + e.what());
    return false;
  }
}

std::vector<SimPortInfo> SimPlatform::ports() const
{
  std::lock_guard g(mu_);
  std::vector<SimPortInfo> out;
  for (const auto &[name, p] : ports_)
    out.push_back(p.info);
  return out;
}

bool SimPlatform::port_info(const std::string &port_name, SimPortInfo *out) const
{
  std::lock_guard g(mu_);
  auto it = ports_.find(port_name);
  if (it == ports_.end())
    return false;
  if (out)
    *out = it->second.info;
  return true;
}

}  // namespace ixgbevf_lm::hv
