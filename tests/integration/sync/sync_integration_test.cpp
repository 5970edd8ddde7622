// Sync end to end with real processes on 127.0.0.1: exportsync-hub and exportsync-agent (and
// exportsyncctl). Every test asserts on what the hub really holds (its CSV export), compared
// per key and per field with the agent's store read through sqlite3.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "exportsync/agent/batch_builder.hpp"
#include "exportsync/agent/store.hpp"
#include "sync_test_support.hpp"

namespace exportsync::synctest {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class SyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { disableCoreDumps(); }

  void TearDown() override {
    if (HasFailure()) {
      for (auto* a : {agent_.get(), other_.get()}) {
        if (a != nullptr) {
          std::fprintf(stderr, "%s\n", a->logs().c_str());
        }
      }
      if (hub_) {
        std::fprintf(stderr, "%s\n", hub_->logs().c_str());
      }
    }
    // Processes die before their folder goes.
    agent_.reset();
    other_.reset();
    hub_.reset();
  }

  void startHub(std::map<std::string, std::string> extra = {}, uint16_t port = 0) {
    hub_ = std::make_unique<HubProcess>(dir_.sub("hub"), std::move(extra), port);
    ASSERT_TRUE(hub_->start());
  }

  /// An agent whose config enrols it with a fresh MA-06 code; runs it once (collect `rows`
  /// items, enrol, sync) and returns its credentials.
  agent::Credentials enrolAndSync(int rows, std::map<std::string, std::string> extra = {}) {
    agent_ = std::make_unique<AgentHome>(dir_.sub("agent"));
    extra["plugin.example.rows"] = std::to_string(rows);
    extra["sync.enrol_code"] = hub_->createCode("MA-06");
    agent_->writeConfig(hub_->url(), extra);
    const auto r = agent_->runOnce();
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("sync: ok"));
    return agent_->credentials();
  }

  /// Inserts `n` rows "<prefix>-1".. into the agent's example__items in one transaction, as
  /// any local process may.
  void insertItems(const std::string& prefix, int n, int quantity_base = 1) {
    agent_->sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                std::to_string(n) + ") INSERT INTO example__items SELECT '" + prefix +
                "-' || i, 'label ' || i, i + " + std::to_string(quantity_base) +
                ", i * 100, CASE WHEN i % 3 = 0 THEN NULL ELSE i / 4.0 END, i % 2, "
                "CASE WHEN i % 4 = 0 THEN NULL ELSE '2024-03-01' END, "
                "'2024-01-01T00:00:00Z' FROM n");
  }

  /// The agent's own next batch (what it would send now), from its store.
  std::string agentNextBatch(const agent::Credentials& c, size_t max_rows = 100000) {
    auto store = agent::Store::open(agent_->dbPath(), false);
    EXPECT_TRUE(store.isOk()) << store.status().message();
    if (!store) {
      return {};
    }
    agent::BatchBuilder builder(**store, c.agent_id, c.region);
    auto next = builder.next(agent_->acked(), max_rows);
    EXPECT_TRUE(next.isOk()) << next.status().message();
    if (!next || !next->has_value()) {
      ADD_FAILURE() << "the agent has nothing to send";
      return {};
    }
    return encode(**next);
  }

  std::string compareAll(const std::string& agent_id) {
    return compareDataset(*hub_, *agent_, agent_id, "items") +
           compareDataset(*hub_, *agent_, agent_id, "runs");
  }

  TempDir dir_;
  std::unique_ptr<HubProcess> hub_;
  std::unique_ptr<AgentHome> agent_;
  std::unique_ptr<AgentHome> other_;
};

// --- enrol, ingest, sync, updates and deletes ----------------------------------------------

