// ExportSync::testing, the plugin test harness: it refuses what the agent refuses, runs a plugin
// as one transaction (rows, state and renames kept only on success), checks every sink call
// against the declaration, and reports rows, calls, rejections and logs.
#include "exportsync/testing/harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace exportsync::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kTestPlugins = ES_TEST_PLUGIN_DIR;    // tests/plugins
const std::string kProbes = ES_SDK_TESTING_PLUGIN_DIR;  // this folder's plugins
const std::string kExample = ES_PLUGIN_DIR "/example.so";

Harness loadOrDie(const std::string& path) {
  auto h = Harness::load(path);
  if (!h) {
    ADD_FAILURE() << h.status().message();
    std::abort();
  }
  return std::move(*h);
}

// --- Loading ----------------------------------------------------------------------------------

TEST(HarnessLoadTest, ReportsWhatThePluginSaysAboutItself) {
  auto h = loadOrDie(kProbes + "/probe.so");
  EXPECT_EQ(h.name(), "probe");
  EXPECT_EQ(h.version(), "2.3.4");
  EXPECT_EQ(h.description(), "Harness test plugin");
  EXPECT_EQ(h.abiMajor(), ES_ABI_MAJOR);
  EXPECT_EQ(h.abiMinor(), ES_ABI_MINOR);
  EXPECT_EQ(h.descriptorSize(), sizeof(es_plugin_v1));
  EXPECT_EQ(h.file(), kProbes + "/probe.so");
}

struct Refusal {
  const char* name;
  std::string file;
  const char* reason;
};
void PrintTo(const Refusal& r, std::ostream* os) { *os << r.name; }

class HarnessRefusalTest : public ::testing::TestWithParam<Refusal> {};

// Worded as the agent words it, one line naming the file, before calling anything but the entry.
TEST_P(HarnessRefusalTest, RefusesLikeTheAgent) {
  const auto h = Harness::load(GetParam().file);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.status().code(), Code::Invalid);
  EXPECT_THAT(h.status().message(),
              AllOf(StartsWith("plugin file '" + GetParam().file + "' refused: "),
                    HasSubstr(GetParam().reason)));
  EXPECT_EQ(h.status().message().find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    BadFiles, HarnessRefusalTest,
    ::testing::Values(
        Refusal{"WrongAbi", kTestPlugins + "/bad_abi.so",
                "built for ABI 99.0, this agent supports ABI 1.0 to 1.0; rebuild it against SDK "
                "1.x"},
        Refusal{"ShortDescriptor", kTestPlugins + "/short_descriptor.so",
                "descriptor is 16 bytes, ABI 1 needs at least 80"},
        Refusal{"NoEntry", kTestPlugins + "/no_entry.so",
                "no entry symbol 'exportsync_plugin_entry'; a plugin must use ES_PLUGIN"},
        Refusal{"NotAPlugin", kTestPlugins + "/notaplugin.so",
                "not a shared library (no ELF header)"},
        Refusal{"Missing", kTestPlugins + "/does_not_exist.so", "cannot be read"}),
    [](const ::testing::TestParamInfo<Refusal>& p) { return std::string(p.param.name); });

// --- Declaring --------------------------------------------------------------------------------

TEST(HarnessDescribeTest, ReturnsTheDeclaredDatasets) {
  auto h = loadOrDie(kProbes + "/probe.so");
  auto d = h.describe();
  ASSERT_TRUE(d) << d.status().message();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].name, "items");
  EXPECT_EQ((*d)[0].version, 2u);
  ASSERT_EQ((*d)[0].columns.size(), 3u);
  EXPECT_TRUE((*d)[0].columns[0].key);
  EXPECT_TRUE((*d)[0].columns[2].nullable);
}

TEST(HarnessDescribeTest, ReportsAFailingDeclare) {
  auto h = loadOrDie(kTestPlugins + "/declare_fails.so");
  const auto d = h.describe();
  ASSERT_FALSE(d);
  EXPECT_EQ(d.status().code(), Code::Schema);
  EXPECT_EQ(d.status().message(), "declare() failed: declare-fails: cannot build the schema");
  const auto run = h.run();
  EXPECT_EQ(run.status.message(), d.status().message());
  EXPECT_TRUE(run.tables.empty());
}

TEST(HarnessDescribeTest, RefusesAnInvalidDeclarationWithTheSdkReason) {
  auto h = loadOrDie(kProbes + "/probe_no_key.so");
  const auto d = h.describe();
  ASSERT_FALSE(d);
  EXPECT_THAT(d.status().message(),
              HasSubstr("dataset 'things': declares no key column; mark one or more columns"));
}

