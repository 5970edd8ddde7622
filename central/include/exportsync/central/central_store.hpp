// The hub's store: agents and their credentials, enrolment codes, the consolidated rows of
// every dataset (per agent and region), the high-water mark per agent, staged partial
// transactions and set-aside rows; and, for the dashboard (docs/dashboard-api.md), admin
// accounts and sessions, the monitoring history, alerts, recent errors and the indicators of
// docs/indicators.md. SQLite (WAL) by default; the interface is what a PostgreSQL backend
// implements later.
//
// THREAD: implementations are safe to call from several HTTP threads at once (writes are
// serialised inside; reads for the dashboard use connections of their own). OWNERSHIP: values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/protocol/batch.hpp"
#include "exportsync/status.hpp"

namespace exportsync::central {

struct AgentRecord {
  std::string id;
  std::string region;
  std::string hostname;
  std::string incarnation;  ///< empty until the first batch
  int64_t created_at = 0;
  int64_t revoked_at = 0;    ///< 0 when active
  int64_t mark = 0;          ///< every change with seq <= mark is durable at the hub
  int64_t applied_seq = 0;   ///< changes <= applied_seq are applied (the rest are staged)
  int64_t last_seen = 0;     ///< unix seconds of the last request
  int64_t last_sync_at = 0;  ///< unix seconds of the last accepted batch
  int64_t mark_changed_at = 0;
  std::string status_json;  ///< last heartbeat as sent by the agent
  std::string last_error;   ///< last refusal of one of its batches
  int64_t rows_received = 0;
  int64_t bytes_received = 0;
  int64_t batches_received = 0;
  int64_t errors = 0;  ///< refused requests of this agent, ever

