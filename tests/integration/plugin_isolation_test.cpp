// The agent driven in-process (exportsync::agent::Agent), its plugin workers being the real
// exportsync-agent binary: failure bookkeeping and quarantine, resource limits, and that the
// store holds nothing from a failed run.
#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent_test_support.hpp"
#include "exportsync/agent/agent.hpp"

namespace exportsync::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class PluginIsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    disableCoreDumps();
    // Keep the test output readable: the agent's own log lines are not what we assert on.
    Poco::Logger::setLevel("", Poco::Message::PRIO_FATAL);
  }

  std::unique_ptr<agent::Agent> createAgent() {
    auto a = agent::Agent::create(ws_.loadConfig(), kAgentBinary);
    EXPECT_TRUE(a.isOk()) << a.status().message();
    return a ? std::move(*a) : nullptr;
  }

  // Runs every enabled plugin once and returns the outcome of `plugin`.
  static agent::RunOutcome runOne(agent::Agent& a, const std::string& plugin) {
    for (auto& o : a.runOnce()) {
      if (o.plugin == plugin) {
        return o;
      }
    }
    ADD_FAILURE() << "no outcome for " << plugin;
    return {};
  }

  Workspace ws_;
};

// After plugins.max_failures consecutive failures the plugin is quarantined: recorded in the
// store, skipped with a message (also by a restarted agent), and freed when its config changes.
TEST_F(PluginIsolationTest, QuarantineAfterMaxFailuresUntilConfigChanges) {
  ws_.addPlugin("thrower.so");
  ws_.addPlugin("good_a.so");
  ws_.writeConfig({{"plugins.enabled", "thrower,good-a"}, {"plugins.max_failures", "2"}});
  {
    auto a = createAgent();
    ASSERT_NE(a, nullptr);
    auto first = runOne(*a, "thrower");
    EXPECT_FALSE(first.status.isOk());
    EXPECT_FALSE(first.skipped);
    EXPECT_FALSE(first.quarantined_now);
    EXPECT_THAT(first.status.message(), HasSubstr("deliberate failure after 3 rows"));

    auto second = runOne(*a, "thrower");
    EXPECT_FALSE(second.status.isOk());
    EXPECT_TRUE(second.quarantined_now);

    auto third = runOne(*a, "thrower");
    EXPECT_TRUE(third.skipped);
    EXPECT_EQ(third.status.code(), Code::Cancelled);
    EXPECT_THAT(
        third.status.message(),
        AllOf(HasSubstr("plugin 'thrower' is quarantined after 2 consecutive failures"),
              HasSubstr("deliberate failure after 3 rows"), HasSubstr("change its configuration")));
  }
  {
    StoreView store(ws_.storePath());
    const auto h = store.health("thrower");
    ASSERT_TRUE(h.has_value());
    EXPECT_TRUE(h->quarantined);
    EXPECT_EQ(h->consecutive_failures, 2);
    EXPECT_EQ(h->last_result, "failed");
    EXPECT_EQ(store.rows("thrower"), 0);
    // The other plugin kept running every time.
    EXPECT_EQ(store.state("good-a", "runs"), "3");
  }

  // The real binary, restarted with the same config, still skips it and says why.
  const auto again = ws_.runWithConfig({"--once"});
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_THAT(again.out, HasSubstr("skipped thrower: plugin 'thrower' is quarantined"));
  EXPECT_THAT(again.out, HasSubstr("ok      good-a"));

  // Fixing the config lifts the quarantine: the run succeeds and its rows are stored.
  ws_.writeConfig({{"plugins.enabled", "thrower,good-a"},
                   {"plugins.max_failures", "2"},
                   {"plugin.thrower.fail", "false"}});
  {
    auto a = createAgent();
    ASSERT_NE(a, nullptr);
    auto fixed = runOne(*a, "thrower");
    EXPECT_TRUE(fixed.status.isOk()) << fixed.status.message();
    EXPECT_FALSE(fixed.skipped);
    EXPECT_EQ(fixed.stats.upserted, 3);
  }
  StoreView store(ws_.storePath());
  const auto h = store.health("thrower");
  ASSERT_TRUE(h.has_value());
  EXPECT_FALSE(h->quarantined);
  EXPECT_EQ(h->consecutive_failures, 0);
  EXPECT_EQ(h->last_result, "ok");
  EXPECT_EQ(store.rows("thrower"), 3);
  EXPECT_EQ(store.changesByPlugin()["thrower"], 3);
}