TEST_F(SyncTest, EnrolIngestSyncThenUpdatesAndDeletesMatchFieldByField) {
  startHub();
  const auto creds = enrolAndSync(200);
  ASSERT_FALSE(creds.agent_id.empty());
  EXPECT_EQ(creds.region, "MA-06");
  struct stat st {};
  ASSERT_EQ(::stat((agent_->stateDir() + "/credentials.properties").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const Table items = agent_->table("items");
  ASSERT_EQ(items.rows.size(), 200u) << items.error;
  EXPECT_EQ(compareAll(creds.agent_id), "");
  // One row checked against the plugin's own formula, independently of the store.
  const Table at_hub = hubTable(hub_->csv("example", "items"), creds.agent_id, items);
  ASSERT_EQ(at_hub.rows.count("item-3"), 1u);
  EXPECT_EQ(
      at_hub.rows.at("item-3"),
      (std::vector<std::string>{"item-3", "Article 3", "9", "12.53", "1.5", "false", "2024-04-15",
                                Timestamp::fromMicros(1'700'000'000'000'003LL).toIso()}));
  EXPECT_EQ(at_hub.rows.at("item-5")[4], "") << "weight_kg of item-5 is NULL";
  // Acknowledged and purged: nothing waits, both sides agree on the mark.
  EXPECT_EQ(agent_->backlog(), 0);
  EXPECT_EQ(agent_->acked(), agent_->lastSeq());
  EXPECT_EQ(hub_->mark(creds.agent_id), agent_->lastSeq());
  EXPECT_EQ(hub_->agent(creds.agent_id)->optValue<std::string>("region", ""), "MA-06");
  EXPECT_EQ(hub_->agent(creds.agent_id)->optValue<std::string>("region_name", ""),
            "Casablanca-Settat");

  // Updates (awkward text for CSV, NULLs, a float that needs 17 digits, a negative amount),
  // deletes, a key change and a new row, in several transactions through plain SQLite.
  agent_->sql(
      "BEGIN;"
      "UPDATE example__items SET label = 'changed, \"quoted\"' || char(10) || 'line 2 of ' || id,"
      "  quantity = quantity + 1000 WHERE CAST(substr(id, 6) AS INTEGER) % 7 = 0;"
      "UPDATE example__items SET weight_kg = NULL, received = NULL WHERE id IN ('item-1', "
      "'item-2');"
      "UPDATE example__items SET weight_kg = 0.1 + 0.2, unit_price = -5, fragile = 1 "
      "WHERE id = 'item-3';"
      "COMMIT;");
  agent_->sql("DELETE FROM example__items WHERE CAST(substr(id, 6) AS INTEGER) % 10 = 9");
  agent_->sql("UPDATE example__items SET id = 'renamed-4' WHERE id = 'item-4'");
  agent_->sql(
      "INSERT INTO example__items VALUES('new-\xc3\xa9', '\xc3\x9cnic\xc3\xb8"
      "de \xe2\x9c\x93',"
      " 1, 100, 2.5, 1, '2024-02-29', '2024-02-29T12:00:00.123456Z')");
  ASSERT_GT(agent_->backlog(), 40);
  // The plugin now writes no items (rows = 0), so the edits above are what changes.
  agent_->writeConfig(hub_->url(), {{"plugin.example.rows", "0"}});
  const auto r = agent_->runOnce();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  const Table after = agent_->table("items");
  EXPECT_EQ(after.rows.size(), 200u - 20u + 1u);
  EXPECT_EQ(compareAll(creds.agent_id), "");
  const Table hub_after = hubTable(hub_->csv("example", "items"), creds.agent_id, after);
  EXPECT_EQ(hub_after.rows.size(), 181u);
  for (const char* gone : {"item-9", "item-19", "item-199", "item-4"}) {
    EXPECT_EQ(hub_after.rows.count(gone), 0u) << gone << " was deleted at the agent";
  }
  ASSERT_EQ(hub_after.rows.count("renamed-4"), 1u);
  ASSERT_EQ(hub_after.rows.count("item-14"), 1u);
  EXPECT_EQ(hub_after.rows.at("item-14")[1], "changed, \"quoted\"\nline 2 of item-14");
  EXPECT_EQ(hub_after.rows.at("item-14")[2], "1042");
  EXPECT_EQ(hub_after.rows.at("item-3")[3], "-0.05");
  EXPECT_EQ(hub_after.rows.at("item-3")[4], "0.30000000000000004");
  EXPECT_EQ(hub_after.rows.at("item-1")[6], "");
  EXPECT_EQ(agent_->backlog(), 0);
  EXPECT_EQ(hub_->mark(creds.agent_id), agent_->lastSeq());
}

// --- exactly once -------------------------------------------------------------------------

TEST_F(SyncTest, SameBatchTwiceIsAppliedOnceAndALostAcknowledgementChangesNothing) {
  startHub();
  const auto creds = enrolAndSync(50);
  const int64_t mark0 = hub_->mark(creds.agent_id);
  ASSERT_GT(mark0, 0);

  insertItems("twice", 30);
  const std::string wire = agentNextBatch(creds);
  ASSERT_FALSE(wire.empty());
  const auto first = hub_->sync(wire, creds.token);
  ASSERT_EQ(first.status, 200) << first;
  EXPECT_EQ(first.str("result"), "applied");
  EXPECT_EQ(first.json()->optValue<int64_t>("applied", -1), 30);
  EXPECT_EQ(first.json()->optValue<int64_t>("mark", -1), mark0 + 30);
  const std::string after_first = hub_->snapshot();

  const auto second = hub_->sync(wire, creds.token);
  ASSERT_EQ(second.status, 200) << second;
  EXPECT_EQ(second.str("result"), "duplicate");
  EXPECT_EQ(second.json()->optValue<int64_t>("applied", -1), 0);
  EXPECT_EQ(second.json()->optValue<int64_t>("skipped", -1), 30);
  EXPECT_EQ(second.json()->optValue<int64_t>("mark", -1), mark0 + 30);
  EXPECT_EQ(hub_->snapshot(), after_first);
  const Table items = agent_->table("items");
  EXPECT_EQ(hubTable(hub_->csv("example", "items"), creds.agent_id, items).rows.size(), 80u);

  // The agent never saw those acknowledgements (as if the replies were lost after the hub
  // committed): it still holds the 30 changes and resends them. Nothing changes at the hub.
  ASSERT_EQ(agent_->backlog(), 30);
  agent_->writeConfig(hub_->url(), {{"plugins.enabled", ""}});  // pure resend, no new changes
  auto r = agent_->runOnce();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(hub_->snapshot(), after_first);
  EXPECT_EQ(agent_->backlog(), 0) << "the duplicate answer acknowledges and purges";
  EXPECT_EQ(agent_->acked(), mark0 + 30);
  EXPECT_EQ(compareAll(creds.agent_id), "");

  // Overlap: a batch the hub already applied, followed by new changes in the agent's resend;
  // only the new part is applied, nothing twice.
  insertItems("overlap", 10);
  ASSERT_EQ(hub_->sync(agentNextBatch(creds), creds.token).status, 200);
  insertItems("after", 5);
  r = agent_->runOnce();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(compareAll(creds.agent_id), "");
  EXPECT_EQ(
      hubTable(hub_->csv("example", "items"), creds.agent_id, agent_->table("items")).rows.size(),
      95u);
  EXPECT_EQ(hub_->mark(creds.agent_id), agent_->lastSeq());
  EXPECT_EQ(agent_->backlog(), 0);
}

TEST_F(SyncTest, GapIsAnsweredWithTheMarkAndTheAgentRewinds) {
  startHub();
  const auto creds = enrolAndSync(30);
  const int64_t mark = hub_->mark(creds.agent_id);
  ASSERT_EQ(mark, agent_->lastSeq());
  const std::string before = hub_->snapshot();

  // A batch that starts after the hub's mark: 409 with the mark, nothing applied.
  const auto gap = hub_->sync(
      encode(itemsBatch(creds.agent_id, "MA-06", agent_->incarnation(), mark + 100, {"gap-1"})),
      creds.token);
  ASSERT_EQ(gap.status, 409) << gap;
  EXPECT_EQ(gap.str("error"), "gap");
  EXPECT_EQ(gap.json()->optValue<int64_t>("mark", -1), mark);
  EXPECT_THAT(gap.str("message"), HasSubstr("resend from there"));
  EXPECT_EQ(hub_->snapshot(), before);

  // The agent believes the hub holds 20 changes more than it does (its acknowledged mark ran
  // ahead, as when the hub's store was restored from an older backup while the agent's change
  // log still holds them). Its first batch is a gap; it must rewind to the hub's mark.
  insertItems("rewind", 40);
  ASSERT_EQ(agent_->backlog(), 40);
  agent_->sql("UPDATE _meta SET value = '" + std::to_string(mark + 20) +
              "' WHERE key = 'sync_acked'");
  agent_->writeConfig(hub_->url(), {{"plugins.enabled", ""}});
  const auto r = agent_->runOnce();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out + r.err, HasSubstr("rewinding from " + std::to_string(mark + 20)));
  EXPECT_EQ(compareAll(creds.agent_id), "");
  const Table at_hub =
      hubTable(hub_->csv("example", "items"), creds.agent_id, agent_->table("items"));
  EXPECT_EQ(at_hub.rows.count("rewind-1"), 1u) << "changes between the marks arrived";
  EXPECT_EQ(at_hub.rows.size(), 70u);
  EXPECT_EQ(hub_->mark(creds.agent_id), mark + 40);
  EXPECT_EQ(agent_->backlog(), 0);
}

TEST_F(SyncTest, GapTheAgentCannotFillAfterAHubRestoreIsReportedNotSkipped) {
  startHub({}, freePort());  // the agent finds it at the same address after each restart
  const auto creds = enrolAndSync(20);
  // A backup of the hub's store, taken now.
  hub_->stop();
  const std::string backup = dir_.sub("backup");
  fs::copy(hub_->dataDir(), backup, fs::copy_options::recursive);
  ASSERT_TRUE(hub_->start());
  agent_->writeConfig(hub_->url(), {{"plugins.enabled", ""}});
  insertItems("after-backup", 10);
  auto r = agent_->runOnce();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const int64_t acked = agent_->acked();
  // The hub is restored from the backup: it lost the last 10 changes, which the agent purged.
  hub_->stop();
  fs::remove_all(hub_->dataDir());
  fs::copy(backup, hub_->dataDir(), fs::copy_options::recursive);
  ASSERT_TRUE(hub_->start());
  ASSERT_EQ(hub_->mark(creds.agent_id), acked - 10);
  const std::string before = hub_->snapshot();

  insertItems("later", 5);
  r = agent_->runOnce();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("sync: FAILED"),
                           HasSubstr("holds changes only up to seq " + std::to_string(acked - 10)),
                           HasSubstr("restored from a backup")));
  EXPECT_EQ(hub_->snapshot(), before) << "nothing skipped silently, nothing applied";
  EXPECT_EQ(agent_->backlog(), 5) << "the agent keeps what it has not delivered";
}

TEST_F(SyncTest, RecreatedAgentStoreIsRefusedLoudlyNotDeduplicated) {
  startHub();
  const auto creds = enrolAndSync(20);
  const std::string old_incarnation = agent_->incarnation();
  const std::string before = hub_->snapshot();
  // The agent is reinstalled with a fresh store but its old credential: its change sequence
  // restarts at 1, below the hub's mark, and must not pass as duplicates.
  for (const char* f : {"agent.db", "agent.db-wal", "agent.db-shm"}) {
    fs::remove(agent_->stateDir() + "/" + f);
  }
  const auto r = agent_->runOnce();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(agent_->incarnation(), old_incarnation);
  EXPECT_THAT(r.out, AllOf(HasSubstr("sync: FAILED"), HasSubstr("HTTP 409"),
                           HasSubstr("incarnation mismatch"), HasSubstr("re-enrol")));
  EXPECT_EQ(hub_->snapshot(), before);
  EXPECT_THAT(hub_->agent(creds.agent_id)->optValue<std::string>("last_error", ""),
              HasSubstr("incarnation mismatch"));
}

TEST_F(SyncTest, RestoredAgentStoreIsRefusedLoudlyNotDeduplicated) {
  startHub();
  const auto creds = enrolAndSync(20);
  // A backup of the agent's store, then 10 more changes reach the hub.
  const std::string backup = dir_.sub("agent-backup");
  for (const char* f : {"agent.db", "agent.db-wal"}) {
    if (fs::exists(agent_->stateDir() + "/" + f)) {
      fs::copy_file(agent_->stateDir() + "/" + f, backup + "/" + f);
    }
  }
  agent_->writeConfig(hub_->url(), {{"plugins.enabled", ""}});
  insertItems("after-backup", 10);
  auto r = agent_->runOnce();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const int64_t mark = hub_->mark(creds.agent_id);
  // The store is restored from the backup: the same incarnation, a sequence 10 behind the
  // hub. Its next changes would take seqs the hub holds and pass for duplicates.
  for (const char* f : {"agent.db", "agent.db-wal", "agent.db-shm"}) {
    fs::remove(agent_->stateDir() + "/" + f);
    if (fs::exists(backup + "/" + f)) {
      fs::copy_file(backup + "/" + f, agent_->stateDir() + "/" + f);
    }
  }
  insertItems("after-restore", 5);
  const std::string before = hub_->snapshot();
  r = agent_->runOnce();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("sync: FAILED"),
                           HasSubstr("the hub already holds seq " + std::to_string(mark)),
                           HasSubstr("restored from a backup or copied"),
                           HasSubstr("enrol this office again")));
  EXPECT_EQ(hub_->snapshot(), before) << "nothing sent, nothing taken for a duplicate";
  EXPECT_EQ(agent_->backlog(), 5) << "the agent keeps what it has not delivered";
}

TEST_F(SyncTest, HubDownForAWhileThenUpEverythingArrives) {
  const uint16_t port = freePort();
  startHub({}, port);
  const auto creds = enrolAndSync(20);
  hub_->stop();

  // The daemon starts while the hub is down and keeps collecting.
  agent_->writeConfig(
      hub_->url(),
      {{"plugin.example.rows", "20"}, {"sync.backoff_max_s", "2"}, {"sync.heartbeat_s", "1"}});
  agent_->startDaemon();
  ASSERT_TRUE(waitUntil(
      [&] {
        auto s = agent_->syncStatus();
        return s->optValue<std::string>("state", "") == "backoff" &&
               !s->optValue<bool>("hub_reachable", true);
      },
      seconds(30), milliseconds(100)))
      << agent_->logs();
  for (int t = 0; t < 3; ++t) {
    insertItems("offline" + std::to_string(t), 25);
  }
  // The agent sees its backlog grow while the hub is away (nothing is dropped).
  ASSERT_TRUE(
      waitUntil([&] { return agent_->status()->optValue<int64_t>("backlog_rows", 0) >= 75; },
                seconds(30), milliseconds(100)))
      << agent_->status()->optValue<int64_t>("backlog_rows", 0);
  EXPECT_GE(agent_->backlog(), 75);

  ASSERT_TRUE(hub_->start());  // same port, same data
  EXPECT_TRUE(waitUntil([&] { return agent_->backlog() == 0; }, seconds(30), milliseconds(50)))
      << agent_->logs();
  EXPECT_EQ(compareAll(creds.agent_id), "");
  const Table at_hub =
      hubTable(hub_->csv("example", "items"), creds.agent_id, agent_->table("items"));
  EXPECT_EQ(at_hub.rows.size(), 95u);
  EXPECT_TRUE(waitUntil(
      [&] {
        auto s = agent_->syncStatus();
        return s->optValue<std::string>("state", "") == "synced" &&
               s->optValue<bool>("hub_reachable", false);
      },
      seconds(20), milliseconds(100)));
  agent_->stopDaemon();
}

// --- refusals, each changing nothing at the hub --------------------------------------------

TEST_F(SyncTest, BatchClaimingAnotherRegionOrAgentIsRefusedWith403) {
  startHub();
  const auto creds = enrolAndSync(20);
  const int64_t mark = hub_->mark(creds.agent_id);
  const std::string inc = agent_->incarnation();
  const std::string before = hub_->snapshot();

  const auto region =
      hub_->sync(encode(itemsBatch(creds.agent_id, "MA-07", inc, mark, {"r-1"})), creds.token);
  EXPECT_EQ(region.status, 403) << region;
  EXPECT_EQ(region.str("error"), "wrong-partition");
  EXPECT_THAT(region.str("message"),
              AllOf(HasSubstr("region 'MA-07'"), HasSubstr("nothing was applied")));
  EXPECT_EQ(hub_->snapshot(), before);

  // A second agent of the same region: neither may send in the other's name.
  const auto [other_id, other_token] = hub_->enrolDirect(hub_->createCode("MA-06"));
  ASSERT_FALSE(other_id.empty());
  const std::string with_other = hub_->snapshot();
  const auto as_other =
      hub_->sync(encode(itemsBatch(other_id, "MA-06", inc, 0, {"o-1"})), creds.token);
  EXPECT_EQ(as_other.status, 403) << as_other;
  EXPECT_THAT(as_other.str("message"), HasSubstr("claims agent '" + other_id + "'"));
  const auto as_first =
      hub_->sync(encode(itemsBatch(creds.agent_id, "MA-06", inc, mark, {"o-2"})), other_token);
  EXPECT_EQ(as_first.status, 403) << as_first;
  EXPECT_EQ(hub_->snapshot(), with_other);
  // The refusal is visible to admins as the agent's last error.
  EXPECT_THAT(hub_->agent(other_id)->optValue<std::string>("last_error", ""),
              HasSubstr("nothing was applied"));
}

TEST_F(SyncTest, UnknownAndRevokedCredentialsAreRefusedWith401) {
  startHub();
  const auto creds = enrolAndSync(20);
  const int64_t mark = hub_->mark(creds.agent_id);
  const std::string wire =
      encode(itemsBatch(creds.agent_id, "MA-06", agent_->incarnation(), mark, {"c-1"}));
  const std::string before = hub_->snapshot();

  const auto unknown = hub_->sync(wire, "est1." + std::string(64, '0'));
  EXPECT_EQ(unknown.status, 401) << unknown;
  EXPECT_EQ(unknown.str("error"), "unknown-credential");
  const auto none = hub_->sync(wire, "");
  EXPECT_EQ(none.status, 401) << none;
  EXPECT_EQ(none.str("error"), "no-credential");
  EXPECT_EQ(hub_->snapshot(), before);

  const auto revoke =
      hub_->post("/api/v1/admin/agents/" + creds.agent_id + "/revoke", "", hub_->adminToken());
  ASSERT_EQ(revoke.status, 200) << revoke;
  const std::string revoked = hub_->snapshot();
  EXPECT_EQ(hub_->agent(creds.agent_id)->optValue<std::string>("state", ""), "revoked");

  const auto refused = hub_->sync(wire, creds.token);
  EXPECT_EQ(refused.status, 401) << refused;
  EXPECT_EQ(refused.str("error"), "revoked-credential");
  EXPECT_THAT(refused.str("message"), AllOf(HasSubstr("agent '" + creds.agent_id + "'"),
                                            HasSubstr("was revoked"), HasSubstr("enrol again")));
  EXPECT_EQ(hub_->post("/api/v1/status", "{}", creds.token).status, 401);

  // The agent itself: its sync fails with the hub's reason, also when it has nothing to send
  // (never "sync: ok" on a revoked credential), and it keeps its changes.
  agent_->writeConfig(hub_->url(), {{"plugins.enabled", ""}});
  ASSERT_EQ(agent_->backlog(), 0);
  auto r = agent_->runOnce();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("sync: FAILED"), HasSubstr("refused the credential"),
                           HasSubstr("was revoked")));
  insertItems("kept", 3);
  r = agent_->runOnce();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("sync: FAILED"), HasSubstr("was revoked")));
  EXPECT_EQ(agent_->backlog(), 3);
  EXPECT_EQ(hub_->snapshot(), revoked);
}