// --- Running ----------------------------------------------------------------------------------

TEST(HarnessRunTest, RowsAreKeyedByPrimaryKeyAndCallsKeptInOrder) {
  auto h = loadOrDie(kTestPlugins + "/good_a.so");
  h.set("rows", "4").region("MA-02");
  const auto run = h.run();
  ASSERT_TRUE(run.ok()) << run.summary();
  EXPECT_EQ(run.upserted, 4u);
  EXPECT_EQ(run.removed, 0u);
  const auto& rows = run.rows("rows");
  ASSERT_EQ(rows.size(), 4u);
  const RowValues* r2 = rows.find({{"id", 2}});
  ASSERT_NE(r2, nullptr);
  EXPECT_EQ(r2->text("note"), "good-a");
  EXPECT_EQ((*r2)["region"], Value("MA-02"));
  EXPECT_EQ(r2->toString(), "id=2, note=good-a, region=MA-02");
  EXPECT_EQ(rows.find({{"id", 9}}), nullptr);
  EXPECT_EQ(rows.find({{"note", "good-a"}}), nullptr);  // not a key column
  ASSERT_EQ(run.calls.size(), 4u);
  for (size_t i = 0; i < run.calls.size(); ++i) {
    EXPECT_EQ(run.calls[i].op, SinkCall::Op::Upsert);
    EXPECT_EQ(run.calls[i].dataset, "rows");
    EXPECT_EQ(run.calls[i].row["id"], Value(static_cast<long long>(i)));
    EXPECT_TRUE(run.calls[i].status.isOk());
  }
  EXPECT_EQ(rows.all().front()["id"], Value(0));
}

TEST(HarnessRunTest, RowsAndStatePersistAcrossRunsUntilReset) {
  auto h = loadOrDie(kTestPlugins + "/good_a.so");
  ASSERT_TRUE(h.run().ok());
  h.set("rows", "2");
  const auto second = h.run();
  ASSERT_TRUE(second.ok()) << second.summary();
  EXPECT_EQ(second.state.at("runs"), "2");
  EXPECT_EQ(second.rows("rows").size(), 5u);  // 5 from the first run, 2 rewritten
  EXPECT_EQ(h.state().at("runs"), "2");
  ASSERT_NE(h.stored("rows"), nullptr);
  EXPECT_EQ(h.stored("rows")->size(), 5u);
  h.reset();
  EXPECT_TRUE(h.state().empty());
  EXPECT_EQ(h.stored("rows"), nullptr);
  h.putState("runs", "41");
  EXPECT_EQ(h.run().state.at("runs"), "42");
}

TEST(HarnessRunTest, ABadSettingFailsConfigureNamingTheFullKey) {
  auto h = loadOrDie(kTestPlugins + "/good_a.so");
  h.config({{"rows", "many"}});
  const auto run = h.run();
  EXPECT_EQ(run.status.code(), Code::Config);
  EXPECT_EQ(run.status.message(),
            "configure() failed: config key 'plugin.good-a.rows': 'many' is not an integer; "
            "write digits only");
  EXPECT_TRUE(run.calls.empty());
  EXPECT_EQ(run.rows("rows").size(), 0u);  // declared, nothing written
}

TEST(HarnessRunTest, AFailedRunRollsBackRowsStateAndRenames) {
  auto h = loadOrDie(kProbes + "/probe.so");
  const std::string file = h.addInboxFile("input.txt", "data");
  h.set("fail", "true").set("move", file);
  const auto run = h.run();
  EXPECT_EQ(run.status.code(), Code::Io);
  EXPECT_EQ(run.status.message(), "collect() failed: probe: failing as configured");
  EXPECT_EQ(run.upserted, 3u);  // what the plugin wrote before failing
  EXPECT_EQ(run.calls.size(), 3u);
  EXPECT_TRUE(run.rows("items").empty());
  EXPECT_TRUE(run.state.empty());
  ASSERT_EQ(run.renames.size(), 1u);
  EXPECT_FALSE(run.renames[0].done);
  EXPECT_TRUE(fs::exists(file));
  EXPECT_THAT(run.summary(), HasSubstr("run failed: collect() failed: probe: failing"));
}

