/* SPDX-License-Identifier: BSD-3-Clause
 * The engine against a scripted driver (a thread speaking the slot protocol) and the model's
 * DmaSpace as ground truth: a complete migration, a cancelled one, a page never reported, a driver
 * that never acknowledges.
 */
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <ixgbevf_lm/hypervisor/migrator.h>
#include <ixgbevf_lm/region/guest.h>
#include <ixgbevf_lm/region/host.h>

#include "region_test_util.h"

using namespace ixgbevf_lm;
using region::State;

namespace {

constexpr uint64_t kBase = 1ULL << 32;
constexpr uint64_t kLen = 16ULL << 20;

/* A driver that acks every request and, while logging, "receives" into a ring of 16 pages: the
 * device writes a page (DmaSpace::write), then the driver marks it. At quiesce it marks every
 * posted page, as the real driver does. Optionally one page is written once and never marked. */
class ScriptedDriver {
 public:
  ScriptedDriver(const std::string &path, std::shared_ptr<model::DmaSpace> mem, bool forget_one, bool mute)
      : mem_(std::move(mem)), forget_one_(forget_one), mute_(mute)
  {
    auto g = region::Guest::attach(path);
    EXPECT_TRUE(g.has_value());
    guest_ = std::make_unique<region::Guest>(std::move(g.value()));
    auto s = guest_->claim_slot("scripted0");
    EXPECT_TRUE(s.has_value());
    slot_ = s.value();
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedDriver()
  {
    stop_ = true;
    thread_.join();
  }
  unsigned resumes() const { return resumes_.load(); }

 private:
  void run()
  {
    uint32_t handled = 0;
    bool logging = false, running = true;
    unsigned i = 0;
    std::vector<uint8_t> frame(256, 0xab);
    bool forgot = false;
    while (!stop_) {
      const region::Request r = slot_.poll_request();
      if (r.generation != handled && !mute_) {
        handled = r.generation;
        logging = r.logging();
        running = r.state == State::running || r.state == State::pre_copy;
        if (r.state == State::stop_copy) {
          for (unsigned p = 0; p < 16; ++p)
            guest_->mark_dirty(kBase + p * 4096);
          /* A device write the driver never reports, before its final acknowledgement: the host's
           * ground truth runs by then whatever the scheduling (was: after 60 logged writes, which
           * a loaded machine did not always reach before the stop-copy). */
          if (forget_one_ && !forgot) {
            mem_->write(kBase + 100 * 4096, frame.data(), 8);  /* never marked */
            forgot = true;
          }
        }
        if (r.state == State::resuming)
          resumes_++;
        slot_.acknowledge(r, r.state, logging);
      }
      if (running) {
        const uint64_t iova = kBase + (i++ % 16) * 4096;
        mem_->write(iova, frame.data(), frame.size());
        if (logging)
          guest_->mark_dirty(iova);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  std::shared_ptr<model::DmaSpace> mem_;
  std::unique_ptr<region::Guest> guest_;
  region::GuestSlot slot_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> resumes_{0};
  bool forget_one_, mute_;
};

struct Fixture {
  region_test::TempPath path;
  std::vector<uint8_t> memory = std::vector<uint8_t>(kLen);
  std::shared_ptr<model::DmaSpace> mem = std::make_shared<model::DmaSpace>();
  std::unique_ptr<region::Host> host;
  Fixture()
  {
    EXPECT_TRUE(mem->map(kBase, memory.data(), kLen));
    auto h = region::Host::create(path.str(), {.page_size = 4096, .ranges = {{kBase, kLen}}, .n_slots = 4});
    EXPECT_TRUE(h.has_value());
    host = std::make_unique<region::Host>(std::move(h.value()));
  }
  hv::MigratorOptions options()
  {
    hv::MigratorOptions o;
    o.max_rounds = 3;
    o.min_round = std::chrono::milliseconds(5);
    o.max_round = std::chrono::milliseconds(10);
    o.ack_timeout = std::chrono::milliseconds(1000);
    o.truth = mem;
    return o;
  }
};

}  // namespace

TEST(HypervisorMigrator, CompleteMigrationMissesNoPage)
{
  Fixture fx;
  ScriptedDriver drv(fx.path.str(), fx.mem, false, false);
  hv::Migrator m(*fx.host, fx.options());
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.migrate(hv::Outcome::destination, &f, &why)) << why;
  EXPECT_EQ(f.rounds, 3u);
  EXPECT_EQ(f.per_round.size(), 3u);
  EXPECT_EQ(f.per_round[0].pages_copied, kLen / 4096);  /* round 1 copies everything */
  EXPECT_TRUE(f.verified);
  EXPECT_GT(f.dma_pages_written, 0u);
  EXPECT_GE(f.pages_reported, f.dma_pages_written);
  EXPECT_EQ(f.missed_dirty_pages, 0u);
  EXPECT_GE(f.over_report_ratio, 1.0);
  EXPECT_GT(f.downtime_ms, 0.0);
  EXPECT_EQ(drv.resumes(), 1u);
  auto st = fx.host->slot_status(0);
  EXPECT_EQ(st->report.state, State::running);
  EXPECT_EQ(st->request.kind, region::ResumeKind::destination);
}

TEST(HypervisorMigrator, CancelledMigrationReturnsToRunningOnTheSource)
{
  Fixture fx;
  ScriptedDriver drv(fx.path.str(), fx.mem, false, false);
  hv::Migrator m(*fx.host, fx.options());
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.migrate(hv::Outcome::source_abort, &f, &why)) << why;
  EXPECT_EQ(f.missed_dirty_pages, 0u);
  EXPECT_EQ(drv.resumes(), 0u);
  auto st = fx.host->slot_status(0);
  EXPECT_EQ(st->request.kind, region::ResumeKind::source_abort);
  EXPECT_EQ(st->report.state, State::running);
}

TEST(HypervisorMigrator, PageWrittenButNeverReportedIsCountedMissed)
{
  Fixture fx;
  ScriptedDriver drv(fx.path.str(), fx.mem, true, false);
  hv::Migrator m(*fx.host, fx.options());
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.migrate(hv::Outcome::source_abort, &f, &why)) << why;
  EXPECT_EQ(f.missed_dirty_pages, 1u);
  ASSERT_EQ(f.missed_examples.size(), 1u);
  EXPECT_EQ(f.missed_examples[0], kBase + 100 * 4096);
}

TEST(HypervisorMigrator, SilentDriverTimesOutNamingTheSlot)
{
  Fixture fx;
  ScriptedDriver drv(fx.path.str(), fx.mem, false, true);
  auto o = fx.options();
  o.ack_timeout = std::chrono::milliseconds(50);
  hv::Migrator m(*fx.host, o);
  std::string why;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(m.migrate(hv::Outcome::destination, nullptr, &why));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_NE(why.find("slot 0 ('scripted0')"), std::string::npos) << why;
  EXPECT_NE(why.find("did not acknowledge"), std::string::npos) << why;
}

TEST(HypervisorMigrator, NoClaimedSlotIsAClearError)
{
  Fixture fx;
  hv::Migrator m(*fx.host, fx.options());
  std::string why;
  EXPECT_FALSE(m.migrate(hv::Outcome::destination, nullptr, &why));
  EXPECT_NE(why.find("no port has claimed a slot"), std::string::npos) << why;
}