TEST_F(SyncTest, EnrolmentCodesAreSingleUseExpireAndFailuresAreRateLimited) {
  startHub({{"hub.enrol_failures_per_window", "3"}, {"hub.enrol_window_s", "6"}});
  const std::string code = hub_->createCode("MA-06");
  agent_ = std::make_unique<AgentHome>(dir_.sub("agent"));
  agent_->writeConfig(hub_->url(), {});
  auto r = agent_->ctl({"enroll", "--hub", hub_->url(), "--code", code});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("enrolled as agent"), HasSubstr("MA-06")));
  const std::string before = hub_->snapshot();

  // Replayed code (failure 1).
  other_ = std::make_unique<AgentHome>(dir_.sub("other"));
  other_->writeConfig(hub_->url(), {});
  r = other_->ctl({"enroll", "--hub", hub_->url(), "--code", code});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, AllOf(HasSubstr("HTTP 403"), HasSubstr("already used")));
  EXPECT_FALSE(fs::exists(other_->stateDir() + "/credentials.properties"));
  EXPECT_EQ(hub_->snapshot(), before);

  // Expired code (failure 2): time passes for the code at the hub.
  const std::string late = hub_->createCode("MA-06", 60);
  {
    SqliteDb db(hub_->dbPath(), false);
    ASSERT_EQ(db.exec("UPDATE _enrol_codes SET expires_at = 1 WHERE used_at IS NULL"), "");
  }
  auto e = hub_->post("/api/v1/enrol", "{\"code\":\"" + late + "\",\"hostname\":\"h\"}", "");
  EXPECT_EQ(e.status, 403) << e;
  EXPECT_THAT(e.str("message"), HasSubstr("expired"));

  // Unknown code (failure 3).
  e = hub_->post("/api/v1/enrol", "{\"code\":\"AAAA-BBBB-CCCC\",\"hostname\":\"h\"}", "");
  EXPECT_EQ(e.status, 403) << e;
  EXPECT_THAT(e.str("message"), HasSubstr("unknown"));
  EXPECT_EQ(hub_->snapshot(), before);

  // Now even a good code is refused for a while, and not consumed by the refusal.
  const std::string good = hub_->createCode("MA-06");
  const std::string body = "{\"code\":\"" + good + "\",\"hostname\":\"h\"}";
  e = hub_->post("/api/v1/enrol", body, "");
  EXPECT_EQ(e.status, 429) << e;
  EXPECT_EQ(e.str("error"), "rate-limited");
  EXPECT_EQ(e.headers.count("Retry-After"), 1u);
  EXPECT_EQ(hub_->snapshot(), before);
  Reply later;
  EXPECT_TRUE(waitUntil(
      [&] {
        later = hub_->post("/api/v1/enrol", body, "");
        return later.status != 429;
      },
      seconds(30), milliseconds(250)));
  EXPECT_EQ(later.status, 200) << later;
}

