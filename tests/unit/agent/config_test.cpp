// agent.properties loading: every refusal names the key, the value and the fix; a good file
// gives the values, per-plugin overrides and the plugin's own keys.
#include "exportsync/agent/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace exportsync::agent {
namespace {

using testing::TempDir;

class ConfigTest : public ::testing::Test {
 protected:
  // A config that loads; tests replace or append lines.
  std::string good() const {
    return "agent.region = MA-06\n"
           "agent.state_dir = " +
           dir_.path() +
           "\n"
           "plugins.dir = " +
           dir_.path() +
           "\n"
           "plugins.enabled = example, cooperatives\n";
  }
  std::string write(const std::string& text) {
    const std::string path = dir_.file("agent-" + std::to_string(++n_) + ".properties");
    std::ofstream(path) << text;
    return path;
  }
  Result<AgentConfig> load(const std::string& text) { return loadAgentConfig(write(text)); }
  // Loads `text`, expects a config error, returns its message.
  std::string error(const std::string& text) {
    auto c = load(text);
    EXPECT_FALSE(c.isOk()) << "accepted:\n" << text;
    if (c.isOk()) {
      return {};
    }
    EXPECT_EQ(c.status().code(), Code::Config);
    return c.status().message();
  }
  static std::string without(std::string text, const std::string& key) {
    const auto at = text.find(key);
    if (at != std::string::npos) {
      text.erase(at, text.find('\n', at) - at + 1);
    }
    return text;
  }

  TempDir dir_;
  int n_ = 0;
};

#define EXPECT_HAS(haystack, needle)                               \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' lacks '" << (needle) << "'"

TEST_F(ConfigTest, GoodConfigGivesItsValues) {
  auto c = load(good() +
                "plugins.max_failures = 5\n"
                "plugins.timeout_s = 120\n"
                "plugins.memory_limit_mb = 256\n"
                "plugins.cpu_limit_s = 60\n"
                "plugin.example.rows = 25\n"
                "plugin.example.inbox = /srv/inbox\n"
                "plugin.example.interval_s = 900\n"
                "plugin.example.timeout_s = 30\n"
                "plugin.example.memory_limit_mb = 64\n"
                "plugin.cooperatives.label = Coopérative Tifawin — huile d'argan\n"
                "plugin.disabled.rows = 1\n"
                "log.target = file\n"
                "log.file = " +
                dir_.file("agent.log") +
                "\n"
                "log.level = debug\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->region, "MA-06");
  EXPECT_EQ(c->state_dir, dir_.path());
  EXPECT_EQ(c->storePath(), dir_.path() + "/agent.db");
  EXPECT_EQ(c->plugin_dir, dir_.path());
  EXPECT_EQ(c->enabled, (std::vector<std::string>{"example", "cooperatives"}));
  EXPECT_EQ(c->max_failures, 5);
  EXPECT_EQ(c->log_target, "file");
  EXPECT_EQ(c->log_file, dir_.file("agent.log"));
  EXPECT_EQ(c->log_level, "debug");
  ASSERT_EQ(c->plugins.size(), 2u) << "one entry per enabled plugin only";

  const auto& ex = c->plugins.at("example");
  EXPECT_EQ(ex.name, "example");
  EXPECT_EQ(ex.interval, std::chrono::seconds(900));
  EXPECT_EQ(ex.timeout, std::chrono::seconds(30)) << "per-plugin override";
  EXPECT_EQ(ex.memory_limit_mb, 64) << "per-plugin override";
  EXPECT_EQ(ex.cpu_limit_s, 60) << "inherited from plugins.cpu_limit_s";
  EXPECT_EQ(ex.values.at("rows"), "25");
  EXPECT_EQ(ex.values.at("inbox"), "/srv/inbox");

  const auto& coop = c->plugins.at("cooperatives");
  EXPECT_EQ(coop.interval, std::chrono::seconds(3600)) << "default";
  EXPECT_EQ(coop.timeout, std::chrono::seconds(120)) << "inherited from plugins.timeout_s";
  EXPECT_EQ(coop.memory_limit_mb, 256);
  EXPECT_EQ(coop.values.at("label"), "Coopérative Tifawin — huile d'argan") << "UTF-8 kept";
  EXPECT_EQ(coop.values.count("rows"), 0u) << "another plugin's keys are not passed";
}

TEST_F(ConfigTest, DefaultsApplyWhenOptionalKeysAreAbsent) {
  auto c = load(good());
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->max_failures, 3);
  EXPECT_EQ(c->log_target, "console");
  EXPECT_EQ(c->log_level, "information");
  const auto& ex = c->plugins.at("example");
  EXPECT_EQ(ex.timeout, std::chrono::seconds(600));
  EXPECT_EQ(ex.memory_limit_mb, 1024);
  EXPECT_EQ(ex.cpu_limit_s, 0);
  EXPECT_TRUE(ex.values.empty());
}

TEST_F(ConfigTest, NoPluginsEnabledIsValid) {
  auto c = load(without(good(), "plugins.enabled"));
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->enabled.empty());
  EXPECT_TRUE(c->plugins.empty());
}