TEST(HarnessRunTest, AThrowingPluginLeavesEarlierRunsRows) {
  auto h = loadOrDie(kTestPlugins + "/thrower.so");
  h.set("fail", "false");
  ASSERT_TRUE(h.run().ok());
  h.set("fail", "true");
  const auto run = h.run();
  EXPECT_EQ(run.status.message(),
            "collect() failed: unhandled exception: thrower: deliberate failure after 3 rows");
  EXPECT_EQ(run.rows("rows").size(), 3u);  // the first run's, untouched
  EXPECT_EQ(run.state.at("runs"), "1");
}

TEST(HarnessRunTest, RenamesArePerformedInOrderAfterASuccessfulRun) {
  auto h = loadOrDie(kProbes + "/probe.so");
  const std::string file = h.addInboxFile("input.txt", "data");
  EXPECT_EQ(file, h.tempDir() + "/inbox/input.txt");
  EXPECT_EQ(h.config().at("inbox"), h.tempDir() + "/inbox");
  h.set("move", file);
  const auto run = h.run();
  ASSERT_TRUE(run.ok()) << run.summary();
  ASSERT_EQ(run.renames.size(), 1u);
  EXPECT_TRUE(run.renames[0].done) << run.renames[0].error;
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(fs::exists(file + ".done"));
}

TEST(HarnessRunTest, SinkRefusesAValueThatDoesNotFitWithTheAgentsWording) {
  auto h = loadOrDie(kProbes + "/probe.so");
  h.set("bad", "type");
  const auto run = h.run();
  ASSERT_TRUE(run.ok()) << run.summary();
  EXPECT_EQ(run.refused, 1u);
  ASSERT_EQ(run.calls.size(), 4u);
  EXPECT_EQ(run.calls[3].status.code(), Code::Invalid);
  EXPECT_EQ(run.calls[3].status.message(),
            "dataset 'items': column 'id' expects integer, got text");
  ASSERT_EQ(run.rejections.size(), 1u);
  EXPECT_EQ(run.rejections[0].toString(),
            "probe-input:7 column 'id' value 'seven': dataset 'items': column 'id' expects "
            "integer, got text");
  EXPECT_EQ(run.rows("items").size(), 3u);
}

TEST(HarnessRunTest, RemoveDeletesByKeyAndIsListedWithTheKeyOnly) {
  auto h = loadOrDie(kProbes + "/probe.so");
  h.set("remove", "1");
  const auto run = h.run();
  ASSERT_TRUE(run.ok()) << run.summary();
  EXPECT_EQ(run.removed, 1u);
  EXPECT_EQ(run.rows("items").size(), 2u);
  EXPECT_EQ(run.rows("items").find({{"id", 1}}), nullptr);
  ASSERT_EQ(run.calls.size(), 4u);
  EXPECT_EQ(run.calls[3].op, SinkCall::Op::Remove);
  EXPECT_EQ(run.calls[3].row.columns(), std::vector<std::string>{"id"});
}

TEST(HarnessRunTest, AnIntegerInARealColumnReadsBackAsAReal) {
  auto h = loadOrDie(kProbes + "/probe.so");
  const auto run = h.run();
  ASSERT_TRUE(run.ok()) << run.summary();
  const auto* row = run.rows("items").find({{"id", 2}});
  ASSERT_NE(row, nullptr);
  EXPECT_EQ((*row)["weight"], Value(4.0));
  EXPECT_EQ(row->text("weight"), "4");
}

TEST(HarnessRunTest, LogsAndRegionReachTheResult) {
  auto h = loadOrDie(kProbes + "/probe.so");
  h.region("MA-11");
  const auto run = h.run();
  ASSERT_EQ(run.logs.size(), 1u);
  EXPECT_EQ(run.logs[0].level, ES_LOG_NOTICE);
  EXPECT_EQ(run.logs[0].message, "probe run 1 in MA-11");
}

TEST(HarnessRunTest, CancelledBeforeTheRunRollsItBack) {
  auto h = loadOrDie(kTestPlugins + "/good_a.so");
  h.cancel();
  const auto run = h.run();
  EXPECT_EQ(run.status.code(), Code::Cancelled);
  EXPECT_EQ(run.status.message(), "collect() was cancelled; the run was rolled back");
  EXPECT_TRUE(run.rows("rows").empty());
  h.cancel(false);
  EXPECT_TRUE(h.run().ok());
}

TEST(HarnessRunTest, CancelAfterStopsACooperativePluginMidRun) {
  auto h = loadOrDie(kProbes + "/probe.so");
  h.set("rows", "10").cancelAfter(2);
  const auto run = h.run();
  EXPECT_EQ(run.status.code(), Code::Cancelled);
  EXPECT_EQ(run.status.message(), "collect() failed: run cancelled by the agent");
  EXPECT_EQ(run.calls.size(), 2u);
  EXPECT_TRUE(run.rows("items").empty());
}

