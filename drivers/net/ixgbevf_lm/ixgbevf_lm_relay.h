/* SPDX-License-Identifier: BSD-3-Clause
 * The doorbell relay (primary process, sim ports): a secondary process cannot reach the model,
 * which lives in the primary, so its bursts post the tail into the queue's SharedTail word; a
 * control thread of the primary polls those words of the ports a secondary attached to and writes
 * a changed value to the model's tail register. It runs only once a secondary attached a sim port.
 */
#pragma once

#include <cstdint>
#include <mutex>

#include "ixgbevf_lm_hw.h"

namespace ixgbevf_lm::pmd {

/* Poll interval of the relay thread: a secondary's doorbell reaches the model within about this. */
inline constexpr uint64_t kRelayPollUs = 50;

/* Serialises a relay pass against the primary's control path that rewrites a queue's tail or
 * frees a queue (queue (re)start, release). Held for a few register writes. */
std::unique_lock<std::mutex> relay_lock() noexcept;
/* Queue (re)start in the primary, relay lock held: the tail the primary is about to write is the
 * new origin, a value a secondary posted before the restart is not relayed. */
void relay_reset(SharedTail &t, uint32_t tail) noexcept;
/* Relay the secondary doorbells of this port (sim, primary; idempotent). Starts the thread. */
int relay_add_port(uint16_t port_id) noexcept;
/* The port is being closed: no more relaying; the thread stops with the last port. */
void relay_remove_port(uint16_t port_id) noexcept;

}  // namespace ixgbevf_lm::pmd