// Builds a zstd frame of `size` zero bytes without holding them (streaming), optionally
// without the content size in the frame header.
std::string zeroFrame(size_t size, bool with_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, with_size ? 1 : 0);
  if (with_size) {
    ZSTD_CCtx_setPledgedSrcSize(cctx, size);
  }
  const std::string zeros(1u << 20, '\0');
  std::string out;
  std::string buf(ZSTD_CStreamOutSize(), '\0');
  size_t left = size;
  for (;;) {
    const size_t n = std::min(left, zeros.size());
    left -= n;
    ZSTD_inBuffer in{zeros.data(), n, 0};
    const ZSTD_EndDirective mode = left == 0 ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      const size_t rem = ZSTD_compressStream2(cctx, &o, &in, mode);
      out.append(buf.data(), o.pos);
      if (ZSTD_isError(rem)) {
        ADD_FAILURE() << ZSTD_getErrorName(rem);
        ZSTD_freeCCtx(cctx);
        return out;
      }
      if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size) {
        break;
      }
    }
    if (left == 0) {
      break;
    }
  }
  ZSTD_freeCCtx(cctx);
  return out;
}

// A batch prefix (docs: magic, version, flags, sizes, crc, last_seq, rows) before `frame`.
std::string withPrefix(const std::string& frame, uint32_t raw_size) {
  std::string p = "ESYB";
  auto le = [&p](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      p += static_cast<char>((v >> (8 * i)) & 0xff);
    }
  };
  le(protocol::kFormatVersion, 2);
  le(0, 2);
  le(frame.size(), 4);
  le(raw_size, 4);
  le(0, 4);  // crc (never reached)
  le(1, 8);
  le(1, 4);
  return p + frame;
}

