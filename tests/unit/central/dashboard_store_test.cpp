// The store's dashboard tables (CentralStore): heartbeat summary and backlog tracking, the
// history samples and their pruning, alerts (raise, reconcile, resolve), recent errors, admin
// accounts and sessions; dataset CSV order and the version 3 upgrade.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "exportsync/sqlite.hpp"
#include "store_fixture.hpp"

namespace exportsync::central::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

HeartbeatSummary backlog(int64_t rows, int64_t age) {
  HeartbeatSummary h;
  h.backlog_rows = rows;
  h.oldest_unacked_age_s = age;
  return h;
}

TEST_F(StoreTest, HeartbeatKeepsItsSummaryAndTracksTheBacklog) {
  const auto a = enrol("ag-1", "MA-06");
  ASSERT_TRUE(store_->recordHeartbeat(a.id, "{}", backlog(10, 5), 10000).isOk());
  ASSERT_TRUE(store_->recordHeartbeat(a.id, "{}", backlog(30, 65), 10060).isOk());
  auto r = store_->agent(a.id);
  ASSERT_TRUE(r.isOk() && r->has_value());
  EXPECT_EQ((*r)->heartbeat_at, 10060);
  EXPECT_EQ((*r)->backlog_rows, 30);
  EXPECT_EQ((*r)->oldest_unacked_age_s, 65);
  EXPECT_EQ((*r)->backlog_since, 10000);  // not shrunk since the first heartbeat
  EXPECT_EQ((*r)->backlog_at_since, 10);
  ASSERT_TRUE(store_->recordHeartbeat(a.id, "{}", backlog(20, 70), 10120).isOk());
  r = store_->agent(a.id);
  EXPECT_EQ((*r)->backlog_since, 10120);  // shrank: starts again
  EXPECT_EQ((*r)->backlog_at_since, 20);
  ASSERT_TRUE(store_->recordHeartbeat(a.id, "{}", backlog(0, 0), 10180).isOk());
  r = store_->agent(a.id);
  EXPECT_EQ((*r)->backlog_since, 0);
  auto list = store_->agentSummaries();
  ASSERT_TRUE(list.isOk());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].status_json.empty());
  EXPECT_EQ((*list)[0].heartbeat_at, 10180);
}

TEST_F(StoreTest, HistorySamplesBatchesAndHeartbeats) {
  const auto a = enrol("ag-1", "MA-06");
  const auto b = enrol("ag-2", "MA-06");
  const auto c = enrol("ag-3", "MA-09");
  // Bucket 300 s: [9900, 10200). Two batches of ag-1 (2 rows, then 1 row), one of ag-3.
  upsert(a, "artisanat", core::exportersSpec(),
         {exporter("001000000000001", "MA-06"), exporter("001000000000002", "MA-06")}, 10000);
  upsert(a, "artisanat", core::exportersSpec(), {exporter("001000000000003", "MA-06")}, 10100);
  upsert(c, "artisanat", core::exportersSpec(), {exporter("001000000000004", "MA-09")}, 10150);
  ASSERT_TRUE(store_->recordHeartbeat(a.id, "{}", backlog(4, 20), 10050).isOk());
  ASSERT_TRUE(store_->recordHeartbeat(b.id, "{}", backlog(6, 90), 10060).isOk());
  ASSERT_TRUE(store_->recordHeartbeat(a.id, "{}", backlog(1, 5), 10070).isOk());
  HistoryQuery q;
  q.step_s = 300;
  q.from = 9600;
  q.to = 10200;
  q.region = "MA-06";
  auto h = store_->history(q);
  ASSERT_TRUE(h.isOk()) << h.status().message();
  ASSERT_EQ(h->size(), 3u);  // 9600, 9900, 10200: dense
  EXPECT_EQ((*h)[0].rows, 0);
  EXPECT_EQ((*h)[1].t, 9900);
  EXPECT_EQ((*h)[1].rows, 3);
  EXPECT_EQ((*h)[1].batches, 2);
  EXPECT_GT((*h)[1].bytes, 0);
  // Region MA-06 backlog: the largest region total seen (4 + 6 = 10 at 10060).
  EXPECT_EQ((*h)[1].backlog_rows, 10);
  // Lag: at ag-1's heartbeat of 10070, ag-2's change reported 90 s old at 10060 is 100 s old.
  EXPECT_EQ((*h)[1].lag_s, 100);
  q.region.clear();
  h = store_->history(q);
  EXPECT_EQ((*h)[1].rows, 4);  // national: ag-3's row too
  q.agent_id = a.id;
  h = store_->history(q);
  EXPECT_EQ((*h)[1].rows, 3);
  EXPECT_EQ((*h)[1].backlog_rows, 4);
  EXPECT_EQ((*h)[1].lag_s, 20);
  q.step_s = 3600;
  q.from = 7200;
  q.to = 10800;
  q.agent_id.clear();
  h = store_->history(q);
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].rows, 4);  // [7200, 10800)
  // Pruning: 5-minute buckets go after 2 days, hourly ones after 8.
  ASSERT_TRUE(store_->prune(10000 + 3 * 86400).isOk());
  q.step_s = 300;
  q.from = 9900;
  q.to = 9900;
  EXPECT_EQ((*store_->history(q))[0].rows, 0);
  q.step_s = 3600;
  q.from = 7200;
  q.to = 7200;
  EXPECT_EQ((*store_->history(q))[0].rows, 4);
  ASSERT_TRUE(store_->prune(10000 + 9 * 86400).isOk());
  EXPECT_EQ((*store_->history(q))[0].rows, 0);
  q.step_s = 60;
  EXPECT_FALSE(store_->history(q).isOk());
}

