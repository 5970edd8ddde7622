// The hub: a Poco HTTP(S) server with the sync API under /api/v1/ (enrol, sync, status, admin,
// CSV export) over a CentralStore, the dashboard API (sessions, monitoring, alerts, indicators)
// and /metrics. The HTTP API is specified in docs/protocol.md and docs/dashboard-api.md. A
// monitor thread re-evaluates the alerts and prunes the history.
//
// THREAD: start()/stop() from one thread; requests are served by the server's thread pool.
// OWNERSHIP: the Hub owns its store and server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "exportsync/central/central_store.hpp"
#include "exportsync/central/dashboard.hpp"
#include "exportsync/status.hpp"

namespace exportsync::central {

struct HubConfig {
  std::string source;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8443;  ///< 0: any free port (see port_file)
  std::string port_file;        ///< when set, the bound port is written there
  std::string data_dir;         ///< holds central.db
  std::string tls_certificate;  ///< PEM; empty means plain HTTP (loopback only)
  std::string tls_private_key;
  std::string admin_token_sha256;  ///< optional admin token hash from the config
  int64_t max_body_bytes = 64ll << 20;
  int64_t request_timeout_s = 120;  ///< a whole request, read to answered
  int64_t idle_timeout_s = 15;      ///< one socket read
  int threads = 16;
  int64_t enrol_code_ttl_s = 7 * 86400;
  int64_t enrol_failures_per_window = 5;  ///< per client address
  int64_t enrol_window_s = 600;
  int64_t stall_after_s = 300;  ///< backlog and no ack progress for this long: stalled
  // Dashboard (docs/dashboard-api.md §11).
  int64_t session_ttl_s = 43200;
  int64_t session_idle_s = 1800;
  int64_t login_max_failures_per_user = 5;
  int64_t login_max_failures_per_ip = 20;
  int64_t login_window_s = 900;
  int pbkdf2_iterations = 210000;
  MonitorConfig monitor;  ///< stall_after_s is copied from above
  int64_t monitor_interval_s = 15;
  std::string metrics_token_sha256;
  bool metrics_allow_loopback = false;
  int64_t target_exporters = 12000;
  int target_year = 2035;
  std::string log_target = "console";
  std::string log_file;
  std::string log_level = "information";

  std::string storePath() const { return data_dir + "/central.db"; }
};

Result<HubConfig> loadHubConfig(const std::string& path);

/// SHA-256 of `text`, lower-case hex.
std::string sha256Hex(const std::string& text);

class Hub {
 public:
  static Result<std::unique_ptr<Hub>> create(HubConfig config);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  /// Binds and starts serving; writes the port file.
  Status start();
  void stop();
  uint16_t port() const;
  CentralStore& store();
  /// Creates an admin token, stores its hash, returns the token (shown once).
  Result<std::string> createAdminToken(const std::string& label);
  /// Creates a dashboard admin or sets a new password (ending its sessions). True when created.
  Result<bool> createAdmin(const std::string& user, const std::string& password);
  /// One evaluation of the alerts (what the monitor thread does every interval).
  Status evaluateAlertsForTest();

  struct Impl;  // opaque

 private:
  explicit Hub(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace exportsync::central