TEST_F(SyncTest, CorruptTruncatedBombOversizedAndUnknownVersionBodiesAreRefused) {
  startHub({{"hub.max_body_mb", "1"}});
  const auto creds = enrolAndSync(20);
  const int64_t mark = hub_->mark(creds.agent_id);
  const std::string valid =
      encode(itemsBatch(creds.agent_id, "MA-06", agent_->incarnation(), mark, {"v-1", "v-2"}));
  ASSERT_GT(valid.size(), protocol::kPrefixSize + 16);
  const std::string before = hub_->snapshot();
  auto refused = [&](const std::string& body) { return hub_->sync(body, creds.token); };

  auto r = refused("hello, hub: this is not a batch, only some text");
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_EQ(r.str("error"), "bad-batch");
  EXPECT_THAT(r.str("message"), HasSubstr("magic"));

  std::string corrupt = valid;
  char& flipped = corrupt[protocol::kPrefixSize + (valid.size() - protocol::kPrefixSize) / 2];
  flipped = static_cast<char>(flipped ^ 0x5a);
  r = refused(corrupt);
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_EQ(r.str("error"), "bad-batch");

  r = refused(valid.substr(0, valid.size() - 7));
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_THAT(r.str("message"), HasSubstr("truncated"));

  // Truncated on the wire: the declared length never arrives.
  const std::string head =
      "POST /api/v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      creds.token + "\r\nContent-Type: application/x-exportsync-batch\r\n";
  r = rawHttp(hub_->port(),
              head + "Content-Length: " + std::to_string(valid.size()) + "\r\n\r\n" +
                  valid.substr(0, valid.size() / 2),
              /*shutdown_send=*/true);
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_EQ(r.str("error"), "truncated");
  EXPECT_THAT(hub_->agent(creds.agent_id)->optValue<std::string>("last_error", ""),
              HasSubstr("truncated"));

  std::string future = valid;
  future[4] = 2;
  r = refused(future);
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_THAT(r.str("message"), HasSubstr("unknown format version 2"));

  // zstd bombs: 512 MiB of zeros in a few KiB, declared honestly (over the limit), hidden
  // behind a small prefix size, or with no size in the frame. None is expanded.
  constexpr size_t kBomb = 512u << 20;
  const std::string bomb = zeroFrame(kBomb, true);
  ASSERT_LT(bomb.size(), 1u << 20);
  r = refused(withPrefix(bomb, static_cast<uint32_t>(kBomb)));
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_THAT(r.str("message"), HasSubstr("refused before decompressing"));
  r = refused(withPrefix(bomb, 1000));
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_THAT(r.str("message"), HasSubstr("declares"));
  r = refused(withPrefix(zeroFrame(kBomb, false), 1000));
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_THAT(r.str("message"), HasSubstr("does not declare its content size"));
  const long peak_kb = hub_->process()->peakRssKb();
  std::printf("hub peak RSS after the bombs: %ld KiB\n", peak_kb);
  EXPECT_LT(peak_kb, 200L * 1024) << "the hub expanded a bomb? peak RSS " << peak_kb << " KiB";

  // Over hub.max_body_mb (1): refused on the declared length, before the body is read.
  r = rawHttp(hub_->port(), head + "Content-Length: " + std::to_string(3u << 19) + "\r\n\r\n",
              /*shutdown_send=*/false);
  EXPECT_EQ(r.status, 413) << r;
  EXPECT_EQ(r.str("error"), "too-large");

  EXPECT_EQ(hub_->snapshot(), before);
  // The hub is unharmed: the valid batch still applies, exactly.
  r = refused(valid);
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.json()->optValue<int64_t>("mark", -1), mark + 2);
}