AlertRecord alert(const std::string& code, const std::string& agent, const std::string& subject,
                  const std::string& message = "m") {
  AlertRecord a;
  a.code = code;
  a.severity = "warning";
  a.agent_id = agent;
  a.region = "MA-06";
  a.subject = subject;
  a.message = message;
  return a;
}

TEST_F(StoreTest, AlertsOpenUpdateAndResolve) {
  ASSERT_TRUE(store_->raiseAlert(alert("plugin-failing", "ag-1", "artisanat"), 100).isOk());
  ASSERT_TRUE(store_->raiseAlert(alert("plugin-failing", "ag-1", "artisanat", "m2"), 160).isOk());
  ASSERT_TRUE(store_->raiseAlert(alert("plugin-failing", "ag-1", "industrie"), 160).isOk());
  auto open = store_->alerts(AlertQuery{});
  ASSERT_TRUE(open.isOk());
  ASSERT_EQ(open->size(), 2u);
  const auto& first = (*open)[1].subject == "artisanat" ? (*open)[1] : (*open)[0];
  EXPECT_EQ(first.since, 100);
  EXPECT_EQ(first.at, 160);
  EXPECT_EQ(first.count, 2);
  EXPECT_EQ(first.message, "m2");
  // Reconcile: artisanat still fails, industrie no more; another code is left alone.
  ASSERT_TRUE(store_->raiseAlert(alert("schema-refused", "ag-1", ""), 170).isOk());
  ASSERT_TRUE(
      store_
          ->reconcileAlerts({"plugin-failing"}, {alert("plugin-failing", "ag-1", "artisanat")}, 200)
          .isOk());
  open = store_->alerts(AlertQuery{});
  ASSERT_EQ(open->size(), 2u);
  AlertQuery all;
  all.open_only = false;
  auto every = store_->alerts(all);
  ASSERT_EQ(every->size(), 3u);
  int64_t resolved_id = 0;
  for (const auto& a : *every) {
    if (a.subject == "industrie") {
      EXPECT_EQ(a.resolved_at, 200);
      EXPECT_EQ(a.resolved_by, "hub");
      resolved_id = a.id;
    }
  }
  EXPECT_FALSE(*store_->resolveAlert(resolved_id, "amina", 300));  // already resolved
  EXPECT_TRUE(*store_->resolveAlert((*open)[0].id, "amina", 300));
  // A condition seen again after resolution opens a new alert.
  ASSERT_TRUE(store_->raiseAlert(alert("plugin-failing", "ag-1", "industrie"), 400).isOk());
  EXPECT_EQ(store_->alerts(AlertQuery{})->size(), 2u);
  AlertQuery region;
  region.region = "MA-09";
  EXPECT_TRUE(store_->alerts(region)->empty());
}

TEST_F(StoreTest, RecentErrorsAreBounded) {
  const auto a = enrol("ag-1", "MA-06");
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(store_->recordError(a.id, "refus " + std::to_string(i)).isOk());
  }
  auto e = store_->recentErrors(a.id, 100);
  ASSERT_TRUE(e.isOk());
  ASSERT_EQ(e->size(), 20u);
  EXPECT_EQ((*e)[0].message, "refus 24");
  EXPECT_EQ((*store_->agent(a.id))->errors, 25);
  EXPECT_EQ((*store_->agent(a.id))->last_error, "refus 24");
}

