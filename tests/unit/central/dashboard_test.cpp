// Monitoring rules (docs/dashboard-api.md §4-§5): each reason on its own, the worst one wins,
// region and national roll-up in the overview, and what the hub reads out of a heartbeat.
#include "exportsync/central/dashboard.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace exportsync::central {
namespace {

constexpr int64_t kNow = 1'000'000;

// A healthy agent: heard 10 s ago, synced, empty backlog, plenty of disk.
AgentRecord healthy(const std::string& id = "ag-1", const std::string& region = "MA-06") {
  AgentRecord a;
  a.id = id;
  a.region = region;
  a.hostname = "bureau";
  a.created_at = kNow - 86400;
  a.last_seen = kNow - 10;
  a.last_sync_at = kNow - 10;
  a.mark_changed_at = kNow - 10;
  a.heartbeat_at = kNow - 10;
  a.disk_free_bytes = 50ll << 30;
  return a;
}

std::vector<std::string> codes(const Assessment& as) {
  std::vector<std::string> out;
  for (const auto& r : as.reasons) {
    out.push_back(r.code);
  }
  return out;
}

TEST(AssessTest, HealthyIsGreen) {
  const auto as = assessAgent(healthy(), MonitorConfig{}, kNow, 0, {});
  EXPECT_EQ(as.health, Health::Green);
  EXPECT_TRUE(as.reasons.empty());
  EXPECT_EQ(as.lag_s, 0);
}

TEST(AssessTest, SilentIsRed) {
  auto a = healthy();
  a.last_seen = kNow - 1801;
  const auto as = assessAgent(a, MonitorConfig{}, kNow, 0, {});
  EXPECT_EQ(as.health, Health::Red);
  ASSERT_EQ(codes(as), std::vector<std::string>{"agent-silent"});
  EXPECT_NE(as.reasons[0].message.find("depuis 30 min (seuil : 30 min)"), std::string::npos)
      << as.reasons[0].message;
  a.last_seen = kNow - 1800;  // exactly at the threshold: not yet
  EXPECT_EQ(assessAgent(a, MonitorConfig{}, kNow, 0, {}).health, Health::Green);
}

TEST(AssessTest, LateIsAmberAndLagCountsSinceTheHeartbeat) {
  auto a = healthy();
  a.backlog_rows = 5;
  a.oldest_unacked_age_s = 850;
  a.heartbeat_at = kNow - 60;  // 850 s old then, 910 s now
  const auto as = assessAgent(a, MonitorConfig{}, kNow, 0, {});
  EXPECT_EQ(as.lag_s, 910);
  EXPECT_EQ(as.health, Health::Amber);
  EXPECT_EQ(codes(as), std::vector<std::string>{"sync-late"});
}

TEST(AssessTest, StalledIsRed) {
  auto a = healthy();
  a.backlog_rows = 5;
  a.oldest_unacked_age_s = 10;
  a.mark_changed_at = kNow - 301;
  const auto as = assessAgent(a, MonitorConfig{}, kNow, 0, {});
  EXPECT_EQ(as.health, Health::Red);
  EXPECT_EQ(codes(as), std::vector<std::string>{"sync-stalled"});
}

TEST(AssessTest, BacklogGrowing) {
  auto a = healthy();
  a.backlog_rows = 500;
  a.backlog_since = kNow - 3600;
  a.backlog_at_since = 100;
  EXPECT_EQ(codes(assessAgent(a, MonitorConfig{}, kNow, 0, {})),
            std::vector<std::string>{"backlog-growing"});
  a.backlog_at_since = 500;  // not larger than at the start
  EXPECT_TRUE(assessAgent(a, MonitorConfig{}, kNow, 0, {}).reasons.empty());
  a.backlog_at_since = 100;
  a.backlog_since = kNow - 3599;  // not long enough
  EXPECT_TRUE(assessAgent(a, MonitorConfig{}, kNow, 0, {}).reasons.empty());
}

TEST(AssessTest, PluginsNamedFromTheHeartbeat) {
  auto a = healthy();
  a.status_json = R"({"plugins":[
      {"name":"artisanat","enabled":true,"loaded":true,"last_result":"failed",
       "last_error":"inbox file 'x.csv': bad header","quarantined":false},
      {"name":"cooperatives","enabled":true,"loaded":true,"last_result":"failed",
       "quarantined":true},
      {"name":"industrie","enabled":true,"loaded":false,"refused":"ABI 2.0, expected 1.x"}]})";
  Poco::JSON::Parser parser;
  const auto h =
      summariseHeartbeat(*parser.parse(a.status_json).extract<Poco::JSON::Object::Ptr>());
  EXPECT_EQ(h.plugins_failing, 2);
  EXPECT_EQ(h.plugins_quarantined, 1);
  a.plugins_failing = h.plugins_failing;
  a.plugins_quarantined = h.plugins_quarantined;
  const auto as = assessAgent(a, MonitorConfig{}, kNow, 0, {});
  EXPECT_EQ(as.health, Health::Red);
  ASSERT_EQ(as.reasons.size(), 3u);
  EXPECT_EQ(as.reasons[0].code, "plugin-quarantined");
  EXPECT_EQ(as.reasons[0].subject, "cooperatives");
  EXPECT_NE(as.reasons[0].message.find("exportsyncctl clear-quarantine cooperatives"),
            std::string::npos);
  EXPECT_EQ(as.reasons[1].code, "plugin-failing");
  EXPECT_EQ(as.reasons[1].subject, "artisanat");
  EXPECT_NE(as.reasons[1].message.find("bad header"), std::string::npos);
  EXPECT_EQ(as.reasons[2].subject, "industrie");
  EXPECT_NE(as.reasons[2].message.find("refusé au chargement"), std::string::npos);
}

