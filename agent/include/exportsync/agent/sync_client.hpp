// The agent's side of sync: enrolment and credentials, the HTTP(S) client to the hub, and the
// sync loop that sends the change log in batches, purges what the hub acknowledged, backs off
// when the link is down and reports its state (including "stalled") in heartbeats.
//
// THREAD: SyncClient runs its own thread between start() and stop(); wake(), status() and
// stop() are safe from any thread. It opens its own Store connection.
// OWNERSHIP: values; the status callback is borrowed and must outlive the client.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "exportsync/agent/config.hpp"
#include "exportsync/status.hpp"

namespace exportsync::agent {

/// What enrolment gives an agent; stored 0600 in <state_dir>/credentials.properties.
struct Credentials {
  std::string hub_url;
  std::string agent_id;
  std::string region;
  std::string token;
};

/// Path of the credentials file in a state folder.
std::string credentialsPath(const std::string& state_dir);
/// nullopt when the agent is not enrolled yet.
Result<std::optional<Credentials>> loadCredentials(const std::string& state_dir);
/// Writes the file with mode 0600 (atomically: temp file, fsync, rename).
Status saveCredentials(const std::string& state_dir, const Credentials& creds);

/// One HTTP exchange's result.
struct HttpReply {
  int status = 0;
  std::string body;
};

/// A kept-alive HTTP(S) connection to the hub. HTTPS verifies the hub's certificate against
/// `ca_file` or, when empty, the system store; a certificate problem is reported as such.
class HubClient {
 public:
  HubClient(std::string hub_url, std::string ca_file, std::chrono::seconds timeout);
  ~HubClient();
  HubClient(const HubClient&) = delete;
  HubClient& operator=(const HubClient&) = delete;
  /// POSTs `body`; a transport failure (refused, timed out, TLS) is a failed Result (Code::Io).
  Result<HttpReply> post(const std::string& path, const std::string& body,
                         const std::string& content_type, const std::string& token);
  Result<HttpReply> get(const std::string& path, const std::string& token);
  void setTimeout(std::chrono::seconds timeout);
  /// Bytes sent and received on the wire (bodies and headers) since creation.
  int64_t bytesSent() const;
  int64_t bytesReceived() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Trades a one-time code for the agent's credential and stores it. `region` (from the agent
/// config) must match the code's region.
Result<Credentials> enrol(const std::string& hub_url, const std::string& code,
                          const std::string& ca_file, const std::string& region,
                          const std::string& state_dir);

/// The sync loop's state, for status and heartbeats.
struct SyncStatus {
  std::string state = "starting";  ///< not-enrolled, synced, syncing, backoff, error, stalled
  std::string agent_id;
  std::string hub_url;
  bool hub_reachable = false;
  int64_t acked_seq = 0;
  int64_t backlog_rows = 0;
  int64_t backlog_bytes = 0;
  int64_t oldest_unacked_at = 0;  ///< unix seconds, 0 when none
  int64_t last_sync_ok_at = 0;
  int64_t last_ack_progress_at = 0;
  std::string last_result;  ///< last sync exchange, one line
  std::string last_error;
  int64_t last_error_at = 0;
  int64_t batch_rows = 0;  ///< current adaptive batch size
  int64_t rows_sent = 0;
  int64_t batches_sent = 0;
  int64_t bytes_sent = 0;
  bool backlog_warning = false;  ///< over sync.backlog_warn_mb
  bool backlog_full = false;     ///< over sync.backlog_max_mb: collect runs pause
};

/// Where the agent's store stood when the agent started, for the check of a store that went
/// back in time. The hub holds only changes this store numbered, so a hub mark above the
/// store's last seq at start means the store was restored from a backup, or copied, after the
/// hub received more from it: its next changes would take seqs the hub already holds and pass
/// for duplicates. The check runs once per process, at the first answer from the hub and
/// before any batch is sent; the SyncClients of one process (a reload makes a new one) share it.
struct SyncStartPoint {
  int64_t last_seq = 0;
  std::atomic<bool> checked{false};
};

class SyncClient {
 public:
  /// `heartbeat_json` builds the agent status sent to the hub (called on the sync thread).
  /// Without `start` the restored-store check is skipped.
  SyncClient(const AgentConfig& config, std::function<std::string()> heartbeat_json,
             std::shared_ptr<SyncStartPoint> start = nullptr);
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  void start();
  void stop();
  /// Something was committed: look at the change log now.
  void wake();
  SyncStatus status() const;

  /// One synchronous round (tests, --once): sends batches until the backlog is empty or an
  /// error occurs. Not to be mixed with start().
  Status syncNow();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exportsync::agent
