// The agent's local store: one SQLite database (WAL) holding a table per declared dataset,
// the change log `_changes` filled by triggers, per-plugin durable state and plugin health.
//
// Change capture: triggers on every dataset table append each insert, update and delete to
// `_changes` (seq, txn, dataset, op, key, row image) in the same transaction as the write, so
// writes made by any process through plain SQLite are captured too. See docs/architecture.md.
//
// THREAD: a Store is one connection, used by one thread at a time. Other threads or processes
// open their own Store on the same file; SQLite serialises writers (busy timeout 10 s).
// OWNERSHIP: Writer pointers returned by writer() belong to the Store and stay valid until the
// run ends (commitRun/rollbackRun).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/status.hpp"

namespace exportsync::agent {

/// A dataset as the store holds it: columns in table order (declaration order, then columns
/// added later).
struct StoredDataset {
  int64_t id = 0;
  std::string plugin;
  DatasetSpec spec;
  std::string table;  ///< SQLite table name
};

/// One entry of the change log.
struct Change {
  int64_t seq = 0;
  int64_t txn = 0;
  int64_t dataset_id = 0;
  char op = 'I';                   ///< 'I' insert, 'U' update, 'D' delete
  std::string key;                 ///< JSON array of the key columns, in key order
  std::optional<std::string> row;  ///< JSON array of all columns in table order; none for 'D'
  int64_t at = 0;                  ///< unix seconds when captured
};

/// Health of a plugin, kept across restarts.
struct PluginHealth {
  std::string plugin;
  int64_t consecutive_failures = 0;
  bool quarantined = false;
  std::string config_hash;  ///< quarantine lasts while the plugin's config hash is unchanged
  int64_t last_run_at = 0;  ///< unix seconds
  std::string last_result;  ///< "ok", "failed", "" (never ran)
  std::string last_error;
  int64_t last_upserted = 0;
  int64_t last_removed = 0;
  int64_t last_rejected = 0;
  int64_t last_duration_ms = 0;
};

class Store {
 public:
  /// Version of the agent's own tables; stored in PRAGMA user_version.
  static constexpr int kSchemaVersion = 1;

  /// Opens the store at `path`, creating it (and a new incarnation id) when absent, in WAL
  /// mode with synchronous=FULL, and migrates the agent tables forward. Refuses a store written
  /// by a newer agent. `migrate` false opens an existing store without creating or migrating
  /// (plugin workers).
  static Result<std::unique_ptr<Store>> open(const std::string& path, bool migrate = true);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;
  /// Random id made when the store was created; a new store means a new incarnation.
  const std::string& incarnation() const;

  /// Applies a declared dataset for `plugin`: creates its table and triggers, or adds new
  /// (nullable) columns. An incompatible change (type, key, nullability, dropped column,
  /// lower version) is refused with the reason and changes nothing.
  Status applySchema(const std::string& plugin, const DatasetSpec& declared);
  /// The datasets the store holds (all plugins).
  Result<std::vector<StoredDataset>> datasets();
  Result<std::optional<StoredDataset>> dataset(const std::string& plugin, const std::string& name);

  // --- Runs: one write transaction --------------------------------------------------------
  /// Starts a write transaction (BEGIN IMMEDIATE) and a new change-log transaction id.
  Status beginRun();
  Status commitRun();
  /// Rolls back if a run is open; never fails.
  void rollbackRun();
  bool inRun() const;

  /// Writes rows of one dataset, taking values in the plugin's declared column order.
  class Writer {
   public:
    virtual ~Writer() = default;
    /// Inserts or replaces by key. The reason names the column when a value does not fit.
    virtual Status upsert(const es_value* values, size_t count) = 0;
    /// Deletes by key (key columns in key order). Deleting a missing row is not an error.
    virtual Status remove(const es_value* key, size_t count) = 0;
    virtual const DatasetSpec& declared() const = 0;
  };
  /// A writer for `plugin`'s dataset as declared (the schema must have been applied).
  Result<Writer*> writer(const std::string& plugin, const DatasetSpec& declared);

  // --- Plugin state (part of the current run's transaction when one is open) --------------
  Result<std::optional<std::string>> stateGet(const std::string& plugin, const std::string& key);
  Status statePut(const std::string& plugin, const std::string& key, const std::string& value);
  Status stateErase(const std::string& plugin, const std::string& key);

  // --- Change log --------------------------------------------------------------------------
  /// Up to `limit` changes with seq > `after`, in seq order.
  Result<std::vector<Change>> changesAfter(int64_t after, size_t limit);
  /// Highest seq ever assigned (0 when none).
  Result<int64_t> lastSeq();
  /// Number of entries in the change log.
  Result<int64_t> changeCount();
  /// Number of rows in a dataset's table.
  Result<int64_t> rowCount(const StoredDataset& dataset);

  // --- Plugin health -----------------------------------------------------------------------
  Result<std::optional<PluginHealth>> health(const std::string& plugin);
  Status putHealth(const PluginHealth& health);
  /// Clears a plugin's quarantine and failure count; false when the plugin has no record.
  Result<bool> clearQuarantine(const std::string& plugin);

  // --- Sync bookkeeping ----------------------------------------------------------------------
  /// The hub's mark as last acknowledged: every change with seq <= it is at the hub.
  Result<int64_t> syncAcked();
  /// Records the hub's mark. The changes up to it stay in the log until purgeAcknowledged();
  /// nothing reads them again (every read of the log starts after the mark).
  Status acknowledge(int64_t mark);
  /// Deletes the changes with seq <= `through` (one statement, its own transaction). Pass only
  /// a mark the hub itself acknowledged: the recorded mark may have been rewound or edited.
  Status purgeAcknowledged(int64_t through);
  struct Backlog {
    int64_t rows = 0;
    int64_t bytes = 0;      ///< bytes of keys and row images waiting
    int64_t oldest_at = 0;  ///< unix seconds of the oldest waiting change, 0 when none
  };
  /// The changes after the mark; scans that part of the change log only (never a dataset table).
  Result<Backlog> backlog();
  /// Reads a value of the agent's own metadata (`_meta`); empty when absent.
  Result<std::string> meta(const std::string& key);
  Status setMeta(const std::string& key, const std::string& value);

  /// Runs SQL directly (tests and tools).
  Status execForTest(const std::string& sql);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Name of the SQLite table for a plugin's dataset: <plugin>__<dataset>, '-' as '_'.
std::string datasetTableName(const std::string& plugin, const std::string& dataset);

}  // namespace exportsync::agent
