/* SPDX-License-Identifier: BSD-3-Clause
 * The simulated hypervisor's engine: pre-copy rounds, stop-copy, then either cancel (SOURCE_ABORT)
 * or switch (RESUMING, RUNNING on the destination), over the migration region's slot protocol.
 * With the model's DmaSpace it also verifies the driver's dirty bitmap against the ground truth
 * (doc/design/migration.md, "Verification").
 *
 *   auto host = region::Host::open(path);
 *   hv::Migrator m(*host, {.max_rounds = 4, .truth = model::Registry::instance().guest_memory()});
 *   hv::MigrationFigures f;
 *   if (!m.migrate(hv::Outcome::destination, &f, &why)) ...
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ixgbevf_lm/hypervisor/verifier.h>
#include <ixgbevf_lm/model/dma.h>
#include <ixgbevf_lm/region/host.h>

namespace ixgbevf_lm::hv {

enum class Outcome {
  source_abort,  /* rounds only: stop-copy and final verification, then RUNNING on the same VF */
  destination,   /* a complete migration: RESUMING on a fresh VF, then RUNNING */
};

/* What the engine does when a driver's STOP_COPY ack says its dirty log is incomplete
 * (region::kReportLogIncomplete): the VFIO rule, treat all memory as dirty and copy it, or cancel. */
enum class OnLogError { copy_all, cancel };

/* Where migrate() cancels a migration on purpose (RUNNING/SOURCE_ABORT), for a VMM author to
 * exercise the driver's way back against their own process. */
enum class CancelAt {
  never,
  pre_copy,        /* after pre-copy round cancel_after_round */
  stop_copy_ack,   /* once every slot acknowledged STOP_COPY (and the final fetch ran) */
  stop,            /* after STOP, held for stop_hold */
};

struct MigratorOptions {
  std::vector<uint32_t> slots;              /* empty: every claimed slot at the start */
  unsigned max_rounds = 4;                  /* pre-copy rounds, >= 1 */
  uint64_t converge_pages = 0;              /* stop pre-copy early when a round fetches fewer */
  double link_gbps = 10.0;                  /* for the modelled transfer time */
  uint64_t guest_ram_bytes = 0;             /* what round 1 copies; 0: every range in full */
  std::chrono::milliseconds ack_timeout{2000};
  /* A round lasts as long as its modelled transfer, clamped to [min_round, max_round], so that the
   * guest has time to dirty pages without the run lasting minutes. */
  std::chrono::milliseconds min_round{20};
  std::chrono::milliseconds max_round{150};
  std::shared_ptr<model::DmaSpace> truth;   /* ground truth; nullptr: no verification */
  std::function<void(const std::string &)> progress;  /* one human-readable line per event */
  /* Called after pre-copy round 1 (e.g. SimPlatform::prepare_destinations) for Outcome::destination. */
  std::function<void()> prepare_destination;
  OnLogError on_log_error = OnLogError::copy_all;
  CancelAt cancel_at = CancelAt::never;
  unsigned cancel_after_round = 1;
  std::chrono::milliseconds stop_hold{0};
};

struct RoundFigures {
  unsigned index = 0;
  uint64_t pages_copied = 0;     /* round 1: all guest RAM; then the previous fetch */
  uint64_t pages_fetched = 0;    /* dirty pages in this round's bitmap fetch */
  uint64_t truth_pages = 0;      /* pages the device wrote (ground truth), 0 without */
  double transfer_ms = 0;        /* modelled */
  double elapsed_ms = 0;
};

struct PhaseFigures {
  double start_logging_ms = 0;   /* PRE_COPY request -> logging ack */
  double pre_copy_ms = 0;        /* the rounds */
  double quiesce_ack_ms = 0;     /* STOP_COPY request -> ack */
  double final_fetch_ms = 0;     /* final bitmap (and ground-truth) read */
  double switch_ack_ms = 0;      /* RESUMING request -> ack (switch + rebuild); 0 for an abort */
  double running_ack_ms = 0;     /* RUNNING request -> ack */
};