TEST_F(StoreTest, AdminsAndSessions) {
  EXPECT_TRUE(*store_->setAdminPassword("amina", "h1", 100));
  EXPECT_EQ(**store_->adminPasswordHash("amina"), "h1");
  EXPECT_FALSE(store_->adminPasswordHash("karim")->has_value());
  SessionRecord s{"hash-1", "amina", 100, 200, 100};
  ASSERT_TRUE(store_->createSession(s).isOk());
  ASSERT_TRUE(store_->touchSession("hash-1", 150).isOk());
  EXPECT_EQ((*store_->session("hash-1"))->last_used, 150);
  // A new password ends the user's sessions.
  EXPECT_FALSE(*store_->setAdminPassword("amina", "h2", 300));
  EXPECT_FALSE(store_->session("hash-1")->has_value());
  ASSERT_TRUE(store_->createSession({"hash-2", "amina", 300, 400, 300}).isOk());
  ASSERT_TRUE(store_->prune(400).isOk());  // expired
  EXPECT_FALSE(store_->session("hash-2")->has_value());
  ASSERT_TRUE(store_->createSession({"hash-3", "amina", 300, 900, 300}).isOk());
  ASSERT_TRUE(store_->deleteSession("hash-3").isOk());
  EXPECT_FALSE(store_->session("hash-3")->has_value());
}

TEST_F(StoreTest, SetAsideCountsSince) {
  auto counts = store_->setAsideCounts(0);
  ASSERT_TRUE(counts.isOk());
  EXPECT_TRUE(counts->empty());
}

TEST_F(StoreTest, DatasetRegistry) {
  const auto a = enrol("ag-1", "MA-06");
  upsert(a, "artisanat", core::exportersSpec(), {exporter("001000000000001", "MA-06")});
  auto d = store_->datasets();
  ASSERT_TRUE(d.isOk());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].plugin, "artisanat");
  EXPECT_EQ((*d)[0].table, "artisanat__exporters");
  EXPECT_EQ((*d)[0].columns.size(), core::exportersSpec().columns.size());
}

// A dataset's CSV: agents in (region, id) order, each agent's rows in key order; a region
// filter keeps exactly that region's agents.
TEST_F(StoreTest, DatasetCsvOrdersByRegionAgentAndKey) {
  const auto b = enrol("ag-b", "MA-06");
  const auto a = enrol("ag-a", "MA-09");
  const auto c = enrol("ag-c", "MA-06");
  upsert(a, "artisanat", core::exportersSpec(), {exporter("001000000000002", "MA-09")});
  upsert(b, "artisanat", core::exportersSpec(),
         {exporter("001000000000003", "MA-06"), exporter("001000000000001", "MA-06")});
  upsert(c, "artisanat", core::exportersSpec(), {exporter("001000000000000", "MA-06")});
  auto firstColumns = [&](const std::string& region) {
    std::ostringstream out;
    EXPECT_TRUE(store_->writeCsv("artisanat", "exporters", region, out).isOk());
    std::istringstream in(out.str());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line.substr(0, line.find(',', line.find(',', line.find(',') + 1) + 1)));
    }
    return lines;
  };
  EXPECT_THAT(firstColumns(""),
              ElementsAre("region,agent,exporter_id", "MA-06,ag-b,001000000000001",
                          "MA-06,ag-b,001000000000003", "MA-06,ag-c,001000000000000",
                          "MA-09,ag-a,001000000000002"));
  EXPECT_THAT(firstColumns("MA-09"),
              ElementsAre("region,agent,exporter_id", "MA-09,ag-a,001000000000002"));
  EXPECT_THAT(firstColumns("MA-01"), ElementsAre("region,agent,exporter_id"));
}

// Version 3 drops the per-dataset `_region` indexes of a version 2 store and keeps its rows.
TEST_F(StoreTest, UpgradeFromVersion2DropsRegionIndexes) {
  const auto a = enrol("ag-1", "MA-06");
  upsert(a, "artisanat", core::exportersSpec(), {exporter("001000000000001", "MA-06")});
  store_.reset();
  const std::string path = dir_ + "/central.db";
  auto countIndexes = [&]() {
    auto db = sql::Db::open(path, false);
    EXPECT_TRUE(db.isOk());
    auto s = db->prepare(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = "
        "'artisanat__exporters_region'");
    EXPECT_EQ(s->step(), SQLITE_ROW);
    return s->int64(0);
  };
  {
    auto db = sql::Db::open(path, true);
    ASSERT_TRUE(db.isOk());
    ASSERT_TRUE(db->exec("CREATE INDEX artisanat__exporters_region ON "
                         "artisanat__exporters(_region); PRAGMA user_version=2;")
                    .isOk());
  }
  ASSERT_EQ(countIndexes(), 1);
  auto s = openSqliteCentralStore(path);
  ASSERT_TRUE(s.isOk()) << s.status().message();
  store_ = std::move(*s);
  EXPECT_EQ(countIndexes(), 0);
  {
    auto db = sql::Db::open(path, false);
    auto v = db->prepare("PRAGMA user_version");
    ASSERT_EQ(v->step(), SQLITE_ROW);
    EXPECT_EQ(v->int64(0), 3);
  }
  std::ostringstream out;
  ASSERT_TRUE(store_->writeCsv("artisanat", "exporters", "MA-06", out).isOk());
  EXPECT_THAT(out.str(), HasSubstr("MA-06,ag-1,001000000000001,"));
}

}  // namespace
}  // namespace exportsync::central::test