TEST_F(SyncTest, AgentCredentialOnAdminEndpointsIsRefusedWith403) {
  startHub();
  const auto creds = enrolAndSync(20);
  const std::string before = hub_->snapshot();
  const std::vector<Reply> replies = {
      hub_->get("/api/v1/admin/agents", creds.token),
      hub_->get("/api/v1/admin/set-aside", creds.token),
      hub_->get("/api/v1/datasets/example/items.csv", creds.token),
      hub_->post("/api/v1/admin/enrolment-codes", "{\"region\":\"MA-06\"}", creds.token),
      hub_->post("/api/v1/admin/agents/" + creds.agent_id + "/revoke", "", creds.token)};
  for (const auto& r : replies) {
    EXPECT_EQ(r.status, 403) << r;
    EXPECT_EQ(r.str("error"), "agent-credential");
  }
  EXPECT_EQ(hub_->get("/api/v1/admin/agents", "esa1.nonsense").status, 401);
  EXPECT_EQ(hub_->snapshot(), before);
  EXPECT_EQ(hub_->agent(creds.agent_id)->optValue<int64_t>("revoked_at", -1), 0);
}

TEST_F(SyncTest, IncompatibleSchemaIsRefusedWith422AndChangesNothing) {
  startHub();
  const auto creds = enrolAndSync(20);
  const int64_t mark = hub_->mark(creds.agent_id);
  const std::string before = hub_->snapshot();

  // example/items again, with quantity as real; plus a new dataset in the same batch, which
  // must not be created either.
  auto b = itemsBatch(creds.agent_id, "MA-06", agent_->incarnation(), mark, {"s-1"});
  b.header.datasets[0].columns[2].type = ColumnType::Real;
  b.changes[0].values[2] = Value(7.5);
  protocol::DatasetDescriptor fresh;
  fresh.plugin = "example";
  fresh.name = "fresh";
  fresh.columns = {{"k", ColumnType::Integer, true, false}};
  b.header.datasets.push_back(fresh);
  protocol::ChangeRecord c;
  c.seq = b.header.last_seq + 1;
  c.dataset = 1;
  c.values = {Value(1)};
  b.changes.push_back(c);
  b.header.last_seq = c.seq;
  b.header.row_count = b.changes.size();
  const auto r = hub_->sync(encode(b), creds.token);
  EXPECT_EQ(r.status, 422) << r;
  EXPECT_EQ(r.str("error"), "schema-refused");
  EXPECT_THAT(r.str("message"), AllOf(HasSubstr("example/items"), HasSubstr("quantity"),
                                      HasSubstr("integer"), HasSubstr("real")));
  EXPECT_EQ(hub_->snapshot(), before);
  EXPECT_EQ(hub_->get("/api/v1/datasets/example/fresh.csv").status, 404);
  EXPECT_THAT(hub_->agent(creds.agent_id)->optValue<std::string>("last_error", ""),
              HasSubstr("quantity"));
}

