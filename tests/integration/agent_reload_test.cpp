// SIGHUP (systemctl reload) on the real exportsync-agent daemon: a changed plugin list and
// interval take effect without a restart; a bad file, or a change that needs a restart, is
// refused with the key named while the agent keeps running and collecting on its old
// configuration; a collect in progress is never cut short by a reload. And the hub's reload:
// log.level at once, other changed keys named for the next restart, a bad file refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>

#include "agent_test_support.hpp"
#include "sync/sync_test_support.hpp"

namespace exportsync::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class AgentReloadTest : public ::testing::Test {
 protected:
  void SetUp() override { disableCoreDumps(); }
  void TearDown() override {
    if (agent_ && !agent_->exited()) {
      agent_->signal(SIGTERM);
      EXPECT_TRUE(agent_->wait(seconds(10))) << agent_->err();
    }
  }

  // The workspace's base config plus `keys`; the status API on any free loopback port, so that
  // tests running side by side do not compete for one.
  void writeConfig(std::map<std::string, std::string> keys) {
    keys.emplace("status.listen", "127.0.0.1:0");
    ws_.writeConfig(keys);
  }

  void startAgent() {
    agent_ = ws_.start({"--config", ws_.configPath()});
    ASSERT_FALSE(agent_->wait(milliseconds(200))) << "the agent exited:\n" << agent_->err();
  }

  // How many collect runs of `plugin` committed (the test plugins count them in their state);
  // 0 while the agent has not created its store yet (or is creating it).
  int64_t runs(const std::string& plugin) {
    auto store = agent::Store::open(ws_.storePath(), /*migrate=*/false);
    if (!store) {
      return 0;
    }
    auto n = (*store)->stateGet(plugin, "runs");
    return n && n->has_value() ? std::stoll(**n) : 0;
  }

  bool waitForRuns(const std::string& plugin, int64_t at_least, milliseconds timeout) {
    return waitFor([&] { return agent_->exited() || runs(plugin) >= at_least; }, timeout) &&
           !agent_->exited();
  }

  bool waitForLog(const std::string& needle, milliseconds timeout = seconds(20)) {
    return waitFor(
        [&] { return agent_->exited() || agent_->err().find(needle) != std::string::npos; },
        timeout);
  }

  Workspace ws_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(AgentReloadTest, SighupAppliesANewPluginListAndIntervalWithoutARestart) {
  ws_.addPlugin("good_a.so");
  ws_.addPlugin("good_b.so");
  writeConfig({{"plugins.enabled", "good-a"}, {"plugin.good-a.interval_s", "3600"}});
  startAgent();
  ASSERT_TRUE(waitForRuns("good-a", 1, seconds(30))) << agent_->err();
  const pid_t pid = agent_->pid();

  // good-b joins; good-a's interval drops from an hour to a second.
  writeConfig({{"plugins.enabled", "good-a,good-b"}, {"plugin.good-a.interval_s", "1"}});
  ASSERT_TRUE(agent_->signal(SIGHUP));
  ASSERT_TRUE(waitForLog("configuration reloaded")) << agent_->err();
  EXPECT_THAT(agent_->err(),
              HasSubstr("reloading " + ws_.configPath() + ": plugins.enabled=good-a,good-b"));
  EXPECT_THAT(agent_->err(), HasSubstr("plugin.good-a settings (interval 1 s)"));

  // The new plugin runs at once, and good-a every second: three more runs within seconds,
  // where the old interval allowed none for an hour.
  ASSERT_TRUE(waitForRuns("good-b", 1, seconds(30))) << agent_->err();
  ASSERT_TRUE(waitForRuns("good-a", 4, seconds(30))) << agent_->err();
  EXPECT_EQ(agent_->pid(), pid);
  EXPECT_FALSE(agent_->exited());
  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("good-a"), 5);
  EXPECT_EQ(store.rows("good-b"), 3);

  // And back: good-b leaves the schedule.
  writeConfig({{"plugins.enabled", "good-a"}, {"plugin.good-a.interval_s", "1"}});
  const int64_t b_runs = runs("good-b");
  ASSERT_TRUE(agent_->signal(SIGHUP));
  ASSERT_TRUE(waitForLog("reloading " + ws_.configPath() + ": plugins.enabled=good-a\n"))
      << agent_->err();
  const int64_t a_runs = runs("good-a");
  ASSERT_TRUE(waitForRuns("good-a", a_runs + 3, seconds(30))) << agent_->err();
  EXPECT_EQ(runs("good-b"), b_runs);
}