// The example plugin over its sample file: real rejections with line numbers, file moved.
TEST(HarnessRunTest, InboxHelpersFeedAPluginItsFiles) {
  auto h = loadOrDie(kExample);
  const std::string file = h.copyToInbox(ES_SOURCE_DIR "/config/samples/example/articles-2024.csv");
  h.set("rows", "0");
  const auto run = h.run();
  ASSERT_TRUE(run.ok()) << run.summary();
  EXPECT_EQ(run.rows("items").size(), 5u) << run.summary();
  ASSERT_EQ(run.rejections.size(), 1u) << run.summary();
  EXPECT_EQ(run.rejections[0].source, "articles-2024.csv");
  EXPECT_EQ(run.rejections[0].line, 6u);
  EXPECT_EQ(run.rejections[0].column, "price");
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(fs::exists(h.tempDir() + "/inbox/done/articles-2024.csv"));
  const auto* tap = run.rows("items").find({{"id", "TAP-002"}});
  ASSERT_NE(tap, nullptr);
  EXPECT_EQ((*tap)["unit_price"], Value(Money::fromCentimes(620050)));
  EXPECT_EQ(tap->text("updated_at"), "1970-01-01T00:00:00Z");
}

TEST(HarnessRunTest, InboxUnderAnotherKeyIsKeptByTheFileHelpers) {
  auto h = loadOrDie(kProbes + "/probe.so");
  const std::string dir = h.inbox("folder");
  h.addInboxFile("a.csv", "x");
  EXPECT_EQ(h.config().at("folder"), dir);
  EXPECT_EQ(h.config().count("inbox"), 0u);
  EXPECT_TRUE(fs::exists(dir + "/a.csv"));
}

TEST(HarnessRunTest, TheTemporaryFolderGoesWithTheHarness) {
  std::string dir;
  {
    auto h = loadOrDie(kProbes + "/probe.so");
    dir = h.tempDir();
    h.addInboxFile("a.csv", "x");
    ASSERT_TRUE(fs::is_directory(dir));
  }
  EXPECT_FALSE(fs::exists(dir));
}

// --- Values and results -----------------------------------------------------------------------

TEST(HarnessValuesTest, FormatsEveryType) {
  EXPECT_EQ(formatValue(Value()), "NULL");
  EXPECT_EQ(formatValue(Value("souk")), "souk");
  EXPECT_EQ(formatValue(Value(-42)), "-42");
  EXPECT_EQ(formatValue(Value(0.1)), "0.1");
  EXPECT_EQ(formatValue(Value(1.0 / 3)), "0.3333333333333333");
  EXPECT_EQ(formatValue(Value(true)), "true");
  EXPECT_EQ(formatValue(Value(*Date::fromYmd(2024, 3, 15))), "2024-03-15");
  EXPECT_EQ(formatValue(Value(Timestamp::fromMicros(1'500'000))), "1970-01-01T00:00:01.500000Z");
  EXPECT_EQ(formatValue(Value(Money::fromCentimes(-1250))), "-12.50");
}

TEST(HarnessValuesTest, GoogleTestPrintsValuesAndRowsReadably) {
  EXPECT_EQ(::testing::PrintToString(Value("souk")), "\"souk\"");
  EXPECT_EQ(::testing::PrintToString(Value(Money::fromCentimes(1250))), "12.50");
  EXPECT_EQ(::testing::PrintToString(Value()), "NULL");
  auto h = loadOrDie(kProbes + "/probe.so");
  const auto run = h.run();
  EXPECT_EQ(::testing::PrintToString(run.rows("items").all().at(1)),
            "{id=1, label=item 1, weight=2}");
}

TEST(HarnessValuesTest, UnknownColumnsAndDatasetsThrowNamingWhatExists) {
  auto h = loadOrDie(kProbes + "/probe.so");
  const auto run = h.run();
  const RowValues row = run.rows("items").all().at(0);
  EXPECT_TRUE(row.has("label"));
  EXPECT_FALSE(row.has("lable"));
  try {
    (void)row["lable"];
    ADD_FAILURE() << "no exception";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "row has no column 'lable'; its columns: id, label, weight");
  }
  try {
    (void)run.rows("itemz");
    ADD_FAILURE() << "no exception";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "dataset 'itemz' was not declared in this run; declared: items");
  }
}

}  // namespace
}  // namespace exportsync::testing
