// The hub: a Poco HTTP(S) server with the sync API under /api/v1/ (enrol, sync, status, admin,
// CSV export) over a CentralStore. The HTTP API is specified in docs/protocol.md.
//
// THREAD: start()/stop() from one thread; requests are served by the server's thread pool.
// OWNERSHIP: the Hub owns its store and server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "exportsync/central/central_store.hpp"
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

  struct Impl;  // opaque

 private:
  explicit Hub(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace exportsync::central
