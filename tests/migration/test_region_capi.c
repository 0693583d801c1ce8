/* SPDX-License-Identifier: BSD-3-Clause */
/* C ABI smoke test: compiled as C, uses only ixgbevf_lm_region.h. Exit 0 = pass. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ixgbevf_lm_region.h>

static int failures;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n",  \
				__FILE__, __LINE__, #cond, ixgbevf_lm_region_last_error()); \
			failures++;                                                    \
		}                                                                      \
	} while (0)

static void count_page(uint64_t gpa, void *arg)
{
	uint64_t *sum = arg;
	*sum += gpa;
}

int main(void)
{
	char path[128];
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(path, sizeof path, "%s/ixgbevf_lm_region_capi.%d", dir, (int)getpid());

	const struct ixgbevf_lm_region_range ranges[2] = {
		{ .gpa_base = 0, .length = 1u << 20 },
		{ .gpa_base = 1ull << 32, .length = 1u << 20 },
	};
	ixgbevf_lm_region *r = NULL;

	/* Refused parameters: an error code and a message naming the field. */
	CHECK(ixgbevf_lm_region_create(path, 3000, ranges, 2, 4, &r) == -EBADMSG);
	CHECK(r == NULL);
	CHECK(strstr(ixgbevf_lm_region_last_error(), "page_size 3000") != NULL);
	CHECK(strlen(ixgbevf_lm_region_strerror(-EBADMSG)) > 0);
	CHECK(ixgbevf_lm_region_open("/nonexistent-dir/region", &r) == -ENOENT);

	CHECK(ixgbevf_lm_region_create(path, 4096, ranges, 2, 4, &r) == 0);
	if (r == NULL)
		return 1;
	CHECK(ixgbevf_lm_region_page_size(r) == 4096);
	CHECK(ixgbevf_lm_region_n_ranges(r) == 2);
	CHECK(ixgbevf_lm_region_n_slots(r) == 4);
	struct ixgbevf_lm_region_range_info info;
	CHECK(ixgbevf_lm_region_range_info(r, 1, &info) == 0);
	CHECK(info.gpa_base == 1ull << 32 && info.n_pages == 256 && info.n_words == 4);
	CHECK(ixgbevf_lm_region_range_info(r, 2, &info) == -EINVAL);

	/* A second handle on the same file sees the same region. */
	ixgbevf_lm_region *r2 = NULL;
	CHECK(ixgbevf_lm_region_open(path, &r2) == 0);

	/* Dirty bitmap: mark from one handle, read from the other. */
	CHECK(ixgbevf_lm_region_mark_dirty(r, 4096, 1) == 0);
	CHECK(ixgbevf_lm_region_mark_dirty(r, (1ull << 32) + 65 * 4096, 4096) == 0);
	CHECK(ixgbevf_lm_region_mark_dirty(r, 1ull << 40, 4096) == 1);
	uint64_t bitmap[4] = { 0 };
	CHECK(ixgbevf_lm_region_get_dirty_bitmap(r2, 0, bitmap, 4, IXGBEVF_LM_REGION_NO_CLEAR) == 1);
	CHECK(bitmap[0] == 2);
	CHECK(ixgbevf_lm_region_get_dirty_bitmap(r2, 0, bitmap, 4, 0) == 1);
	CHECK(ixgbevf_lm_region_get_dirty_bitmap(r2, 0, bitmap, 4, 0) == 0);
	CHECK(ixgbevf_lm_region_get_dirty_bitmap(r2, 0, bitmap, 1, 0) == -EINVAL);
	uint64_t sum = 0;
	CHECK(ixgbevf_lm_region_for_each_dirty(r2, 0, count_page, &sum) == 1);
	CHECK(sum == (1ull << 32) + 65 * 4096);

	/* Slots: nothing claimed yet; requests on a slot; acks time out without a driver. */
	CHECK(ixgbevf_lm_region_find_slot(r, "0000:00:04.0") == -ENOENT);
	uint32_t gen = 0;
	CHECK(ixgbevf_lm_region_request_state(r, 0, IXGBEVF_LM_REGION_STATE_PRE_COPY,
					      IXGBEVF_LM_REGION_RESUME_NONE, &gen) == 0);
	CHECK(gen == 1);
	CHECK(ixgbevf_lm_region_request_state(r, 0, IXGBEVF_LM_REGION_STATE_RUNNING,
					      IXGBEVF_LM_REGION_RESUME_DESTINATION, &gen) == -EPERM);
	CHECK(ixgbevf_lm_region_start_logging(r, IXGBEVF_LM_REGION_ALL_SLOTS, NULL) == 0);
	CHECK(ixgbevf_lm_region_stop_logging(r, 1, &gen) == 0 && gen == 1);
	struct ixgbevf_lm_region_slot_status st;
	CHECK(ixgbevf_lm_region_slot_status(r2, 0, &st) == 0);
	CHECK(st.claimed == 0);
	CHECK(st.requested_state == IXGBEVF_LM_REGION_STATE_PRE_COPY);
	CHECK(st.request_generation == 1 && st.logging_requested == 1);
	CHECK(st.reported_state == IXGBEVF_LM_REGION_STATE_UNKNOWN);
	CHECK(ixgbevf_lm_region_slot_status(r2, 99, &st) == -EINVAL);
	CHECK(ixgbevf_lm_region_wait_ack(r, 0, 1, 5) == -ETIMEDOUT);
	CHECK(strstr(ixgbevf_lm_region_last_error(), "generation 1") != NULL);
	CHECK(ixgbevf_lm_region_release_slot(r, 0) == -EINVAL);
	CHECK(ixgbevf_lm_region_heartbeat(r) == 1);

	ixgbevf_lm_region_close(r2);
	CHECK(ixgbevf_lm_region_destroy(r) == 0);
	CHECK(access(path, F_OK) != 0);
	ixgbevf_lm_region_close(NULL);

	if (failures == 0)
		printf("region C ABI: all checks passed\n");
	return failures == 0 ? 0 : 1;
}