struct SlotFigures {
  uint32_t slot = 0;
  std::string identity;
  double downtime_ms = 0;        /* STOP_COPY request_ns -> RUNNING ack_ns (region timestamps) */
  double driver_quiesce_ms = 0;  /* as the driver reports it */
  double driver_restart_ms = 0;
  uint64_t frames_dropped = 0;   /* counter delta over this migration */
  uint64_t log_errors = 0;       /* failures to log the driver counted over this migration */
  bool log_incomplete = false;   /* its STOP_COPY ack said the dirty log is incomplete */
  std::string log_error_msg;     /* the slot's message then */
};

struct MigrationFigures {
  Outcome outcome = Outcome::source_abort;
  unsigned rounds = 0;                 /* pre-copy rounds */
  std::vector<RoundFigures> per_round;
  uint64_t final_pages = 0;            /* pages of the stop-copy fetch */
  uint64_t pages_copied = 0;           /* all rounds + stop-copy */
  double transfer_ms = 0;              /* modelled, all rounds + stop-copy */
  double stop_copy_transfer_ms = 0;    /* modelled: last dirty set copied while the guest is stopped */
  bool verified = false;               /* ground truth available */
  std::string verification;            /* "frozen", "ordered" or "none" (see migrator.cpp) */
  uint64_t dma_pages_written = 0;
  uint64_t pages_reported = 0;
  uint64_t missed_dirty_pages = 0;     /* pages the copy missed (0 when everything was copied) */
  uint64_t bitmap_missed_pages = 0;    /* pages the bitmap alone missed (ground truth) */
  uint64_t log_errors = 0;             /* sum of the slots' */
  bool copied_all = false;             /* a slot's log was incomplete: all guest RAM copied again */
  std::string cancelled_at;            /* migrate() cancelled on purpose (MigratorOptions::cancel_at) */
  double over_report_ratio = 0;
  std::vector<uint64_t> missed_examples;
  uint64_t compare_page_size = 0;
  double downtime_ms = 0;              /* the longest of the slots' */
  double total_ms = 0;
  PhaseFigures phases;
  std::vector<SlotFigures> slots;
};

class Migrator {
 public:
  Migrator(region::Host &host, MigratorOptions opts);

  /* One whole migration. False with *why (naming the slot) when a step failed; the engine then
   * tries to put every slot back to RUNNING on its VF. */
  bool migrate(Outcome outcome, MigrationFigures *out, std::string *why);

  /* Modelled time to copy `pages` of `page_size` bytes at `gbps`. */
  static double transfer_ms(uint64_t pages, uint64_t page_size, double gbps) noexcept;

  /* The steps, for tools and tests that drive them one by one. */
  bool start_logging(MigrationFigures &f, std::string *why);
  bool pre_copy(MigrationFigures &f, std::string *why);
  bool stop_copy(MigrationFigures &f, std::string *why);
  bool finish(Outcome outcome, MigrationFigures &f, std::string *why);
  /* Cancel whatever is going on (RUNNING/SOURCE_ABORT for every slot), best effort. */
  void abort_all() noexcept;

 private:
  struct Snapshot {
    std::vector<uint64_t> truth;
    std::vector<uint64_t> reported;
  };
  Snapshot snapshot();
  bool request_all(region::State state, region::ResumeKind kind, const char *what, std::vector<uint32_t> *gens,
                   std::string *why);
  bool wait_all(const std::vector<uint32_t> &gens, region::State expect, bool want_logging, const char *what,
                std::string *why);
  void say(const std::string &line) const;
  double ms_since(std::chrono::steady_clock::time_point t) const;

  region::Host &host_;
  MigratorOptions opts_;
  std::vector<uint32_t> slots_;
  std::unique_ptr<DirtyVerifier> verifier_;
  bool freeze_works_ = true;
  uint64_t last_fetch_ = 0;
  std::vector<uint64_t> stop_request_ns_;
  std::vector<region::Counters> counters_before_;
  uint64_t ram_pages_ = 0;
  /* The slots whose STOP_COPY ack said the log is incomplete; false with *why when cancelling. */
  bool check_logs(MigrationFigures &f, std::string *why);
  std::chrono::steady_clock::time_point t_start_;
};

}  // namespace ixgbevf_lm::hv