  // Extracted from the last heartbeat (see HeartbeatSummary), 0 before the first one.
  int64_t heartbeat_at = 0;
  int64_t backlog_rows = 0;
  int64_t backlog_bytes = 0;
  int64_t oldest_unacked_age_s = 0;  ///< as of heartbeat_at
  int64_t disk_free_bytes = -1;      ///< -1: unknown
  bool backlog_warning = false;
  bool backlog_full = false;
  int64_t plugins_failing = 0;
  int64_t plugins_quarantined = 0;
  int64_t rows_rejected = 0;     ///< sum of the plugins' rejected rows in their last runs
  int64_t backlog_since = 0;     ///< since when the backlog has not shrunk (0: empty)
  int64_t backlog_at_since = 0;  ///< the backlog then
};

/// What the hub reads out of a heartbeat's JSON to monitor an agent without parsing it again.
struct HeartbeatSummary {
  int64_t backlog_rows = 0;
  int64_t backlog_bytes = 0;
  int64_t oldest_unacked_age_s = 0;
  int64_t disk_free_bytes = -1;
  bool backlog_warning = false;
  bool backlog_full = false;
  int64_t plugins_failing = 0;  ///< last run failed, or enabled but refused at load
  int64_t plugins_quarantined = 0;
  int64_t rows_rejected = 0;
};

/// An admin session (the id itself is never stored, only its SHA-256).
struct SessionRecord {
  std::string id_hash;
  std::string user;
  int64_t created_at = 0;
  int64_t expires_at = 0;  ///< absolute end
  int64_t last_used = 0;
};

/// One bucket of the monitoring history (docs/dashboard-api.md, "history").
struct HistoryPoint {
  int64_t t = 0;  ///< bucket start, unix seconds
  int64_t rows = 0;
  int64_t bytes = 0;
  int64_t batches = 0;
  int64_t backlog_rows = 0;
  int64_t lag_s = 0;
};

struct HistoryQuery {
  int64_t step_s = 300;  ///< 300 or 3600: the two resolutions kept
  int64_t from = 0;      ///< first bucket start (inclusive)
  int64_t to = 0;        ///< last bucket start (inclusive)
  std::string region;    ///< empty: national
  std::string agent_id;  ///< empty: not one agent
};

struct AlertRecord {
  int64_t id = 0;
  std::string code;      ///< machine code, e.g. "agent-silent"
  std::string severity;  ///< "critical", "warning" or "info"
  std::string agent_id;
  std::string region;
  std::string subject;  ///< the plugin for plugin alerts, else empty
  std::string message;  ///< French, says what to do
  int64_t since = 0;
  int64_t at = 0;
  int64_t count = 0;
  int64_t resolved_at = 0;
  std::string resolved_by;
};

struct AlertQuery {
  bool open_only = true;
  std::string region;
  std::string agent_id;
  size_t limit = 200;
};

struct AgentError {
  int64_t at = 0;
  std::string message;
};

struct DatasetInfo {
  std::string plugin;
  std::string name;
  uint32_t version = 0;
  std::string table;
  std::vector<Column> columns;
};

/// The indicators of one scope (a region or the nation); docs/indicators.md.
struct IndicatorRow {
  std::string region;  ///< "MA-06", or "national"
  int64_t active_exporters = 0;
  int64_t export_value_centimes = 0;
  double share_of_national_value = 0;
  int64_t mono_product_exporters = 0;
  int64_t mono_market_exporters = 0;
  double hhi_destinations = 0;
  int64_t new_exporters = 0;
  struct Top {
    std::string key;  ///< HS heading (4 digits) or destination country
    int64_t value_centimes = 0;
    double share = 0;
  };
  std::vector<Top> top_products;
  std::vector<Top> top_destinations;
};

struct IndicatorQuery {
  std::string window_from;  ///< first period "YYYY-MM" (inclusive)
  std::string window_to;    ///< last period "YYYY-MM" (inclusive)
  int year = 0;             ///< the year of "new exporters"
  size_t top = 10;
};

struct IndicatorSource {
  std::string plugin;
  bool exporters = false;     ///< its exporters table is used
  bool export_flows = false;  ///< its export_flows table is used
  std::string skipped;        ///< why a table it has is not used (columns differ), else empty
};

struct Indicators {
  std::vector<IndicatorSource> sources;
  IndicatorRow national;
  std::vector<IndicatorRow> regions;  ///< the 12 regions in code order
};

/// What applying a batch did.
struct ApplyOutcome {
  enum class Kind { Applied, Staged, Duplicate, Gap };
  Kind kind = Kind::Applied;
  int64_t mark = 0;       ///< the agent's mark after the call
  int64_t applied = 0;    ///< changes applied now (including staged ones completed now)
  int64_t skipped = 0;    ///< changes at or below the mark (overlap)
  int64_t set_aside = 0;  ///< changes set aside now
};

struct SetAsideRow {
  int64_t id = 0;
  std::string agent_id;
  std::string region;
  std::string plugin;
  std::string dataset;
  int64_t seq = 0;
  char op = 'I';
  std::string key;  ///< JSON array
  std::string row;  ///< JSON array, empty for deletes
  std::string reason;
  int64_t at = 0;
};

class CentralStore {
 public:
  virtual ~CentralStore() = default;

  // Credentials.
  virtual Status addAdminToken(const std::string& token_hash, const std::string& label) = 0;
  virtual Result<bool> isAdminToken(const std::string& token_hash) = 0;
  virtual Status addEnrolmentCode(const std::string& code_hash, const std::string& region,
                                  int64_t expires_at) = 0;
  /// Consumes a valid code and creates the agent, atomically. Fails (Code::Invalid) when the
  /// code is unknown, used or expired.
  virtual Result<AgentRecord> enrol(const std::string& code_hash, int64_t now,
                                    const std::string& agent_id, const std::string& token_hash,
                                    const std::string& hostname) = 0;
  virtual Result<std::optional<AgentRecord>> agentByToken(const std::string& token_hash) = 0;
  virtual Result<std::optional<AgentRecord>> agent(const std::string& id) = 0;
  virtual Result<std::vector<AgentRecord>> agents() = 0;
  /// False when no such agent.
  virtual Result<bool> revoke(const std::string& agent_id, int64_t now) = 0;