// Issue 3 (found by these tests): the hub refused some requests before reading their body and
// kept the connection open, so it parsed that body as the client's next request: an agent whose
// heartbeat was refused (revoked credential) got a bare HTTP 400 for its next batch.
TEST_F(SyncTest, Issue3RefusalBeforeTheBodyIsReadDoesNotDesyncAKeptAliveConnection) {
  startHub();
  Poco::Net::HTTPClientSession session("127.0.0.1", hub_->port());
  session.setKeepAlive(true);
  session.setTimeout(Poco::Timespan(30, 0));
  const std::string unknown = "est1." + std::string(64, '0');
  auto r = exchange(session, "POST", "/api/v1/sync", std::string(3000, 'x'), unknown,
                    "application/x-exportsync-batch");
  EXPECT_EQ(r.status, 401) << r;
  r = exchange(session, "POST", "/api/v1/status", "{\"backlog_rows\": 1}", unknown);
  EXPECT_EQ(r.status, 401) << r;
  r = exchange(session, "POST", "/api/v1/nowhere", "{\"a\": 1}", hub_->adminToken());
  EXPECT_EQ(r.status, 404) << r;
  // The next requests on the same session get their own answers.
  r = exchange(session, "GET", "/api/v1/health");
  EXPECT_EQ(r.status, 200) << r;
  r = exchange(session, "POST", "/api/v1/admin/enrolment-codes", "{\"region\":\"MA-03\"}",
               hub_->adminToken());
  EXPECT_EQ(r.status, 201) << r;
  EXPECT_EQ(r.str("region"), "MA-03");
}

// --- set-aside ----------------------------------------------------------------------------

