/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * C ABI of the ixgbevf_lm migration region, for VMMs written in C.
 * pkg-config: ixgbevf_lm_region.
 *
 * Every function returning int returns 0 (or a non-negative value where stated) on success and a
 * negative errno on failure; ixgbevf_lm_region_last_error() then gives this thread's detailed
 * message (naming the field and the value), ixgbevf_lm_region_strerror() a generic one.
 * -EBADMSG: malformed region, -EPROTONOSUPPORT: layout major version, -ENOSPC: no free slot,
 * -EBUSY: identity held by a live process, -ENOENT: not found, -ETIMEDOUT: no ack in time,
 * -EPERM: state transition not allowed, -EINVAL: bad argument, -ENODATA: acknowledged, but the
 * driver could not log every page it may have written (see "Failing closed" below), other: system
 * call errno.
 *
 * Failing closed (layout 1.2): once the driver failed to log a page since logging started (a mark
 * outside every range, an untranslatable address, a quiesce that ran out of time, an lcore that
 * did not leave its burst in time), each of its acks carries the failure until logging stops, and
 * ixgbevf_lm_region_wait_ack() returns -ENODATA for them. The bitmap is then not a complete record:
 * copy all guest memory, or cancel the migration (ixgbevf_lm_region_abort). The slot's
 * log_errors / error_msg (ixgbevf_lm_region_slot_log_status) say how many and why.
 *
 * Doorbells (layout 1.3): every request a host posts rings the region's host bell, every report
 * the driver's (a counter and a shared futex in the header); ixgbevf_lm_region_wait_ack() blocks
 * on the driver's bell and returns as soon as the acknowledgement lands. A driver in a VM (no futex
 * wake crosses the VM boundary) is polled at a backed-off 20 us..1 ms instead.
 *
 * States and the transition table: see ixgbevf_lm/region/layout.h.
 */
#ifndef IXGBEVF_LM_REGION_H
#define IXGBEVF_LM_REGION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IXGBEVF_LM_REGION_MAX_RANGES 8
#define IXGBEVF_LM_REGION_MAX_SLOTS 32
#define IXGBEVF_LM_REGION_IDENTITY_LEN 48
#define IXGBEVF_LM_REGION_ERROR_MSG_LEN 64
#define IXGBEVF_LM_REGION_ALL_SLOTS (-1)

/* Bitmap read flag: leave the bits set (iommufd IOMMU_DIRTY_TRACKING_NO_CLEAR). */
#define IXGBEVF_LM_REGION_NO_CLEAR (1u << 0)

enum ixgbevf_lm_region_state {
	IXGBEVF_LM_REGION_STATE_UNKNOWN = 0,
	IXGBEVF_LM_REGION_STATE_RUNNING = 1,
	IXGBEVF_LM_REGION_STATE_PRE_COPY = 2,
	IXGBEVF_LM_REGION_STATE_STOP_COPY = 3,
	IXGBEVF_LM_REGION_STATE_STOP = 4,
	IXGBEVF_LM_REGION_STATE_RESUMING = 5,
	IXGBEVF_LM_REGION_STATE_ERROR = 6,
};

enum ixgbevf_lm_region_resume_kind {
	IXGBEVF_LM_REGION_RESUME_NONE = 0,
	IXGBEVF_LM_REGION_RESUME_SOURCE_ABORT = 1, /* RUNNING again on the same VF (cancel) */
	IXGBEVF_LM_REGION_RESUME_DESTINATION = 2,  /* RUNNING on the destination after RESUMING */
};

/* Opaque handle: owns the mapping and the file descriptor. */
typedef struct ixgbevf_lm_region ixgbevf_lm_region;

struct ixgbevf_lm_region_range {
	uint64_t gpa_base; /* page aligned */
	uint64_t length;   /* bytes, > 0 */
};

struct ixgbevf_lm_region_range_info {
	uint64_t gpa_base;
	uint64_t length;
	uint64_t n_pages;
	uint64_t n_words; /* 64-bit words of the range's bitmap */
};

struct ixgbevf_lm_region_slot_status {
	uint32_t index;
	uint32_t claimed; /* 0/1 */
	uint32_t owner_pid;
	char identity[IXGBEVF_LM_REGION_IDENTITY_LEN];
	uint32_t requested_state;  /* enum ixgbevf_lm_region_state */
	uint32_t resume_kind;      /* enum ixgbevf_lm_region_resume_kind */
	uint32_t request_generation;
	uint32_t logging_requested;
	uint32_t reported_state;   /* enum ixgbevf_lm_region_state */
	uint32_t acked_generation;
	uint32_t logging_active;
	int32_t last_error;
	uint64_t request_ns;       /* CLOCK_MONOTONIC, host */
	uint64_t ack_ns;           /* CLOCK_MONOTONIC, guest */
	uint64_t pages_logged;
	uint64_t migrations_done;
	uint64_t last_quiesce_ns;
	uint64_t last_restart_ns;
	uint64_t frames_dropped;
	char error_msg[IXGBEVF_LM_REGION_ERROR_MSG_LEN];
};

