/* SPDX-License-Identifier: BSD-3-Clause
 * C ABI to a model VF's register window, so that C driver code can run against the model.
 */
#ifndef IXGBEVF_LM_MODEL_H
#define IXGBEVF_LM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ixgbevf_lm_vf_window ixgbevf_lm_vf_window;

/* Bind to VF `vf` of the PF model `pf_name` (created with defaults and `num_vfs` VFs when missing).
 * Returns NULL and a message in err on failure. DMA goes through the process's guest memory. */
ixgbevf_lm_vf_window *ixgbevf_lm_vf_window_open(const char *pf_name, unsigned num_vfs, unsigned vf,
                                                char *err, size_t err_len);
void ixgbevf_lm_vf_window_close(ixgbevf_lm_vf_window *w);
uint32_t ixgbevf_lm_vf_read32(ixgbevf_lm_vf_window *w, uint32_t offset);
void ixgbevf_lm_vf_write32(ixgbevf_lm_vf_window *w, uint32_t offset, uint32_t value);
/* Let the device reach [iova, iova + len) at va (guest memory shared by all windows). */
int ixgbevf_lm_guest_memory_map(uint64_t iova, void *va, uint64_t len);

#ifdef __cplusplus
}
#endif

#endif
