/* SPDX-License-Identifier: BSD-3-Clause
 * The doorbell relay (primary process): for a backend whose registers only the primary reaches
 * (DeviceBackend::secondary_doorbell_relay, e.g. a device model living in the primary), a
 * secondary's bursts post the tail into the queue's SharedTail word; a control thread of the
 * primary polls those words of the ports a secondary attached to and writes a changed value to the
 * tail register. It runs only while a secondary has such a port attached.
 */
#pragma once

#include <cstdint>
#include <mutex>

#include "ixgbevf_lm_hw.h"

namespace ixgbevf_lm::pmd {

/* Poll interval of the relay thread: a secondary's doorbell reaches the device within about this. */
inline constexpr uint64_t kRelayPollUs = 50;

/* Serialises a relay pass against the primary's control path that rewrites a queue's tail or
 * frees a queue (queue (re)start, release). Held for a few register writes. */
std::unique_lock<std::mutex> relay_lock() noexcept;
/* Queue (re)start in the primary, relay lock held: the tail the primary is about to write is the
 * new origin, a value a secondary posted before the restart is not relayed. */
void relay_reset(SharedTail &t, uint32_t tail) noexcept;
/* A secondary attached this port (primary): relay its doorbells. Starts the thread. */
int relay_add_port(uint16_t port_id) noexcept;
/* A secondary closed its view of the port: relaying stops with the last one (and the thread with
 * the last port). A secondary that dies without closing leaves the relay running (harmless). */
void relay_release_port(uint16_t port_id) noexcept;
/* The primary closes the port: no more relaying, whatever secondaries are left. */
void relay_remove_port(uint16_t port_id) noexcept;

}  // namespace ixgbevf_lm::pmd