TEST(AssessTest, RejectedRowsDiskAndBacklogFull) {
  auto a = healthy();
  a.rows_rejected = 100;
  a.disk_free_bytes = 100ll << 20;
  a.backlog_full = true;
  const auto as = assessAgent(a, MonitorConfig{}, kNow, 0, {});
  EXPECT_EQ(as.health, Health::Red);
  EXPECT_EQ(codes(as), (std::vector<std::string>{"backlog-full", "rows-rejected", "disk-low"}));
  auto b = healthy();
  EXPECT_EQ(codes(assessAgent(b, MonitorConfig{}, kNow, 150, {})),
            std::vector<std::string>{"rows-rejected"});
  MonitorConfig off;
  off.disk_low_bytes = 0;
  b.disk_free_bytes = 0;
  EXPECT_TRUE(assessAgent(b, off, kNow, 0, {}).reasons.empty());
}

TEST(AssessTest, EventAlertsCount) {
  const auto a = healthy();
  auto al = schemaRefusedAlert(a, "dataset 'x/y': column 'z' changed type");
  EXPECT_EQ(al.code, "schema-refused");
  EXPECT_NE(al.message.find("changement de schéma incompatible"), std::string::npos);
  const auto as = assessAgent(a, MonitorConfig{}, kNow, 0, {al});
  EXPECT_EQ(as.health, Health::Red);
  EXPECT_EQ(codes(as), std::vector<std::string>{"schema-refused"});
}

TEST(FrenchDurationTest, Units) {
  EXPECT_EQ(frenchDuration(42), "42 s");
  EXPECT_EQ(frenchDuration(42 * 60 + 5), "42 min");
  EXPECT_EQ(frenchDuration(2 * 3600 + 5 * 60), "2 h 05");
  EXPECT_EQ(frenchDuration(3 * 86400 + 4 * 3600), "3 j 4 h");
}

TEST(OverviewTest, RegionsRollUp) {
  MonitorInput in;
  in.agents.push_back(healthy("ag-casa-1", "MA-06"));
  auto late = healthy("ag-casa-2", "MA-06");
  late.backlog_rows = 7;
  late.oldest_unacked_age_s = 1000;
  late.heartbeat_at = kNow;
  in.agents.push_back(late);
  auto silent = healthy("ag-agadir", "MA-09");
  silent.last_seen = kNow - 7200;
  in.agents.push_back(silent);
  auto revoked = healthy("ag-old", "MA-09");
  revoked.revoked_at = kNow - 10;
  revoked.last_seen = 0;
  in.agents.push_back(revoked);
  AlertRecord al;
  al.code = "agent-silent";
  al.severity = "critical";
  al.agent_id = "ag-agadir";
  al.region = "MA-09";
  in.open_alerts.push_back(al);
  const auto o = overviewJson(in, MonitorConfig{}, kNow);
  auto regions = o->getArray("regions");
  ASSERT_EQ(regions->size(), 12u);
  auto casa = regions->getObject(5);
  EXPECT_EQ(casa->getValue<std::string>("region"), "MA-06");
  EXPECT_EQ(casa->getValue<std::string>("region_name"), "Casablanca-Settat");
  EXPECT_EQ(casa->getValue<std::string>("health"), "amber");
  EXPECT_EQ(casa->getObject("agents")->getValue<int>("amber"), 1);
  EXPECT_EQ(casa->getObject("agents")->getValue<int>("green"), 1);
  EXPECT_EQ(casa->getValue<int64_t>("backlog_rows"), 7);
  EXPECT_EQ(casa->getValue<int64_t>("oldest_unacked_age_s"), 1000);
  auto souss = regions->getObject(8);
  EXPECT_EQ(souss->getValue<std::string>("health"), "red");
  EXPECT_EQ(souss->getObject("agents")->getValue<int>("revoked"), 1);
  EXPECT_EQ(souss->getObject("agents")->getValue<int>("active"), 1);
  EXPECT_EQ(souss->getObject("alerts_open")->getValue<int>("critical"), 1);
  EXPECT_EQ(regions->getObject(0)->getValue<std::string>("health"), "none");
  auto nat = o->getObject("national");
  EXPECT_EQ(nat->getValue<std::string>("health"), "red");
  EXPECT_EQ(nat->getObject("agents")->getValue<int>("total"), 4);
  EXPECT_EQ(nat->getObject("agents")->getValue<int>("active"), 3);
  EXPECT_EQ(o->getObject("thresholds")->getValue<int64_t>("silent_after_s"), 1800);
}

TEST(HeartbeatTest, SummaryIsRobustToOddTypes) {
  Poco::JSON::Parser parser;
  const auto o = parser
                     .parse(R"({"backlog_rows":"many","backlog_bytes":-5,"oldest_unacked_age_s":12,
                      "sync":{"backlog_full":true},"plugins":[1,{"rows_rejected":4}]})")
                     .extract<Poco::JSON::Object::Ptr>();
  const auto h = summariseHeartbeat(*o);
  EXPECT_EQ(h.backlog_rows, 0);
  EXPECT_EQ(h.backlog_bytes, 0);
  EXPECT_EQ(h.oldest_unacked_age_s, 12);
  EXPECT_EQ(h.disk_free_bytes, -1);
  EXPECT_TRUE(h.backlog_full);
  EXPECT_EQ(h.rows_rejected, 4);
}

}  // namespace
}  // namespace exportsync::central