  /// Applies (or stages, or acknowledges) a decoded batch for `agent`, with the mark, in one
  /// transaction. `wire` is the batch as received (kept when staged). Refusals (incarnation,
  /// schema) return a failed Status and change nothing.
  virtual Result<ApplyOutcome> applyBatch(const AgentRecord& agent, const protocol::Batch& batch,
                                          std::string_view wire, int64_t now) = 0;
  /// Keeps the heartbeat as sent, its summary, and samples the history.
  virtual Status recordHeartbeat(const std::string& agent_id, const std::string& status_json,
                                 const HeartbeatSummary& summary, int64_t now) = 0;
  /// Records a refusal of one of the agent's requests (last error, recent errors, counter).
  virtual Status recordError(const std::string& agent_id, const std::string& error) = 0;

  /// Writes a dataset's consolidated rows as CSV (header line first). Code::Invalid when the
  /// dataset is unknown.
  virtual Status writeCsv(const std::string& plugin, const std::string& dataset,
                          const std::string& region, std::ostream& out) = 0;
  virtual Result<std::vector<SetAsideRow>> setAside(size_t limit) = 0;

  // --- dashboard (docs/dashboard-api.md) ------------------------------------------------------

  /// Every agent without its raw heartbeat (status_json left empty): cheap, for the overview.
  virtual Result<std::vector<AgentRecord>> agentSummaries() = 0;
  virtual Result<std::vector<AgentError>> recentErrors(const std::string& agent_id,
                                                       size_t limit) = 0;
  /// Set-aside rows per agent recorded at or after `since`.
  virtual Result<std::map<std::string, int64_t>> setAsideCounts(int64_t since) = 0;

  /// Creates the admin or replaces its password (and ends its sessions). True when created.
  virtual Result<bool> setAdminPassword(const std::string& user, const std::string& password_hash,
                                        int64_t now) = 0;
  /// The stored PBKDF2 string of `user`, or nullopt when there is no such admin.
  virtual Result<std::optional<std::string>> adminPasswordHash(const std::string& user) = 0;
  virtual Status createSession(const SessionRecord& session) = 0;
  virtual Result<std::optional<SessionRecord>> session(const std::string& id_hash) = 0;
  virtual Status touchSession(const std::string& id_hash, int64_t now) = 0;
  virtual Status deleteSession(const std::string& id_hash) = 0;

  /// Dense series: one point per bucket from query.from to query.to.
  virtual Result<std::vector<HistoryPoint>> history(const HistoryQuery& query) = 0;

  /// Opens the alert (code, agent, subject) or, when open, updates its message, `at`, count.
  virtual Status raiseAlert(const AlertRecord& alert, int64_t now) = 0;
  /// For the alerts whose code is in `codes`: opens or updates `wanted`, and resolves every
  /// other open one (by "hub"). One transaction.
  virtual Status reconcileAlerts(const std::vector<std::string>& codes,
                                 const std::vector<AlertRecord>& wanted, int64_t now) = 0;
  /// False when no such open alert.
  virtual Result<bool> resolveAlert(int64_t id, const std::string& by, int64_t now) = 0;
  virtual Result<std::vector<AlertRecord>> alerts(const AlertQuery& query) = 0;

  /// Drops history beyond its retention and expired sessions.
  virtual Status prune(int64_t now) = 0;

  virtual Result<std::vector<DatasetInfo>> datasets() = 0;
  /// Writes the union of every plugin's core dataset ("exporters" or "export_flows") as CSV:
  /// plugin,region,agent,<core columns>. Code::Invalid for another name.
  virtual Status writeCoreCsv(const std::string& dataset, const std::string& region,
                              std::ostream& out) = 0;
  virtual Result<Indicators> indicators(const IndicatorQuery& query) = 0;
};

/// Opens (creating) the SQLite central store at `path`.
Result<std::unique_ptr<CentralStore>> openSqliteCentralStore(const std::string& path);

}  // namespace exportsync::central
