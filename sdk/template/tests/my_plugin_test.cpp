// Unit tests of my-plugin with the SDK's test harness (ExportSync::testing): the built .so is
// loaded and run against an in-memory agent; no agent, store or hub is involved.
// MY_PLUGIN_SO and MY_PLUGIN_SAMPLES come from CMakeLists.txt.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "exportsync/core_datasets.hpp"
#include "exportsync/testing/harness.hpp"

namespace {

using exportsync::testing::Harness;

constexpr const char* kSample = MY_PLUGIN_SAMPLES "/exportateurs.csv";

class MyPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = Harness::load(MY_PLUGIN_SO);
    ASSERT_TRUE(loaded) << loaded.status().message();
    harness_.emplace(std::move(*loaded));
    harness_->region("MA-07");
  }
  Harness& h() { return *harness_; }

 private:
  std::optional<Harness> harness_;
};

TEST_F(MyPluginTest, DeclaresTheCoreDatasets) {
  auto datasets = h().describe();
  ASSERT_TRUE(datasets) << datasets.status().message();
  ASSERT_EQ(datasets->size(), 2u);
  EXPECT_EQ((*datasets)[0].name, exportsync::core::kExporters);
  EXPECT_EQ((*datasets)[1].name, exportsync::core::kExportFlows);
}

TEST_F(MyPluginTest, ReadsTheSampleAndRejectsTheBadLine) {
  const std::string file = h().copyToInbox(kSample);
  const auto run = h().run();
  ASSERT_TRUE(run.ok()) << run.summary();

  const auto& exporters = run.rows("exporters");
  EXPECT_EQ(exporters.size(), 3u) << run.summary();
  const auto* atlas = exporters.find({{"exporter_id", "001525148000067"}});
  ASSERT_NE(atlas, nullptr) << run.summary();
  EXPECT_EQ(atlas->text("name"), "Atlas Tapis");
  EXPECT_EQ(atlas->text("legal_form"), "sarl");
  EXPECT_EQ(atlas->text("sector"), "handicrafts");
  EXPECT_EQ(atlas->text("region"), "MA-07");  // the office's region

  const auto& flows = run.rows("export_flows");
  EXPECT_EQ(flows.size(), 4u) << run.summary();
  const auto* flow = flows.find({{"exporter_id", "001525148000067"},
                                 {"hs_code", "570110"},
                                 {"destination", "DE"},
                                 {"period", "2024-03"}});
  ASSERT_NE(flow, nullptr) << run.summary();
  EXPECT_EQ(flow->text("value_mad"), "48500.50");

  ASSERT_EQ(run.rejections.size(), 1u) << run.summary();
  EXPECT_EQ(run.rejections[0].line, 6u);
  EXPECT_EQ(run.rejections[0].column, "Mois");
  EXPECT_EQ(run.rejections[0].value, "13/2024");

  // Once the run has committed, the file is in done/ and the bad line in rejected/.
  const std::string inbox = h().config().at("inbox");
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_TRUE(std::filesystem::exists(inbox + "/done/exportateurs.csv"));
  EXPECT_TRUE(std::filesystem::exists(inbox + "/rejected/exportateurs.csv.errors.csv"));
}

TEST_F(MyPluginTest, TheSameFileDroppedAgainAddsNothing) {
  h().copyToInbox(kSample);
  ASSERT_TRUE(h().run().ok());
  h().copyToInbox(kSample);
  const auto again = h().run();
  ASSERT_TRUE(again.ok()) << again.summary();
  EXPECT_EQ(again.upserted, 0u) << again.summary();
  EXPECT_EQ(again.rows("export_flows").size(), 4u);  // rows of the first run are still there
}

TEST_F(MyPluginTest, RefusesToRunWithoutAnInbox) {
  const auto run = h().run();
  EXPECT_FALSE(run.ok());
  EXPECT_NE(run.status.message().find("plugin.my-plugin.inbox"), std::string::npos)
      << run.status.message();
}

}  // namespace