TEST_F(ConfigTest, ConfigHashFollowsThePluginSettings) {
  auto a = load(good() + "plugin.example.rows = 1\n");
  auto b = load(good() + "plugin.example.rows = 2\n");
  auto a2 = load(good() + "plugin.example.rows = 1\n");
  ASSERT_TRUE(a.isOk() && b.isOk() && a2.isOk());
  const auto ha = configHash(a->plugins.at("example"));
  EXPECT_EQ(ha.size(), 16u);
  EXPECT_NE(ha, configHash(b->plugins.at("example")));
  EXPECT_EQ(ha, configHash(a2->plugins.at("example")));
  // Key/value boundaries count: {ab=c} differs from {a=bc}.
  PluginConfig x;
  x.values = {{"ab", "c"}};
  PluginConfig y;
  y.values = {{"a", "bc"}};
  EXPECT_NE(configHash(x), configHash(y));
}

TEST_F(ConfigTest, MissingFileNamesIt) {
  auto c = loadAgentConfig(dir_.file("nope.properties"));
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), Code::Config);
  EXPECT_HAS(c.status().message(), dir_.file("nope.properties"));
  EXPECT_HAS(c.status().message(), "does not exist");
}

TEST_F(ConfigTest, MissingRegion) {
  const auto msg = error(without(good(), "agent.region"));
  EXPECT_HAS(msg, "key 'agent.region': is missing");
  EXPECT_HAS(msg, "MA-01 to MA-12");
}

TEST_F(ConfigTest, BadRegions) {
  for (const char* bad : {"MA-13", "MA-00", "ma-06", "MA-6", "MA-060", "FR-06", " "}) {
    const auto msg =
        error("agent.region = " + std::string(bad) + "\n" + without(good(), "agent.region"));
    EXPECT_HAS(msg, "key 'agent.region'");
  }
  EXPECT_HAS(error("agent.region = MA-13\n" + without(good(), "agent.region")),
             "'MA-13' is not a region code; write MA-01 to MA-12");
}

TEST_F(ConfigTest, RegionCodes) {
  EXPECT_TRUE(isValidRegion("MA-01"));
  EXPECT_TRUE(isValidRegion("MA-12"));
  EXPECT_FALSE(isValidRegion("MA-13"));
  EXPECT_FALSE(isValidRegion("MA-00"));
  EXPECT_FALSE(isValidRegion("MA-1a"));
  EXPECT_FALSE(isValidRegion(""));
}

TEST_F(ConfigTest, UnknownKeysInTheAgentSectionsAreTypos) {
  for (const char* key : {"agent.regoin", "plugins.enable", "plugins.timeout", "log.levle",
                          "agent.state_dir.extra"}) {
    const auto msg = error(good() + key + " = x\n");
    EXPECT_HAS(msg, std::string("key '") + key + "': is not a known setting");
  }
}

