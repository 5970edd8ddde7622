// The indicators of docs/indicators.md on a data set small enough to work out by hand. Every
// expected number below is derived in the comments from the rows loaded in SetUp.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "store_fixture.hpp"

namespace exportsync::central::test {
namespace {

using core::exportersSpec;
using core::exportFlowsSpec;

// Reference date 2025-06-15: window 2024-07 … 2025-06, year 2025.
IndicatorQuery june2025() {
  IndicatorQuery q;
  q.window_from = "2024-07";
  q.window_to = "2025-06";
  q.year = 2025;
  q.top = 10;
  return q;
}

const IndicatorRow& region(const Indicators& ind, const std::string& code) {
  for (const auto& r : ind.regions) {
    if (r.region == code) {
      return r;
    }
  }
  static const IndicatorRow kNone;
  ADD_FAILURE() << "no region " << code;
  return kNone;
}

class IndicatorsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // Three offices: two artisanat agents (Casablanca MA-06, Agadir MA-09), one cooperatives
    // agent (MA-09).
    const auto a1 = enrol("ag-casa", "MA-06");
    const auto a2 = enrol("ag-agadir", "MA-09");
    const auto c1 = enrol("ag-coop", "MA-09");
    const auto E = exportersSpec();
    const auto F = exportFlowsSpec();
    // Exporters. E2's seat is Souss-Massa although the Casablanca office reports it. E4 has no
    // exporters row anywhere. E5 first exported in 2020. E6 exports only before the window.
    upsert(a1, "artisanat", E,
           {exporter("001000000000001", "MA-06", 2010), exporter("001000000000002", "MA-09"),
            exporter("001000000000005", "MA-06", 2020), exporter("001000000000006", "MA-06")});
    upsert(c1, "cooperatives", E, {exporter("cooperative:2019/1", "MA-09")});
    upsert(a1, "artisanat", F,
           {
               // E1: 5701/FR/2025-01 is also reported by cooperatives (250.00): MAX → 300.00.
               flow("001000000000001", "5701100000", "FR", "2025-01", 30000),
               flow("001000000000001", "5702000000", "DE", "2024-09", 10000),
               flow("001000000000001", "5701100000", "FR", "2023-02",
                    5000),  // before window
                            // E2: one heading (6912), one market (FR).
               flow("001000000000002", "6912000000", "FR", "2024-08", 20000),
               flow("001000000000002", "6912001000", "FR", "2025-05", 10000),
               // E5: first flow in 2025 but first_export_year 2020: not new.
               flow("001000000000005", "4202000000", "GB", "2025-03", 10000),
               // E6: only before the window: not active.
               flow("001000000000006", "5701100000", "FR", "2023-05", 8000),
           });
    upsert(c1, "cooperatives", F,
           {
               flow("001000000000001", "5701100000", "FR", "2025-01", 25000),  // duplicate key
               // E3: one heading (1515), two markets (FR, ES); first flow 2025-03: new.
               flow("cooperative:2019/1", "1515900000", "FR", "2025-03", 50000),
               flow("cooperative:2019/1", "1515900000", "ES", "2025-04", 10000),
               flow("cooperative:2019/1", "1515900000", "ES", "2025-07", 99900),  // after window
               flow("cooperative:2019/1", "0910200000", "US", "2025-02", 0),      // zero: dropped
           });
    // E4: no exporters row, flows from the Agadir office: region MA-09; first flow 2025-02: new.
    upsert(a2, "artisanat", F, {flow("001000000000004", "0804100000", "US", "2025-02", 20000)});
    // A plugin whose "exporters" is not the core dataset: left out, and said so.
    DatasetSpec odd{
        "exporters",
        1,
        {{"exporter_id", ColumnType::Text, true, false}, {"name", ColumnType::Text, false, false}}};
    upsert(a2, "odd", odd, {{{"exporter_id", "X1"}, {"name", "n"}}});
  }
};

TEST_F(IndicatorsTest, SourcesAreDiscoveredFromTheRegistry) {
  auto ind = store_->indicators(june2025());
  ASSERT_TRUE(ind.isOk()) << ind.status().message();
  ASSERT_EQ(ind->sources.size(), 3u);
  EXPECT_EQ(ind->sources[0].plugin, "artisanat");
  EXPECT_TRUE(ind->sources[0].exporters && ind->sources[0].export_flows);
  EXPECT_EQ(ind->sources[1].plugin, "cooperatives");
  EXPECT_EQ(ind->sources[2].plugin, "odd");
  EXPECT_FALSE(ind->sources[2].exporters);
  EXPECT_NE(ind->sources[2].skipped.find("columns differ"), std::string::npos);
}

