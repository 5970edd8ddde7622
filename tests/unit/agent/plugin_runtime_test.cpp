// The plugin runtime in-process (plugin_runtime.hpp): loading the example plugin, describing
// it, and collect runs into a real store, including the C++ layer's config errors and the
// host's row checks as a plugin sees them.
#include "exportsync/agent/plugin_runtime.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace exportsync::agent {
namespace {

using testing::TempDir;

const std::string kExample = std::string(ES_PLUGIN_DIR) + "/example.so";

LoadedPlugin& example() {
  // Loaded once per process: libraries are never unloaded (STYLE.md §2).
  static auto* plugin = [] {
    auto p = loadPluginFile(kExample);
    EXPECT_TRUE(p.isOk()) << p.status().message();
    return p ? new LoadedPlugin(std::move(p).value()) : nullptr;
  }();
  return *plugin;
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(dir_.file("agent.db"));
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
    settings_.region = "MA-09";
    hooks_.log = [this](int level, const std::string& line) { logs_.emplace_back(level, line); };
    hooks_.cancel = &cancel_;
  }
  Status collect(RunStats& stats) {
    return collectPlugin(example(), *store_, settings_, hooks_, stats);
  }
  int64_t rows(const std::string& dataset) {
    auto d = store_->dataset("example", dataset);
    if (!d || !d->has_value()) {
      return -1;
    }
    return store_->rowCount(**d).value();
  }
  int64_t changeCount() { return store_->changeCount().value(); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  PluginSettings settings_;
  RuntimeHooks hooks_;
  std::atomic<bool> cancel_{false};
  std::vector<std::pair<int, std::string>> logs_;
};

TEST(LoadPluginFile, LoadsTheExamplePlugin) {
  const auto& p = example();
  EXPECT_EQ(p.name(), "example");
  EXPECT_EQ(p.file(), kExample);
  EXPECT_EQ(p.descriptor().abi_major, ES_ABI_MAJOR);
  EXPECT_EQ(p.descriptor().struct_size, sizeof(es_plugin_v1));
  EXPECT_STREQ(p.descriptor().version, "1.0.0");
}

TEST(LoadPluginFile, RefusesWhatIsNotAPluginNamingTheFile) {
  TempDir dir;
  const std::string text = dir.file("notes.so");
  std::ofstream(text) << "not an ELF file\n";
  auto r = loadPluginFile(text);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("plugin file '" + text + "' refused: not a shared library"),
            std::string::npos)
      << r.status().message();

  const std::string truncated = dir.file("truncated.so");
  std::ofstream(truncated) << "\x7f"
                              "ELF garbage";
  auto t = loadPluginFile(truncated);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("'" + truncated + "' refused: cannot be loaded"),
            std::string::npos)
      << t.status().message();

  auto missing = loadPluginFile(dir.file("absent.so"));
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("absent.so"), std::string::npos);
}

TEST(PluginNames, Pattern) {
  EXPECT_TRUE(isValidPluginName("example"));
  EXPECT_TRUE(isValidPluginName("csv-generic"));
  EXPECT_TRUE(isValidPluginName(std::string(32, 'a')));
  EXPECT_FALSE(isValidPluginName(std::string(33, 'a')));
  EXPECT_FALSE(isValidPluginName(""));
  EXPECT_FALSE(isValidPluginName("1abc"));
  EXPECT_FALSE(isValidPluginName("csv_generic"));
  EXPECT_FALSE(isValidPluginName("Example"));
}

TEST_F(RuntimeTest, DescribeListsTheDeclaredDatasets) {
  auto d = describePlugin(example(), settings_, hooks_);
  ASSERT_TRUE(d.isOk()) << d.status().message();
  EXPECT_EQ(d->name, "example");
  EXPECT_EQ(d->version, "1.0.0");
  ASSERT_EQ(d->datasets.size(), 2u);
  EXPECT_EQ(d->datasets[0].name, "items");
  EXPECT_EQ(d->datasets[0].columns.size(), 8u);
  EXPECT_EQ(d->datasets[0].columns[3].type, ColumnType::Money);
  EXPECT_TRUE(d->datasets[0].columns[4].nullable);
  EXPECT_EQ(d->datasets[1].name, "runs");
  EXPECT_EQ(changeCount(), 0) << "describe writes nothing";
}

