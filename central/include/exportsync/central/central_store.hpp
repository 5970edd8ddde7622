// The hub's store: agents and their credentials, enrolment codes, the consolidated rows of
// every dataset (per agent and region), the high-water mark per agent, staged partial
// transactions and set-aside rows. SQLite (WAL) by default; the interface is what a PostgreSQL
// backend implements later.
//
// THREAD: implementations are safe to call from several HTTP threads at once (writes are
// serialised inside). OWNERSHIP: values.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

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
  virtual Status recordHeartbeat(const std::string& agent_id, const std::string& status_json,
                                 int64_t now) = 0;
  virtual Status recordError(const std::string& agent_id, const std::string& error) = 0;

  /// Writes a dataset's consolidated rows as CSV (header line first). Code::Invalid when the
  /// dataset is unknown.
  virtual Status writeCsv(const std::string& plugin, const std::string& dataset,
                          const std::string& region, std::ostream& out) = 0;
  virtual Result<std::vector<SetAsideRow>> setAside(size_t limit) = 0;
};

/// Opens (creating) the SQLite central store at `path`.
Result<std::unique_ptr<CentralStore>> openSqliteCentralStore(const std::string& path);

}  // namespace exportsync::central