TEST_F(ConfigTest, KeysOutsideTheAgentSectionsAreLeftAlone) {
  // sync.* belongs to another part; plugin.* to the plugins.
  auto c = load(good() + "sync.hub_url = https://hub\nplugin.example.anything = 1\n");
  EXPECT_TRUE(c.isOk()) << c.status().message();
}

TEST_F(ConfigTest, StateDirMustExist) {
  EXPECT_HAS(error(without(good(), "agent.state_dir")), "key 'agent.state_dir': is missing");
  const auto msg =
      error(without(good(), "agent.state_dir") + "agent.state_dir = " + dir_.file("absent") + "\n");
  EXPECT_HAS(msg, "key 'agent.state_dir'");
  EXPECT_HAS(msg, "is not an existing folder");
  EXPECT_HAS(msg, dir_.file("absent"));
}

TEST_F(ConfigTest, PluginDirMustExist) {
  EXPECT_HAS(error(without(good(), "plugins.dir")), "key 'plugins.dir': is missing");
  EXPECT_HAS(error(without(good(), "plugins.dir") + "plugins.dir = /no/such/dir\n"),
             "key 'plugins.dir': '/no/such/dir' is not an existing folder");
}

TEST_F(ConfigTest, BadIntegers) {
  EXPECT_HAS(error(good() + "plugins.timeout_s = ten\n"),
             "key 'plugins.timeout_s': 'ten' is not an integer");
  EXPECT_HAS(error(good() + "plugins.max_failures = 3.5\n"),
             "key 'plugins.max_failures': '3.5' is not an integer");
  EXPECT_HAS(error(good() + "plugin.example.timeout_s = 1m\n"),
             "key 'plugin.example.timeout_s': '1m' is not an integer");
  EXPECT_HAS(error(good() + "plugin.example.interval_s =\n"),
             "key 'plugin.example.interval_s': '' is not an integer");
}

TEST_F(ConfigTest, OutOfRange) {
  EXPECT_HAS(error(good() + "plugins.max_failures = 0\n"),
             "key 'plugins.max_failures': 0 is out of range; write a whole number from 1 to 1000");
  EXPECT_HAS(error(good() + "plugins.timeout_s = 86401\n"), "key 'plugins.timeout_s': 86401");
  EXPECT_HAS(error(good() + "plugins.memory_limit_mb = -1\n"),
             "key 'plugins.memory_limit_mb': -1 is out of range");
  EXPECT_HAS(error(good() + "plugins.cpu_limit_s = 99999999999999999999\n"),
             "key 'plugins.cpu_limit_s'");
  EXPECT_HAS(error(good() + "plugin.cooperatives.interval_s = 0\n"),
             "key 'plugin.cooperatives.interval_s': 0 is out of range");
  EXPECT_HAS(error(good() + "plugin.example.memory_limit_mb = 2000000\n"),
             "key 'plugin.example.memory_limit_mb'");
}

