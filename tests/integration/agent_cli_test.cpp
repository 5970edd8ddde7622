// The real exportsync-agent binary, end to end: configuration errors, --version,
// --list-plugins with every kind of bad plugin file, --once exit codes with crashing, hanging
// and throwing plugins next to good ones, and the daemon's clean stop on SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "agent_test_support.hpp"

namespace exportsync::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr int kExitConfig = 78;

class AgentCliTest : public ::testing::Test {
 protected:
  void SetUp() override { disableCoreDumps(); }
  Workspace ws_;
};

// --- start-up ---------------------------------------------------------------------------------

TEST_F(AgentCliTest, VersionPrintsVersionAndAbi) {
  const auto r = ws_.run({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("exportsync-agent "));
  EXPECT_THAT(r.out, HasSubstr("(plugin ABI 1.0)"));
}

TEST_F(AgentCliTest, MissingConfigOptionExitsWithConfigError) {
  const auto r = ws_.run({});
  EXPECT_EQ(r.exit_code, kExitConfig);
  EXPECT_THAT(r.err, HasSubstr("--config FILE is required"));
}

TEST_F(AgentCliTest, MissingConfigFileExitsWithConfigErrorNamingIt) {
  const auto r = ws_.run({"--config", ws_.root() + "/nope.properties"});
  EXPECT_EQ(r.exit_code, kExitConfig);
  EXPECT_THAT(r.err, AllOf(HasSubstr("nope.properties"), HasSubstr("does not exist")));
}

struct BadConfig {
  const char* name;
  std::map<std::string, std::string> keys;  // applied over the workspace's good config
  const char* key;                          // the key the message must name
  const char* problem;                      // and a fragment saying what is wrong
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

class AgentConfigErrorTest : public AgentCliTest,
                             public ::testing::WithParamInterface<BadConfig> {};

TEST_P(AgentConfigErrorTest, ExitsWith78NamingTheKeyOnOneLine) {
  ws_.writeConfig(GetParam().keys);
  const auto r = ws_.runWithConfig({"--once"});
  EXPECT_EQ(r.exit_code, kExitConfig) << r.out << r.err;
  ASSERT_THAT(lines(r.err), SizeIs(1)) << r.err;
  EXPECT_THAT(r.err, AllOf(HasSubstr("exportsync-agent: config: " + ws_.configPath()),
                           HasSubstr(std::string("key '") + GetParam().key + "'"),
                           HasSubstr(GetParam().problem)));
  // Nothing started: no store was created.
  EXPECT_FALSE(fs::exists(ws_.storePath()));
}

INSTANTIATE_TEST_SUITE_P(
    Keys, AgentConfigErrorTest,
    ::testing::Values(
        BadConfig{"MissingRegion", {{"agent.region", ""}}, "agent.region", "is missing"},
        BadConfig{"BadRegion",
                  {{"agent.region", "MA-13"}},
                  "agent.region",
                  "'MA-13' is not a region code"},
        BadConfig{"UnknownKey",
                  {{"plugins.enabeld", "good-a"}},
                  "plugins.enabeld",
                  "is not a known setting"},
        BadConfig{"MissingPluginDir",
                  {{"plugins.dir", "/nonexistent/es-plugins"}},
                  "plugins.dir",
                  "'/nonexistent/es-plugins' is not an existing folder"},
        BadConfig{"NonIntegerTimeout",
                  {{"plugins.timeout_s", "ten"}},
                  "plugins.timeout_s",
                  "'ten' is not an integer"},
        BadConfig{"BadPluginTimeout",
                  {{"plugins.enabled", "good-a"}, {"plugin.good-a.timeout_s", "0"}},
                  "plugin.good-a.timeout_s",
                  "out of range"}),
    [](const ::testing::TestParamInfo<BadConfig>& p) { return std::string(p.param.name); });

// --- --list-plugins ---------------------------------------------------------------------------

// Every kind of bad file next to good ones: each is listed, refused with a one-line reason that
// names the file, and the good ones load.
TEST_F(AgentCliTest, ListPluginsShowsEveryFileLoadedOrRefusedWithReason) {
  for (const char* f :
       {"good_a.so", "good_b.so", "bad_abi.so", "short_descriptor.so", "no_entry.so",
        "notaplugin.so", "declare_fails.so", "dup_one.so", "dup_two.so"}) {
    ws_.addPlugin(f);
  }
  ws_.writeConfig({{"plugins.enabled", "good-a, dup, ghost"}});
  const auto r = ws_.runWithConfig({"--list-plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  // The one line about `file`: "[path]" ends a loaded plugin's line, "plugin file 'path'"
  // starts a refusal.
  const auto only = [&](const std::string& file) {
    auto found = linesWith(r.out, "[" + ws_.pluginPath(file) + "]");
    for (auto& line : linesWith(r.out, "plugin file '" + ws_.pluginPath(file) + "'")) {
      if (line.rfind("ghost ", 0) != 0) {  // the missing plugin's line quotes a refusal
        found.push_back(std::move(line));
      }
    }
    EXPECT_THAT(found, SizeIs(1)) << file << " in:\n" << r.out;
    return found.empty() ? std::string() : found[0];
  };
  EXPECT_THAT(only("good_a.so"),
              AllOf(HasSubstr("good-a 1.0.0  loaded, enabled"), HasSubstr("rows(v1, 3 columns)")));
  EXPECT_THAT(only("good_b.so"), HasSubstr("good-b 2.1.0  loaded, not enabled"));
  EXPECT_THAT(only("dup_one.so"), HasSubstr("dup 0.1  loaded, enabled"));

  const std::string refused = "REFUSED: plugin file '";
  EXPECT_THAT(only("bad_abi.so"),
              AllOf(HasSubstr(refused + ws_.pluginPath("bad_abi.so") + "' refused: "),
                    HasSubstr("built for ABI 99.0"), HasSubstr("rebuild it against SDK 1.x")));
  EXPECT_THAT(only("short_descriptor.so"),
              AllOf(HasSubstr(refused), HasSubstr("descriptor is 16 bytes")));
  EXPECT_THAT(only("no_entry.so"),
              AllOf(HasSubstr(refused), HasSubstr("no entry symbol 'exportsync_plugin_entry'")));
  EXPECT_THAT(only("notaplugin.so"), AllOf(HasSubstr(refused), HasSubstr("not a shared library")));
  EXPECT_THAT(only("declare_fails.so"), AllOf(HasSubstr(refused), HasSubstr("declare() failed"),
                                              HasSubstr("declare-fails: cannot build the schema")));
  EXPECT_THAT(only("dup_two.so"),
              AllOf(HasSubstr(refused), HasSubstr("plugin name 'dup' is already used by '" +
                                                  ws_.pluginPath("dup_one.so") + "'")));
  // The enabled plugin no file provides.
  EXPECT_THAT(linesWith(r.out, "ghost"),
              ::testing::ElementsAre(AllOf(HasSubstr("REFUSED: plugin 'ghost' is enabled"),
                                           HasSubstr("no file in '" + ws_.pluginDir()),
                                           HasSubstr("(4 file(s) there were refused; first: "
                                                     "plugin file '" +
                                                     ws_.pluginPath("bad_abi.so")))));
  // One line per file plus the missing one.
  EXPECT_THAT(lines(r.out), SizeIs(10)) << r.out;
}

TEST_F(AgentCliTest, WorldWritablePluginFileIsRefused) {
  ws_.addPlugin("good_a.so");
  fs::permissions(ws_.addPlugin("good_b.so"), fs::perms(0777));
  ws_.writeConfig({{"plugins.enabled", "good-a"}});
  const auto r = ws_.runWithConfig({"--list-plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(linesWith(r.out, "good_a.so"), ::testing::Each(HasSubstr("loaded, enabled")));
  EXPECT_THAT(linesWith(r.out, "good_b.so"),
              ::testing::ElementsAre(AllOf(
                  HasSubstr("REFUSED: plugin file '" + ws_.pluginPath("good_b.so") + "' refused"),
                  HasSubstr("writable by every user (mode 0777); run chmod o-w"))));
}

// Group write is trusted only for root's group and the agent's own; the owner must be root or
// the agent's user. (chown needs root: the test skips itself otherwise.)
TEST_F(AgentCliTest, PluginFilesOtherUsersMayWriteAreRefused) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "chown to another user needs root";
  }
  ws_.addPlugin("good_a.so");
  const auto group_file = ws_.addPlugin("good_b.so");
  fs::permissions(group_file, fs::perms(0775));
  ASSERT_EQ(::chown(group_file.c_str(), 0, 4242), 0);
  const auto own_group = ws_.addPlugin("dup_one.so");
  fs::permissions(own_group, fs::perms(0775));  // group root: trusted
  const auto other_owner = ws_.addPlugin("dup_two.so");
  ASSERT_EQ(::chown(other_owner.c_str(), 4242, 0), 0);
  ws_.writeConfig({{"plugins.enabled", "good-a"}});
  const auto r = ws_.runWithConfig({"--list-plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(linesWith(r.out, "good_a.so"), ::testing::Each(HasSubstr("loaded, enabled")));
  EXPECT_THAT(linesWith(r.out, "good_b.so"),
              ::testing::ElementsAre(HasSubstr(
                  "refused: it is writable by group 4242 (mode 0775), which is neither root's "
                  "nor the agent's; run chmod g-w on it")));
  EXPECT_THAT(linesWith(r.out, "dup_one.so"), ::testing::Each(Not(HasSubstr("REFUSED"))));
  EXPECT_THAT(linesWith(r.out, "dup_two.so"),
              ::testing::ElementsAre(
                  HasSubstr("refused: it belongs to user 4242, who is neither root nor the "
                            "agent's user; run chown root on it")));
}

TEST_F(AgentCliTest, WorldWritablePluginFolderRefusesEveryFile) {
  ws_.addPlugin("good_a.so");
  fs::permissions(ws_.pluginDir(), fs::perms(0777));
  ws_.writeConfig({{"plugins.enabled", "good-a"}});
  const auto r = ws_.runWithConfig({"--once"});
  fs::permissions(ws_.pluginDir(), fs::perms(0755));
  EXPECT_EQ(r.exit_code, 1);
  // good-a is reported as not runnable, with the refusal of its file.
  EXPECT_THAT(linesWith(r.out, "good_a.so"),
              ::testing::ElementsAre(
                  AllOf(HasSubstr("plugin file '" + ws_.pluginPath("good_a.so") +
                                  "' refused: it is in folder '" + ws_.pluginDir() + "'"),
                        HasSubstr("writable by every user (mode 0777)"))))
      << r.out;
}

// --- --once -----------------------------------------------------------------------------------

TEST_F(AgentCliTest, OnceStoresRowsAndExitsZeroDespiteRefusedFiles) {
  for (const char* f : {"good_a.so", "good_b.so", "bad_abi.so", "notaplugin.so", "no_entry.so"}) {
    ws_.addPlugin(f);
  }
  ws_.writeConfig({{"plugins.enabled", "good-a,good-b"}, {"plugin.good-a.rows", "7"}});
  const auto r = ws_.runWithConfig({"--once"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok      good-a: 7 upserted, 0 removed, 0 rejected"));
  EXPECT_THAT(r.out, HasSubstr("ok      good-b: 3 upserted"));
  EXPECT_THAT(r.out, HasSubstr("good-a/rows: 7 rows"));
  EXPECT_THAT(r.out, HasSubstr("change log: 10 changes"));
  // The refused files are reported in the log, each with its name.
  EXPECT_THAT(linesWith(r.err, "refused"), SizeIs(3)) << r.err;

  StoreView store(ws_.storePath());
  ASSERT_TRUE(store.isOpen());
  EXPECT_EQ(store.rows("good-a"), 7);
  EXPECT_EQ(store.rows("good-b"), 3);
  EXPECT_EQ(store.state("good-a", "runs"), "1");
  EXPECT_EQ(store.changesByPlugin(),
            (std::map<std::string, int64_t>{{"good-a", 7}, {"good-b", 3}}));
}

TEST_F(AgentCliTest, OnceWithAnEnabledRefusedPluginExitsNonZero) {
  ws_.addPlugin("good_a.so");
  ws_.addPlugin("declare_fails.so");
  ws_.writeConfig({{"plugins.enabled", "good-a,declare-fails"}});
  const auto r = ws_.runWithConfig({"--once"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok      good-a: 5 upserted"));
  // Reported by its reason, naming the file, not as a missing plugin.
  EXPECT_THAT(linesWith(r.out, "declare-fails"),
              ::testing::ElementsAre(AllOf(
                  HasSubstr("skipped declare-fails: plugin file '" +
                            ws_.pluginPath("declare_fails.so") + "' refused: declare() failed"),
                  HasSubstr("declare-fails: cannot build the schema"), Not(HasSubstr("no file")))))
      << r.out;
  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("good-a"), 5);
}

// The core promise: crashing, aborting, throwing and hanging plugins are contained,
// each failure is reported with its reason, their runs leave no rows and no change-log
// entries, and the good plugin's rows are stored.
TEST_F(AgentCliTest, OnceContainsEveryMisbehavingPluginAndKeepsTheGoodOnesRows) {
  for (const char* f : {"good_a.so", "thrower.so", "aborter.so", "crasher.so", "looper.so"}) {
    ws_.addPlugin(f);
  }
  // good-a last, so it runs after every failure.
  ws_.writeConfig({{"plugins.enabled", "thrower,aborter,crasher,looper,good-a"},
                   {"plugin.looper.timeout_s", "1"}});
  const auto r = ws_.runWithConfig({"--once"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;

  EXPECT_THAT(r.out, HasSubstr("FAILED  thrower: plugin 'thrower' run: collect() failed: "
                               "unhandled exception: thrower: deliberate failure after 3 rows"));
  EXPECT_THAT(r.out, HasSubstr("FAILED  aborter: plugin 'aborter' run: aborted (signal 6"));
  if (kAddressSanitizer) {
    // AddressSanitizer's SEGV handler reports the crash and exits with code 1.
    EXPECT_THAT(r.out, HasSubstr("FAILED  crasher: plugin 'crasher' run: plugin worker exited"));
  } else {
    EXPECT_THAT(r.out, HasSubstr("FAILED  crasher: plugin 'crasher' run: crashed (signal 11"));
  }
  EXPECT_THAT(r.out, HasSubstr("FAILED  looper: plugin 'looper' run: timed out after 1 s and "
                               "was killed"));
  EXPECT_THAT(r.out, HasSubstr("ok      good-a: 5 upserted"));

  StoreView store(ws_.storePath());
  ASSERT_TRUE(store.isOpen());
  EXPECT_EQ(store.rows("good-a"), 5);
  for (const char* bad : {"thrower", "aborter", "crasher", "looper"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(store.rows(bad), 0);  // the table exists (schema applied at scan), empty
    EXPECT_EQ(store.state(bad, "runs"), std::nullopt);
    const auto h = store.health(bad);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->last_result, "failed");
    EXPECT_EQ(h->consecutive_failures, 1);
    EXPECT_FALSE(h->quarantined);
    EXPECT_FALSE(h->last_error.empty());
  }
  EXPECT_EQ(store.changesByPlugin(), (std::map<std::string, int64_t>{{"good-a", 5}}));
  // The looper was killed at its 1 s limit, not at the 600 s default.
  const auto looper = store.health("looper");
  ASSERT_TRUE(looper.has_value());
  EXPECT_GE(looper->last_duration_ms, 900);
  EXPECT_LT(looper->last_duration_ms, 5000);
}

// --- daemon -----------------------------------------------------------------------------------

TEST_F(AgentCliTest, DaemonCollectsThenStopsCleanlyOnSigterm) {
  ws_.addPlugin("good_a.so");
  ws_.writeConfig({{"plugins.enabled", "good-a"}, {"plugin.good-a.rows", "4"}});
  auto agent = ws_.start({"--config", ws_.configPath()});

  // The scheduler runs good-a at start: wait for its rows.
  const bool collected = waitFor(
      [&] {
        if (!fs::exists(ws_.storePath()) || agent->wait(milliseconds(0))) {
          return agent->exited();
        }
        auto s = agent::Store::open(ws_.storePath(), /*migrate=*/false);
        if (!s) {
          return false;
        }
        auto d = (*s)->dataset("good-a", "rows");
        if (!d || !d->has_value()) {
          return false;
        }
        auto n = (*s)->rowCount(**d);
        return n && *n == 4;
      },
      seconds(20));
  ASSERT_TRUE(collected) << agent->err();
  ASSERT_FALSE(agent->exited()) << "the daemon exited on its own with " << agent->exitCode()
                                << ":\n"
                                << agent->err();

  const auto signalled = Clock::now();
  ASSERT_TRUE(agent->signal(SIGTERM));
  ASSERT_TRUE(agent->wait(seconds(5))) << "no exit within 5 s of SIGTERM:\n" << agent->err();
  EXPECT_LT(Clock::now() - signalled, seconds(5));
  EXPECT_EQ(agent->exitCode(), 0) << agent->err();
  EXPECT_THAT(agent->err(), HasSubstr("exportsync-agent stopped"));
  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("good-a"), 4);
}

// SIGTERM while a plugin that ignores cancellation is mid-run: the agent kills the worker after
// its grace period and still exits 0 within 5 s, and the interrupted run leaves nothing.
TEST_F(AgentCliTest, DaemonStopsWithin5sWhileAPluginHangsAndRollsItBack) {
  ws_.addPlugin("looper.so");
  ws_.writeConfig({{"plugins.enabled", "looper"}});
  auto agent = ws_.start({"--config", ws_.configPath()});
  ASSERT_TRUE(waitFor(
      [&] {
        return agent->wait(milliseconds(0)) ||
               agent->err().find("looper: looping") != std::string::npos;
      },
      seconds(20)))
      << agent->err();
  ASSERT_FALSE(agent->exited()) << agent->err();

  const auto signalled = Clock::now();
  ASSERT_TRUE(agent->signal(SIGTERM));
  ASSERT_TRUE(agent->wait(seconds(5))) << "no exit within 5 s of SIGTERM:\n" << agent->err();
  EXPECT_LT(Clock::now() - signalled, seconds(5));
  EXPECT_EQ(agent->exitCode(), 0) << agent->err();
  EXPECT_THAT(agent->err(), HasSubstr("stopped by the agent's shutdown"));

  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("looper"), 0);
  EXPECT_EQ(store.changesByPlugin(), (std::map<std::string, int64_t>{}));
  // A shutdown is not the plugin's fault: it does not count toward quarantine.
  const auto h = store.health("looper");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->consecutive_failures, 0);
  EXPECT_EQ(h->last_result, "cancelled");
}

// A cooperative plugin sees the cancellation flag and stops at once: the agent exits quickly.
TEST_F(AgentCliTest, DaemonStopCancelsACooperativePluginPromptly) {
  ws_.addPlugin("looper.so");
  ws_.writeConfig({{"plugins.enabled", "looper"}, {"plugin.looper.cooperative", "true"}});
  auto agent = ws_.start({"--config", ws_.configPath()});
  ASSERT_TRUE(waitFor(
      [&] {
        return agent->wait(milliseconds(0)) ||
               agent->err().find("looper: looping") != std::string::npos;
      },
      seconds(20)))
      << agent->err();
  const auto signalled = Clock::now();
  ASSERT_TRUE(agent->signal(SIGTERM));
  ASSERT_TRUE(agent->wait(seconds(5))) << agent->err();
  // Well inside the 3 s grace after which an uncooperative worker is killed.
  EXPECT_LT(Clock::now() - signalled, milliseconds(2500));
  EXPECT_EQ(agent->exitCode(), 0) << agent->err();
  EXPECT_THAT(agent->err(), Not(HasSubstr("quarantined")));
  StoreView store(ws_.storePath());
  EXPECT_EQ(store.rows("looper"), 0);
  EXPECT_EQ(store.changesByPlugin(), (std::map<std::string, int64_t>{}));
}

}  // namespace
}  // namespace exportsync::testing