TEST_F(SyncTest, RowTheHubCannotApplyIsSetAsideAndDoesNotBlockTheOthers) {
  startHub();
  const auto creds = enrolAndSync(20);
  // A constraint the agent does not know about, added by a central DBA while the hub is down.
  hub_->stop();
  {
    SqliteDb db(hub_->dbPath(), false);
    ASSERT_EQ(db.exec("CREATE TRIGGER refuse_13 BEFORE INSERT ON example__items "
                      "WHEN NEW.quantity = 13 BEGIN SELECT RAISE(ABORT, 'quantity 13 refused'); "
                      "END"),
              "");
  }
  ASSERT_TRUE(hub_->start());

  agent_->sql(
      "INSERT INTO example__items VALUES"
      "('x-1', 'one', 1, 100, NULL, 0, NULL, '2024-01-01T00:00:00Z'),"
      "('x-13', 'thirteen', 13, 1300, NULL, 0, NULL, '2024-01-01T00:00:00Z'),"
      "('x-2', 'two', 2, 200, NULL, 0, NULL, '2024-01-01T00:00:00Z')");
  // Later changes: the same key again (must wait behind the set-aside one), and another key.
  agent_->sql("UPDATE example__items SET quantity = 14, label = 'fourteen' WHERE id = 'x-13'");
  agent_->sql("UPDATE example__items SET quantity = 22 WHERE id = 'x-2'");
  agent_->sql(
      "INSERT INTO example__items VALUES"
      "('x-3', 'three', 3, 300, NULL, 1, NULL, '2024-01-01T00:00:00Z')");
  // A run of new rows the hub writes in blocks, with one refused row in the middle of a block.
  agent_->sql(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80) "
      "INSERT INTO example__items SELECT 'bulk-' || i, 'bulk', CASE WHEN i = 40 THEN 13 ELSE "
      "1000 + i END, 100, NULL, 0, NULL, '2024-01-01T00:00:00Z' FROM n");
  agent_->writeConfig(hub_->url(), {{"plugins.enabled", ""}});
  const auto r = agent_->runOnce();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(agent_->backlog(), 0) << "set-aside rows do not hold the agent's backlog";
  EXPECT_EQ(hub_->mark(creds.agent_id), agent_->lastSeq());

  const auto aside = hub_->get("/api/v1/admin/set-aside");
  ASSERT_EQ(aside.status, 200) << aside;
  auto list = aside.json()->getArray("set_aside");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u) << aside.body;
  auto first = list->getObject(0);
  auto second = list->getObject(1);
  EXPECT_EQ(list->getObject(2)->optValue<std::string>("key", ""), "[\"bulk-40\"]");
  EXPECT_EQ(first->optValue<std::string>("agent_id", ""), creds.agent_id);
  EXPECT_EQ(first->optValue<std::string>("region", ""), "MA-06");
  EXPECT_EQ(first->optValue<std::string>("dataset", ""), "items");
  EXPECT_EQ(first->optValue<std::string>("key", ""), "[\"x-13\"]");
  EXPECT_EQ(first->optValue<std::string>("op", ""), "I");
  EXPECT_THAT(first->optValue<std::string>("reason", ""), HasSubstr("quantity 13 refused"));
  EXPECT_THAT(first->optValue<std::string>("row", ""), HasSubstr("thirteen"));
  EXPECT_EQ(second->optValue<std::string>("key", ""), "[\"x-13\"]");
  EXPECT_EQ(second->optValue<std::string>("op", ""), "U");
  EXPECT_THAT(second->optValue<std::string>("reason", ""), HasSubstr("waits behind"));
  EXPECT_THAT(second->optValue<std::string>("row", ""), HasSubstr("fourteen"));
  EXPECT_LT(first->optValue<int64_t>("seq", 0), second->optValue<int64_t>("seq", 0));

  // Everything else arrived, including the changes behind the refused row.
  Table agent_items = agent_->table("items");
  ASSERT_EQ(agent_items.rows.count("x-13"), 1u);
  agent_items.rows.erase("x-13");
  ASSERT_EQ(agent_items.rows.count("bulk-40"), 1u);
  agent_items.rows.erase("bulk-40");
  const Table at_hub = hubTable(hub_->csv("example", "items"), creds.agent_id, agent_items);
  EXPECT_EQ(diffTables(at_hub, agent_items), "");
  ASSERT_EQ(at_hub.rows.count("x-2"), 1u);
  EXPECT_EQ(at_hub.rows.at("x-2")[2], "22");
  EXPECT_EQ(at_hub.rows.count("x-3"), 1u);
  EXPECT_EQ(at_hub.rows.count("bulk-39"), 1u);
  EXPECT_EQ(at_hub.rows.count("bulk-41"), 1u);
}

// --- stalled ------------------------------------------------------------------------------

TEST_F(SyncTest, BacklogTheHubKeepsRefusingIsReportedStalledOnBothSides) {
  startHub({{"hub.stall_after_s", "3"}});
  // Another office's plugin build declared example/items first, with quantity as real.
  const auto [b_id, b_token] = hub_->enrolDirect(hub_->createCode("MA-07"));
  auto b = itemsBatch(b_id, "MA-07", "other-office", 0, {"b-1"});
  b.header.datasets[0].columns[2].type = ColumnType::Real;
  b.changes[0].values[2] = Value(1.5);
  const auto applied = hub_->sync(encode(b), b_token);
  ASSERT_EQ(applied.status, 200) << applied;

  // This agent's example/items (quantity integer) is refused at every attempt.
  agent_ = std::make_unique<AgentHome>(dir_.sub("agent"));
  agent_->writeConfig(hub_->url(), {{"sync.enrol_code", hub_->createCode("MA-06")},
                                    {"sync.stall_after_s", "2"},
                                    {"sync.heartbeat_s", "1"},
                                    {"sync.backoff_max_s", "1"}});
  agent_->startDaemon();
  JsonPtr status;
  ASSERT_TRUE(waitUntil(
      [&] {
        status = agent_->syncStatus();
        return status->optValue<std::string>("state", "") == "stalled";
      },
      seconds(40), milliseconds(100)))
      << agent_->logs();
  EXPECT_THAT(status->optValue<std::string>("last_error", ""),
              AllOf(HasSubstr("HTTP 422"), HasSubstr("example/items"), HasSubstr("quantity")));
  EXPECT_TRUE(status->optValue<bool>("hub_reachable", false));
  EXPECT_GT(agent_->status()->optValue<int64_t>("backlog_rows", 0), 0);

  const auto ctl = agent_->ctl({"status"});
  EXPECT_EQ(ctl.exit_code, 1) << ctl.out << ctl.err;
  EXPECT_THAT(ctl.out, AllOf(HasSubstr("sync:    stalled"), HasSubstr("behind:"),
                             HasSubstr("last error: hub refused the batch (HTTP 422)"),
                             HasSubstr("quantity"), HasSubstr("what to do")));

  const std::string id = agent_->credentials().agent_id;
  JsonPtr at_hub;
  EXPECT_TRUE(waitUntil(
      [&] {
        at_hub = hub_->agent(id);
        return at_hub->optValue<std::string>("state", "") == "stalled";
      },
      seconds(30), milliseconds(200)))
      << "hub state: " << at_hub->optValue<std::string>("state", "?");
  EXPECT_THAT(at_hub->optValue<std::string>("last_error", ""),
              AllOf(HasSubstr("refused by the hub"), HasSubstr("quantity")));
  // Nothing of this agent reached the hub.
  EXPECT_EQ(at_hub->optValue<int64_t>("mark", -1), 0);
  size_t others = 0;
  const Table mine = hubTable(hub_->csv("example", "items"), id, agent_->table("items"), &others);
  EXPECT_EQ(mine.rows.size(), 0u);
  EXPECT_EQ(others, 1u);
  agent_->stopDaemon();
}

}  // namespace
}  // namespace exportsync::synctest