/* Create (or truncate) the region file with n_ranges ranges and n_slots slots. */
int ixgbevf_lm_region_create(const char *path, uint64_t page_size,
			     const struct ixgbevf_lm_region_range *ranges, uint32_t n_ranges,
			     uint32_t n_slots, ixgbevf_lm_region **out);
/* Map and validate an existing region. */
int ixgbevf_lm_region_open(const char *path, ixgbevf_lm_region **out);
/* Unmap and free the handle (NULL is allowed). */
void ixgbevf_lm_region_close(ixgbevf_lm_region *r);
/* Unlink the file, then close the handle. */
int ixgbevf_lm_region_destroy(ixgbevf_lm_region *r);

uint64_t ixgbevf_lm_region_page_size(const ixgbevf_lm_region *r);
uint32_t ixgbevf_lm_region_n_ranges(const ixgbevf_lm_region *r);
uint32_t ixgbevf_lm_region_n_slots(const ixgbevf_lm_region *r);
int ixgbevf_lm_region_range_info(const ixgbevf_lm_region *r, uint32_t range,
				 struct ixgbevf_lm_region_range_info *out);
/* Bump the host heartbeat; returns the new generation. */
uint64_t ixgbevf_lm_region_heartbeat(ixgbevf_lm_region *r);

/* Index (>= 0) of the slot claimed by identity, or -ENOENT. */
int ixgbevf_lm_region_find_slot(const ixgbevf_lm_region *r, const char *identity);
int ixgbevf_lm_region_slot_status(const ixgbevf_lm_region *r, uint32_t slot,
				  struct ixgbevf_lm_region_slot_status *out);
int ixgbevf_lm_region_release_slot(ixgbevf_lm_region *r, uint32_t slot);

/* Post a request; *generation (may be NULL) receives its generation. */
int ixgbevf_lm_region_request_state(ixgbevf_lm_region *r, uint32_t slot,
				    enum ixgbevf_lm_region_state state,
				    enum ixgbevf_lm_region_resume_kind kind, uint32_t *generation);
/* Start/stop logging for a slot or IXGBEVF_LM_REGION_ALL_SLOTS (claimed ones). */
int ixgbevf_lm_region_start_logging(ixgbevf_lm_region *r, int slot, uint32_t *generation);
int ixgbevf_lm_region_stop_logging(ixgbevf_lm_region *r, int slot, uint32_t *generation);
/* Wait up to timeout_ms for the slot to ack generation (or later); -ETIMEDOUT otherwise, -ENODATA
 * when the ack says the dirty log is incomplete (the ack happened: treat all memory as dirty). */
int ixgbevf_lm_region_wait_ack(const ixgbevf_lm_region *r, uint32_t slot, uint32_t generation,
			       uint32_t timeout_ms);

/* Cancel the migration: RUNNING with IXGBEVF_LM_REGION_RESUME_SOURCE_ABORT (the driver resumes on
 * the VF it holds). Allowed from PRE_COPY, STOP_COPY, STOP and after an ERROR. */
int ixgbevf_lm_region_abort(ixgbevf_lm_region *r, uint32_t slot, uint32_t *generation);
/* Whether the slot's last ack says the dirty log is incomplete (*log_incomplete 0/1), and how many
 * failures to log it counted since it was claimed (*log_errors). Either pointer may be NULL. */
int ixgbevf_lm_region_slot_log_status(const ixgbevf_lm_region *r, uint32_t slot,
				      uint32_t *log_incomplete, uint64_t *log_errors);

/* Copy range's bitmap into bitmap[0..n_words) (clearing it unless IXGBEVF_LM_REGION_NO_CLEAR).
 * Returns the number of dirty pages (>= 0) or a negative errno. */
int64_t ixgbevf_lm_region_get_dirty_bitmap(ixgbevf_lm_region *r, uint32_t range, uint64_t *bitmap,
					   uint64_t n_words, uint32_t flags);
/* Call fn(gpa, arg) for every dirty page of every range. Returns the page count. */
int64_t ixgbevf_lm_region_for_each_dirty(ixgbevf_lm_region *r, uint32_t flags,
					 void (*fn)(uint64_t gpa, void *arg), void *arg);
/* Mark [gpa, gpa + len) dirty (for VMM-emulated DMA). Returns the pages outside every range. */
uint64_t ixgbevf_lm_region_mark_dirty(ixgbevf_lm_region *r, uint64_t gpa, uint64_t len);

/* Generic text for a negative errno returned above. */
const char *ixgbevf_lm_region_strerror(int err);
/* This thread's detailed message for the last failure ("" if none). */
const char *ixgbevf_lm_region_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* IXGBEVF_LM_REGION_H */