// A success in between resets the count: only consecutive failures quarantine.
TEST_F(PluginIsolationTest, SuccessResetsTheFailureCount) {
  ws_.addPlugin("thrower.so");
  ws_.writeConfig({{"plugins.enabled", "thrower"}, {"plugins.max_failures", "2"}});
  {
    auto a = createAgent();
    ASSERT_NE(a, nullptr);
    EXPECT_FALSE(runOne(*a, "thrower").status.isOk());
  }
  ws_.writeConfig({{"plugins.enabled", "thrower"},
                   {"plugins.max_failures", "2"},
                   {"plugin.thrower.fail", "false"}});
  {
    auto a = createAgent();
    ASSERT_NE(a, nullptr);
    EXPECT_TRUE(runOne(*a, "thrower").status.isOk());
  }
  ws_.writeConfig({{"plugins.enabled", "thrower"}, {"plugins.max_failures", "2"}});
  auto a = createAgent();
  ASSERT_NE(a, nullptr);
  const auto o = runOne(*a, "thrower");
  EXPECT_FALSE(o.status.isOk());
  EXPECT_FALSE(o.quarantined_now);
  StoreView store(ws_.storePath());
  const auto h = store.health("thrower");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->consecutive_failures, 1);
  EXPECT_FALSE(h->quarantined);
  // The successful run's rows survive the later failed one.
  EXPECT_EQ(store.rows("thrower"), 3);
}

// A crash after writes, before the commit: nothing of the run is left, not even its state.
TEST_F(PluginIsolationTest, CrashAfterWritesLeavesNoRowsNoChangesNoState) {
  ws_.addPlugin("crasher.so");
  ws_.addPlugin("good_a.so");
  ws_.writeConfig({{"plugins.enabled", "good-a,crasher"}});
  auto a = createAgent();
  ASSERT_NE(a, nullptr);
  const auto o = runOne(*a, "crasher");
  EXPECT_FALSE(o.status.isOk());
  EXPECT_EQ(o.status.code(), Code::Internal);
  EXPECT_THAT(o.status.message(), HasSubstr("plugin 'crasher' run: "));
  if (!kAddressSanitizer) {
    EXPECT_THAT(o.status.message(), HasSubstr("crashed (signal 11"));
  }
  a.reset();
  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("crasher"), 0);
  EXPECT_EQ(store.state("crasher", "runs"), std::nullopt);
  EXPECT_EQ(store.rows("good-a"), 5);
  EXPECT_EQ(store.changesByPlugin(), (std::map<std::string, int64_t>{{"good-a", 5}}));
  auto last = store.store().lastSeq();
  ASSERT_TRUE(last.isOk());
  EXPECT_EQ(*last, 5);
}

// The hang limit is the plugin's own timeout_s; the worker is killed, the agent goes on.
TEST_F(PluginIsolationTest, HangingPluginIsKilledAtItsTimeout) {
  ws_.addPlugin("looper.so");
  ws_.writeConfig({{"plugins.enabled", "looper"}, {"plugins.timeout_s", "1"}});
  auto a = createAgent();
  ASSERT_NE(a, nullptr);
  const auto started = Clock::now();
  const auto o = runOne(*a, "looper");
  const auto took = Clock::now() - started;
  EXPECT_EQ(o.status.code(), Code::Cancelled);
  EXPECT_THAT(o.status.message(), HasSubstr("timed out after 1 s and was killed"));
  EXPECT_GE(o.duration, milliseconds(1000));
  EXPECT_LT(took, seconds(5));
  a.reset();
  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("looper"), 0);
  EXPECT_EQ(store.changesByPlugin(), (std::map<std::string, int64_t>{}));
}