TEST_F(ConfigTest, LogSettings) {
  EXPECT_HAS(error(good() + "log.target = file\n"),
             "key 'log.file': is missing; log.target is 'file'");
  EXPECT_HAS(error(good() + "log.target = stdout\n"),
             "key 'log.target': 'stdout' is not one of console, file, syslog");
  EXPECT_HAS(error(good() + "log.level = verbose\n"), "key 'log.level': 'verbose' is not a level");
  auto c = load(good() + "log.target = syslog\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->log_target, "syslog");
}

TEST_F(ConfigTest, EnabledPluginList) {
  EXPECT_HAS(error(without(good(), "plugins.enabled") + "plugins.enabled = example, example\n"),
             "key 'plugins.enabled': 'example' is listed twice");
  EXPECT_HAS(error(without(good(), "plugins.enabled") + "plugins.enabled = Example\n"),
             "key 'plugins.enabled': 'Example' is not a plugin name");
  EXPECT_HAS(error(without(good(), "plugins.enabled") + "plugins.enabled = a b\n"),
             "'a b' is not a plugin name");
  auto c =
      load(without(good(), "plugins.enabled") + "plugins.enabled = ,example,, csv-generic ,\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->enabled, (std::vector<std::string>{"example", "csv-generic"}));
}

TEST_F(ConfigTest, ErrorsNameTheFile) {
  const std::string path = write(good() + "log.level = loud\n");
  auto c = loadAgentConfig(path);
  ASSERT_FALSE(c.isOk());
  EXPECT_HAS(c.status().message(), "config: " + path + " key 'log.level'");
}

TEST_F(ConfigTest, IncludedRegionFileOverridesTheMainFile) {
  ::mkdir(dir_.file("regions").c_str(), 0700);
  std::ofstream(dir_.file("regions/MA-09.properties"))
      << "agent.region = MA-09\n"
         "agent.region_name_fr = Souss-Massa\n"
         "agent.region_name_ar = \xd8\xac\xd9\x87\xd8\xa9 \xd8\xb3\xd9\x88\xd8\xb3 "
         "\xd9\x85\xd8\xa7\xd8\xb3\xd8\xa9\n"
         "plugins.enabled = cooperatives, csv-generic\n"
         "plugin.cooperatives.inbox = /srv/inbox/coop\n";
  auto c = load(good() + "include = regions/MA-09.properties\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->region, "MA-09");
  EXPECT_EQ(c->region_name_fr, "Souss-Massa");
  EXPECT_EQ(c->region_name_ar, "جهة سوس ماسة");
  EXPECT_EQ(c->enabled, (std::vector<std::string>{"cooperatives", "csv-generic"}));
  ASSERT_EQ(c->plugins.count("cooperatives"), 1u);
  EXPECT_EQ(c->plugins.at("cooperatives").values.at("inbox"), "/srv/inbox/coop");
}

TEST_F(ConfigTest, IncludeErrorsNameTheFileThatHoldsTheKey) {
  EXPECT_HAS(error(good() + "include = regions/none.properties\n"),
             "regions/none.properties' does not exist; fix 'include' in ");
  const std::string overlay = dir_.file("bad-region.properties");
  std::ofstream(overlay) << "agent.region = MA-13\n";
  EXPECT_HAS(error(good() + "include = " + overlay + "\n"),
             "config: " + overlay + " key 'agent.region': 'MA-13' is not a region code");
  std::ofstream(dir_.file("nested.properties")) << "include = other.properties\n";
  EXPECT_HAS(error(good() + "include = nested.properties\n"),
             "included files may not include others");
}

// Every shipped region overlay loads over the shipped agent.properties' keys and names its
// region, both names and at least one of the regional plugins.
TEST_F(ConfigTest, EveryRegionOverlayLoads) {
  const std::set<std::string> known = {"artisanat", "cooperatives", "industrie", "csv-generic"};
  for (int n = 1; n <= 12; ++n) {
    char code[8];
    std::snprintf(code, sizeof code, "MA-%02d", n);
    const std::string overlay =
        std::string(ES_SOURCE_DIR) + "/config/regions/" + code + ".properties";
    auto c = load(good() + "include = " + overlay + "\n");
    ASSERT_TRUE(c.isOk()) << code << ": " << c.status().message();
    EXPECT_EQ(c->region, code);
    EXPECT_FALSE(c->region_name_fr.empty()) << code;
    EXPECT_NE(c->region_name_ar.find("جهة"), std::string::npos) << code;
    EXPECT_FALSE(c->enabled.empty()) << code;
    for (const auto& p : c->enabled) {
      EXPECT_EQ(known.count(p), 1u) << code << " enables unknown plugin " << p;
    }
  }
}

}  // namespace
}  // namespace exportsync::agent