TEST_F(IndicatorsTest, CasablancaSettat) {
  auto ind = store_->indicators(june2025());
  ASSERT_TRUE(ind.isOk()) << ind.status().message();
  const auto& r = region(*ind, "MA-06");
  // Active in the window: E1 (2024-09, 2025-01) and E5 (2025-03); E6 is not (2023-05 only).
  EXPECT_EQ(r.active_exporters, 2);
  // E1: 300.00 (MAX of 300.00 and 250.00) + 100.00 = 400.00; E5: 100.00. Total 500.00.
  EXPECT_EQ(r.export_value_centimes, 50000);
  // E5 has one heading (4202) and one market (GB); E1 has two of each (5701, 5702; FR, DE).
  EXPECT_EQ(r.mono_product_exporters, 1);
  EXPECT_EQ(r.mono_market_exporters, 1);
  // National value 1600.00 (below): 500 / 1600 = 0.3125.
  EXPECT_DOUBLE_EQ(r.share_of_national_value, 0.3125);
  // By destination: FR 300, DE 100, GB 100 of 500 → 0.6² + 0.2² + 0.2² = 0.36 + 0.04 + 0.04.
  EXPECT_NEAR(r.hhi_destinations, 0.44, 1e-12);
  // New in 2025: none (E1 first exported 2023-02; E5's first_export_year is 2020).
  EXPECT_EQ(r.new_exporters, 0);
  // Headings: 5701 300 (0.6), then 4202 and 5702 at 100 each (0.2), ties by heading.
  ASSERT_EQ(r.top_products.size(), 3u);
  EXPECT_EQ(r.top_products[0].key, "5701");
  EXPECT_EQ(r.top_products[0].value_centimes, 30000);
  EXPECT_DOUBLE_EQ(r.top_products[0].share, 0.6);
  EXPECT_EQ(r.top_products[1].key, "4202");
  EXPECT_EQ(r.top_products[2].key, "5702");
  ASSERT_EQ(r.top_destinations.size(), 3u);
  EXPECT_EQ(r.top_destinations[0].key, "FR");
  EXPECT_EQ(r.top_destinations[1].key, "DE");
  EXPECT_EQ(r.top_destinations[2].key, "GB");
}

TEST_F(IndicatorsTest, SoussMassa) {
  auto ind = store_->indicators(june2025());
  ASSERT_TRUE(ind.isOk()) << ind.status().message();
  const auto& r = region(*ind, "MA-09");
  // E2 (seat MA-09, reported from Casablanca), E3 (cooperative), E4 (no exporters row, Agadir
  // office).
  EXPECT_EQ(r.active_exporters, 3);
  // E2 200 + 100 = 300; E3 500 + 100 = 600 (2025-07 after the window, zero flow dropped);
  // E4 200. Total 1100.00.
  EXPECT_EQ(r.export_value_centimes, 110000);
  // One heading each: E2 6912, E3 1515 (the zero 0910 flow does not count), E4 0804.
  EXPECT_EQ(r.mono_product_exporters, 3);
  // One market: E2 (FR), E4 (US); E3 sells to FR and ES.
  EXPECT_EQ(r.mono_market_exporters, 2);
  // 1100 / 1600 = 0.6875.
  EXPECT_DOUBLE_EQ(r.share_of_national_value, 0.6875);
  // FR 300 + 500 = 800, ES 100, US 200 of 1100 → (8² + 1² + 2²) / 11² = 69 / 121.
  EXPECT_NEAR(r.hhi_destinations, 69.0 / 121.0, 1e-12);
  // New in 2025: E3 (first 2025-03) and E4 (2025-02); E2 first exported 2024-08.
  EXPECT_EQ(r.new_exporters, 2);
  ASSERT_GE(r.top_products.size(), 1u);
  EXPECT_EQ(r.top_products[0].key, "1515");
  EXPECT_NEAR(r.top_products[0].share, 600.0 / 1100.0, 1e-12);
}