TEST_F(PluginIsolationTest, CpuLimitKillsASpinningPlugin) {
  ws_.addPlugin("looper.so");
  ws_.writeConfig({{"plugins.enabled", "looper"},
                   {"plugins.timeout_s", "30"},
                   {"plugin.looper.cpu_limit_s", "1"}});
  auto a = createAgent();
  ASSERT_NE(a, nullptr);
  const auto o = runOne(*a, "looper");
  EXPECT_EQ(o.status.code(), Code::Cancelled);
  EXPECT_THAT(o.status.message(), HasSubstr("exceeded its CPU-time limit (1 s) and was killed"));
  EXPECT_LT(o.duration, seconds(10));
  a.reset();
  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("looper"), 0);
}

TEST_F(PluginIsolationTest, MemoryLimitStopsAnUnboundedAllocator) {
  if (kAddressSanitizer) {
    GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space, so the agent does "
                    "not apply RLIMIT_AS to sanitized workers";
  }
  ws_.addPlugin("hog.so");
  ws_.addPlugin("good_a.so");
  ws_.writeConfig({{"plugins.enabled", "hog,good-a"}, {"plugin.hog.memory_limit_mb", "256"}});
  auto a = createAgent();
  ASSERT_NE(a, nullptr);
  const auto outcomes = a->runOnce();
  ASSERT_EQ(outcomes.size(), 2u);
  const auto& hog = outcomes[0];
  EXPECT_EQ(hog.plugin, "hog");
  EXPECT_FALSE(hog.status.isOk());
  // Either the allocation fails cleanly (std::bad_alloc caught at the boundary) or the worker
  // dies trying; never the 1 GiB give-up message.
  EXPECT_THAT(hog.status.message(), ::testing::AnyOf(HasSubstr("out of memory"),
                                                     HasSubstr("crashed"), HasSubstr("aborted")));
  EXPECT_THAT(hog.status.message(), ::testing::Not(HasSubstr("without hitting a memory limit")));
  EXPECT_TRUE(outcomes[1].status.isOk()) << outcomes[1].status.message();
  a.reset();
  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("hog"), 0);
  EXPECT_EQ(store.rows("good-a"), 5);
}

// A plugin sees the configured region; its rows carry it.
TEST_F(PluginIsolationTest, PluginsSeeTheOfficeRegion) {
  ws_.addPlugin("good_b.so");
  ws_.writeConfig({{"plugins.enabled", "good-b"}, {"agent.region", "MA-11"}});
  auto a = createAgent();
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(runOne(*a, "good-b").status.isOk());
  a.reset();
  StoreView store(ws_.storePath());
  auto changes = store.store().changesAfter(0, 100);
  ASSERT_TRUE(changes.isOk());
  ASSERT_EQ(changes->size(), 3u);
  for (const auto& c : *changes) {
    EXPECT_EQ(c.op, 'I');
    ASSERT_TRUE(c.row.has_value());
    EXPECT_THAT(*c.row, HasSubstr("\"MA-11\""));
  }
}

// The scheduler (daemon mode, in-process): runs at start, and again on demand.
TEST_F(PluginIsolationTest, SchedulerRunsAtStartAndOnDemand) {
  ws_.addPlugin("good_a.so");
  ws_.writeConfig({{"plugins.enabled", "good-a"}, {"plugin.good-a.interval_s", "3600"}});
  auto a = createAgent();
  ASSERT_NE(a, nullptr);
  const auto runs = [&] {
    StoreView store(ws_.storePath());
    return store.state("good-a", "runs").value_or("0");
  };
  a->start();
  ASSERT_TRUE(waitFor([&] { return runs() == "1"; }, seconds(20)));
  a->runNow("good-a");
  ASSERT_TRUE(waitFor([&] { return runs() == "2"; }, seconds(20)));
  a->stop();
  EXPECT_TRUE(a->lastOutcomes().at("good-a").status.isOk());
}

}  // namespace
}  // namespace exportsync::testing