TEST_F(AgentReloadTest, SighupWithABadFileIsRefusedNamingTheKeyAndTheAgentKeepsCollecting) {
  ws_.addPlugin("good_a.so");
  ws_.addPlugin("good_b.so");
  writeConfig({{"plugins.enabled", "good-a"}, {"plugin.good-a.interval_s", "1"}});
  startAgent();
  ASSERT_TRUE(waitForRuns("good-a", 1, seconds(30))) << agent_->err();

  // A file with a good change (good-b) and a bad value: nothing of it is applied.
  writeConfig({{"plugins.enabled", "good-a,good-b"}, {"plugin.good-a.interval_s", "0"}});
  ASSERT_TRUE(agent_->signal(SIGHUP));
  ASSERT_TRUE(waitForLog("configuration not reloaded")) << agent_->err();
  const auto refusal = linesWith(agent_->err(), "configuration not reloaded");
  ASSERT_EQ(refusal.size(), 1u) << agent_->err();
  EXPECT_THAT(refusal[0], HasSubstr("still running on the previous one"));
  EXPECT_THAT(refusal[0], HasSubstr(ws_.configPath() + " key 'plugin.good-a.interval_s'"));
  EXPECT_THAT(refusal[0], HasSubstr("out of range"));

  // Still running, still collecting every second on the old configuration; good-b never runs.
  const int64_t before = runs("good-a");
  ASSERT_TRUE(waitForRuns("good-a", before + 2, seconds(30))) << agent_->err();
  EXPECT_FALSE(agent_->exited());
  EXPECT_EQ(runs("good-b"), 0);
  EXPECT_THAT(agent_->err(), Not(HasSubstr("configuration reloaded")));

  // A key that needs a restart is refused too, with the key named.
  writeConfig({{"plugins.enabled", "good-a,good-b"},
               {"plugin.good-a.interval_s", "1"},
               {"agent.region", "MA-07"}});
  ASSERT_TRUE(agent_->signal(SIGHUP));
  ASSERT_TRUE(waitForLog("key 'agent.region': changed from 'MA-06' to 'MA-07'")) << agent_->err();
  EXPECT_THAT(agent_->err(), HasSubstr("needs a restart"));
  EXPECT_EQ(runs("good-b"), 0);

  // Fixed: the next SIGHUP applies it.
  writeConfig({{"plugins.enabled", "good-a,good-b"}, {"plugin.good-a.interval_s", "1"}});
  ASSERT_TRUE(agent_->signal(SIGHUP));
  ASSERT_TRUE(waitForRuns("good-b", 1, seconds(30))) << agent_->err();
  EXPECT_THAT(agent_->err(), HasSubstr("configuration reloaded"));
}

TEST_F(AgentReloadTest, SighupNeverCutsARunningCollectShort) {
  // looper writes 3 rows, then spins (ignoring cancellation) until its 3 s timeout ends the
  // run. A reload that arrives mid-run waits for that end; it does not cancel the run.
  ws_.addPlugin("looper.so");
  ws_.addPlugin("good_a.so");
  writeConfig({{"plugins.enabled", "looper"}, {"plugin.looper.timeout_s", "3"}});
  startAgent();
  ASSERT_TRUE(waitForLog("looper: looping")) << agent_->err();
  const auto signalled = Clock::now();
  writeConfig({{"plugins.enabled", "good-a"}});
  ASSERT_TRUE(agent_->signal(SIGHUP));
  ASSERT_TRUE(waitForLog("configuration reloaded")) << agent_->err();
  const auto applied = Clock::now();
  ASSERT_TRUE(waitForRuns("good-a", 1, seconds(30))) << agent_->err();

  const std::string err = agent_->err();
  EXPECT_THAT(err, HasSubstr("reloading " + ws_.configPath()));
  // Applied only once the looper's run had ended by its own timeout, well after the signal.
  const auto run_end = err.find("plugin 'looper' run");
  ASSERT_NE(run_end, std::string::npos) << err;
  EXPECT_LT(run_end, err.find("configuration reloaded")) << err;
  EXPECT_GT(applied - signalled, milliseconds(1000));
  EXPECT_THAT(err, Not(HasSubstr("stopped by the agent's shutdown")));
  EXPECT_FALSE(agent_->exited());
}

TEST(HubReloadTest, SighupAppliesTheLogLevelNamesRestartKeysAndRefusesABadFile) {
  synctest::disableCoreDumps();
  synctest::TempDir dir;
  const std::string cfg = dir.path() + "/hub.properties";
  const std::string port_file = dir.path() + "/port";
  const auto write = [&](const std::string& extra) {
    synctest::writeFile(cfg, "hub.listen = 127.0.0.1:0\nhub.port_file = " + port_file +
                                 "\nhub.data_dir = " + dir.sub("data") + "\n" + extra);
  };
  write("log.level = information\nhub.threads = 8\n");
  synctest::Process hub(synctest::kHubBinary, {"--config", cfg}, dir.path() + "/hub");
  ASSERT_TRUE(synctest::waitUntil(
      [&] { return !hub.running() || !synctest::readFile(port_file).empty(); }, seconds(30)))
      << hub.err();
  ASSERT_TRUE(hub.running()) << hub.err();
  const auto port = static_cast<uint16_t>(std::stoi(synctest::readFile(port_file)));
  const auto logged = [&](const std::string& needle) {
    return synctest::waitUntil(
               [&] { return !hub.running() || synctest::contains(hub.err(), needle); },
               seconds(20)) &&
           hub.running();
  };

  write("log.level = debug\nhub.threads = 4\n");
  ASSERT_EQ(::kill(hub.pid(), SIGHUP), 0);
  ASSERT_TRUE(logged("SIGHUP: configuration reloaded from " + cfg)) << hub.err();
  EXPECT_THAT(hub.err(), HasSubstr("log.level debug; changed keys that take effect at the next "
                                   "restart (systemctl restart exportsync-hub): hub.threads"));

  write("log.level = debug\nhub.threads = many\n");
  ASSERT_EQ(::kill(hub.pid(), SIGHUP), 0);
  ASSERT_TRUE(logged("configuration not reloaded")) << hub.err();
  const auto refusal = linesWith(hub.err(), "configuration not reloaded");
  ASSERT_EQ(refusal.size(), 1u) << hub.err();
  EXPECT_THAT(refusal[0], HasSubstr("still running on the previous one"));
  EXPECT_THAT(refusal[0], HasSubstr("'hub.threads'"));
  EXPECT_EQ(synctest::http(port, "GET", "/api/v1/health").status, 200);
  EXPECT_TRUE(hub.terminate());
  EXPECT_EQ(hub.exitCode(), 0) << hub.err();
}

}  // namespace
}  // namespace exportsync::testing