TEST_F(IndicatorsTest, NationalAddsUpTheRegions) {
  auto ind = store_->indicators(june2025());
  ASSERT_TRUE(ind.isOk()) << ind.status().message();
  const auto& n = ind->national;
  EXPECT_EQ(n.region, "national");
  EXPECT_EQ(n.active_exporters, 5);            // 2 + 3
  EXPECT_EQ(n.export_value_centimes, 160000);  // 500.00 + 1100.00
  EXPECT_EQ(n.mono_product_exporters, 4);      // 1 + 3
  EXPECT_EQ(n.mono_market_exporters, 3);       // 1 + 2
  EXPECT_EQ(n.new_exporters, 2);
  // FR 1100, US 200, DE 100, ES 100, GB 100 of 1600:
  // (1100² + 200² + 3 × 100²) / 1600² = (1,210,000 + 40,000 + 30,000) / 2,560,000 = 0.5.
  EXPECT_NEAR(n.hhi_destinations, 0.5, 1e-12);
  ASSERT_EQ(n.top_destinations.size(), 5u);
  EXPECT_EQ(n.top_destinations[0].key, "FR");
  EXPECT_DOUBLE_EQ(n.top_destinations[0].share, 0.6875);  // 1100 / 1600
  EXPECT_EQ(n.top_destinations[1].key, "US");
  EXPECT_EQ(n.top_destinations[2].key, "DE");
  // Headings: 1515 600, 5701 300, 6912 300, 0804 200, 4202 100, 5702 100.
  std::vector<std::string> headings;
  for (const auto& t : n.top_products) {
    headings.push_back(t.key);
  }
  EXPECT_EQ(headings, (std::vector<std::string>{"1515", "5701", "6912", "0804", "4202", "5702"}));
  // Every other region is present and empty.
  ASSERT_EQ(ind->regions.size(), 12u);
  EXPECT_EQ(region(*ind, "MA-01").active_exporters, 0);
  EXPECT_EQ(region(*ind, "MA-01").share_of_national_value, 0.0);
}

TEST_F(IndicatorsTest, TopIsBounded) {
  auto q = june2025();
  q.top = 2;
  auto ind = store_->indicators(q);
  ASSERT_TRUE(ind.isOk()) << ind.status().message();
  EXPECT_EQ(ind->national.top_products.size(), 2u);
  EXPECT_EQ(ind->national.top_destinations.size(), 2u);
}

TEST_F(IndicatorsTest, AnEarlierReferenceDateIgnoresLaterFlows) {
  // Reference 2024-12-31: window 2024-01 … 2024-12, year 2024. Flows then: E1 5702/DE 100
  // (2024-09), E2 6912/FR 200 (2024-08). E1 first exported 2023-02, so only E2 is new in 2024.
  IndicatorQuery q;
  q.window_from = "2024-01";
  q.window_to = "2024-12";
  q.year = 2024;
  auto ind = store_->indicators(q);
  ASSERT_TRUE(ind.isOk()) << ind.status().message();
  EXPECT_EQ(ind->national.active_exporters, 2);
  EXPECT_EQ(ind->national.export_value_centimes, 30000);
  EXPECT_EQ(ind->national.new_exporters, 1);
  EXPECT_EQ(region(*ind, "MA-09").new_exporters, 1);
}

TEST_F(IndicatorsTest, CoreCsvUnitesThePlugins) {
  std::ostringstream out;
  ASSERT_TRUE(store_->writeCoreCsv("export_flows", "MA-09", out).isOk());
  const std::string csv = out.str();
  EXPECT_EQ(csv.rfind("plugin,region,agent,exporter_id,hs_code,destination,period,value_mad,", 0),
            0u)
      << csv;
  // Office region MA-09: the Agadir artisanat agent (1 flow) and the cooperatives agent (5).
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 1 + 5) << csv;
  EXPECT_NE(csv.find("artisanat,MA-09,ag-agadir,001000000000004,0804100000,US,2025-02,200.00"),
            std::string::npos)
      << csv;
  std::ostringstream bad;
  EXPECT_EQ(store_->writeCoreCsv("items", "", bad).code(), Code::Invalid);
}

TEST_F(StoreTest, NoCoreDataGivesZeros) {
  auto ind = store_->indicators(june2025());
  ASSERT_TRUE(ind.isOk()) << ind.status().message();
  EXPECT_TRUE(ind->sources.empty());
  EXPECT_EQ(ind->national.active_exporters, 0);
  EXPECT_EQ(ind->regions.size(), 12u);
}

}  // namespace
}  // namespace exportsync::central::test