TEST_F(RuntimeTest, CollectRunsCommitAndKeepState) {
  settings_.values = {{"rows", "7"}};
  RunStats stats;
  ASSERT_TRUE(collect(stats).isOk());
  EXPECT_EQ(stats.upserted, 8);  // 7 items + 1 run row
  EXPECT_EQ(rows("items"), 7);
  EXPECT_EQ(rows("runs"), 1);
  EXPECT_EQ(store_->stateGet("example", "run")->value_or(""), "1");
  ASSERT_FALSE(logs_.empty());
  EXPECT_EQ(logs_[0],
            std::make_pair(static_cast<int>(ES_LOG_INFO), std::string("run 1 for region MA-09")));
  const int64_t after_first = changeCount();
  EXPECT_EQ(after_first, 8);

  // The same items again: only the new `runs` row is a change.
  RunStats again;
  ASSERT_TRUE(collect(again).isOk());
  EXPECT_EQ(again.upserted, 8);
  EXPECT_EQ(changeCount(), after_first + 1);
  EXPECT_EQ(store_->stateGet("example", "run")->value_or(""), "2");
}

TEST_F(RuntimeTest, BadPluginConfigNamesTheFullKeyAndWritesNothing) {
  for (const auto& [value, expect] : std::vector<std::pair<std::string, std::string>>{
           {"many", "config key 'plugin.example.rows': 'many' is not an integer"},
           {"2000000", "config key 'plugin.example.rows': 2000000 is out of range [0, 1000000]"},
           {"-1", "config key 'plugin.example.rows': -1 is out of range"}}) {
    settings_.values = {{"rows", value}};
    RunStats stats;
    const Status st = collect(stats);
    EXPECT_EQ(st.code(), Code::Config) << st.message();
    EXPECT_NE(st.message().find("configure() failed: " + expect), std::string::npos)
        << st.message();
  }
  EXPECT_EQ(rows("items"), 0);
  EXPECT_EQ(changeCount(), 0);
  EXPECT_FALSE(store_->inRun());
}

TEST_F(RuntimeTest, CancelledRunIsRolledBack) {
  settings_.values = {{"rows", "50"}};
  cancel_ = true;
  RunStats stats;
  const Status st = collect(stats);
  EXPECT_EQ(st.code(), Code::Cancelled) << st.message();
  EXPECT_EQ(rows("items"), 0);
  EXPECT_EQ(changeCount(), 0);
  EXPECT_FALSE(store_->stateGet("example", "run")->has_value());
  cancel_ = false;
  ASSERT_TRUE(collect(stats).isOk()) << "the store is usable after a cancelled run";
  EXPECT_EQ(rows("items"), 50);
}

TEST_F(RuntimeTest, InboxRejectsBadLinesAndMovesFilesOnlyAfterCommit) {
  const std::string inbox = dir_.file("inbox");
  ASSERT_EQ(::mkdir(inbox.c_str(), 0700), 0);
  std::ofstream(inbox + "/coop.csv") << "id;label;quantity;price\n"
                                        "c1;Huile d'argan — تعاونية;4;120,50\n"
                                        "c2;Safran;x;10\n"
                                        "c3;Cumin;2;12,345\n"
                                        "c4;only three;1\n";
  settings_.values = {{"rows", "0"}, {"inbox", inbox}};
  RunStats stats;
  ASSERT_TRUE(collect(stats).isOk());
  EXPECT_EQ(stats.upserted, 2);  // c1 + the run row
  EXPECT_EQ(stats.rejected, 3);
  EXPECT_EQ(stats.renamed, 1);
  ASSERT_EQ(stats.first_rejections.size(), 3u);
  EXPECT_EQ(stats.first_rejections[0], "coop.csv:3 column 'quantity': not a whole number >= 0");
  EXPECT_EQ(stats.first_rejections[1], "coop.csv:4 column 'price': not an amount like 12,50");
  EXPECT_EQ(stats.first_rejections[2], "coop.csv:5: expected 4 fields separated by ';'");
  EXPECT_TRUE(std::filesystem::exists(inbox + "/done/coop.csv"));
  EXPECT_FALSE(std::filesystem::exists(inbox + "/coop.csv"));
  EXPECT_EQ(rows("items"), 1);

  // A failed run leaves its input where it was.
  std::ofstream(inbox + "/next.csv") << "id;label;quantity;price\nn1;x;1;1\n";
  settings_.values = {{"rows", "0"}, {"inbox", inbox}};
  cancel_ = true;
  RunStats failed;
  EXPECT_FALSE(collect(failed).isOk());
  EXPECT_EQ(failed.renamed, 0);
  EXPECT_TRUE(std::filesystem::exists(inbox + "/next.csv"));
  EXPECT_EQ(rows("items"), 1);
}

TEST_F(RuntimeTest, PluginErrorFailsTheRunWithItsMessage) {
  settings_.values = {{"inbox", dir_.file("no-such-inbox")}};
  RunStats stats;
  const Status st = collect(stats);
  EXPECT_EQ(st.code(), Code::Config);
  EXPECT_NE(st.message().find("collect() failed: inbox '" + dir_.file("no-such-inbox") +
                              "' cannot be opened"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(rows("items"), 0) << "the 10 synthetic rows written before the error are gone";
  EXPECT_EQ(changeCount(), 0);
}

}  // namespace
}  // namespace exportsync::agent
