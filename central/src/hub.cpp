#include "exportsync/central/hub.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/NumberParser.h>
#include <Poco/SHA2Engine.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "exportsync/central/admin_auth.hpp"
#include "exportsync/central/metrics.hpp"
#include "exportsync/protocol/batch.hpp"
#include "exportsync/random.hpp"
#include "exportsync/schema_sql.hpp"
#include "web_assets.hpp"

namespace exportsync::central {

using Poco::JSON::Array;
using Poco::JSON::Object;
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// --- small helpers ----------------------------------------------------------------------------

std::string sha256Hex(const std::string& text) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(text);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

namespace {

int64_t nowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

constexpr const char* kSessionCookie = "es_session";
constexpr const char* kCsrfHeader = "X-CSRF-Token";

bool isLoopback(const std::string& host) {
  try {
    return Poco::Net::IPAddress(host).isLoopback();
  } catch (const Poco::Exception&) {
    return host == "localhost";
  }
}

// Enrolment codes: 12 characters from an alphabet without look-alikes, shown as XXXX-XXXX-XXXX.
std::string newEnrolmentCode() {
  static const char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // 32 symbols
  const std::string hex = randomHex(12);
  std::string code;
  for (size_t i = 0; i < 12; ++i) {
    const int byte = std::stoi(hex.substr(i * 2, 2), nullptr, 16);
    code += kAlphabet[byte & 31];
    if (i == 3 || i == 7) {
      code += '-';
    }
  }
  return code;
}

std::string normaliseCode(const std::string& code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') {
      continue;
    }
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string toJson(const Object& o) {
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

void sendJson(HTTPServerResponse& res, HTTPResponse::HTTPStatus status, const Object& body) {
  const std::string text = toJson(body);
  res.setStatusAndReason(status);  // "404 Not Found", not the default "OK"
  res.setContentType("application/json");
  res.setContentLength(static_cast<std::streamsize>(text.size()));
  res.send() << text;
}

void sendError(HTTPServerResponse& res, HTTPResponse::HTTPStatus status, const std::string& code,
               const std::string& message) {
  Object o;
  o.set("error", code);
  o.set("message", message);
  // A refusal may come before the request body was read: close the connection, or the unread
  // body would be parsed as the client's next request.
  res.setKeepAlive(false);
  sendJson(res, status, o);
}

Object agentJson(const AgentRecord& a, int64_t now, int64_t stall_after_s) {
  Object o;
  o.set("id", a.id);
  o.set("region", a.region);
  o.set("region_name", regionName(a.region));
  o.set("hostname", a.hostname);
  o.set("incarnation", a.incarnation);
  o.set("mark", a.mark);
  o.set("applied_seq", a.applied_seq);
  o.set("created_at", a.created_at);
  o.set("last_seen", a.last_seen);
  o.set("last_sync_at", a.last_sync_at);
  o.set("rows_received", a.rows_received);
  o.set("bytes_received", a.bytes_received);
  o.set("batches_received", a.batches_received);
  o.set("last_error", a.last_error);
  int64_t backlog = 0;
  if (!a.status_json.empty()) {
    try {
      Poco::JSON::Parser parser;
      auto status = parser.parse(a.status_json).extract<Object::Ptr>();
      backlog = status->optValue<int64_t>("backlog_rows", 0);
      o.set("status", status);
    } catch (const Poco::Exception&) {
      o.set("status", a.status_json);
    }
  }
  std::string state = "ok";
  if (a.revoked_at != 0) {
    state = "revoked";
  } else if (backlog > 0 && a.last_seen != 0 && now - a.last_seen < stall_after_s &&
             now - std::max(a.mark_changed_at, a.created_at) > stall_after_s) {
    // Reachable, has a backlog, and acknowledgements do not advance: stalled, never silence.
    state = "stalled";
  } else if (a.last_sync_at == 0) {
    state = "never-synced";
  }
  o.set("state", state);
  o.set("revoked_at", a.revoked_at);
  return o;
}

// Connections that outlive the request timeout are shut down, so a client trickling bytes
// (headers or body) cannot hold a server thread forever.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit) : limit_(limit) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Watchdog() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  uint64_t add(const Poco::Net::StreamSocket& s) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t id = ++next_;
    active_.emplace(id, Entry{s, std::chrono::steady_clock::now() + limit_});
    return id;
  }
  void remove(uint64_t id) {
    const std::lock_guard<std::mutex> lock(mutex_);
    active_.erase(id);
  }

 private:
  struct Entry {
    Poco::Net::StreamSocket socket;
    std::chrono::steady_clock::time_point deadline;
  };
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::seconds(1));
      const auto now = std::chrono::steady_clock::now();
      for (auto& [id, e] : active_) {
        if (now > e.deadline) {
          try {
            e.socket.shutdown();
          } catch (const Poco::Exception&) {
          }
          e.deadline = std::chrono::steady_clock::time_point::max();
        }
      }
    }
  }
  std::chrono::seconds limit_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint64_t, Entry> active_;  // Guarded by mutex_.
  uint64_t next_ = 0;                 // Guarded by mutex_.
  bool stop_ = false;                 // Guarded by mutex_.
  std::thread thread_;
};

class GuardedConnection : public Poco::Net::HTTPServerConnection {
 public:
  GuardedConnection(const Poco::Net::StreamSocket& s, Poco::Net::HTTPServerParams::Ptr params,
                    Poco::Net::HTTPRequestHandlerFactory::Ptr factory, Watchdog& watchdog)
      : HTTPServerConnection(s, std::move(params), std::move(factory)), watchdog_(watchdog) {}
  void run() override {
    const uint64_t id = watchdog_.add(socket());
    try {
      HTTPServerConnection::run();
    } catch (...) {
    }
    watchdog_.remove(id);
  }

 private:
  Watchdog& watchdog_;
};

class GuardedFactory : public Poco::Net::TCPServerConnectionFactory {
 public:
  GuardedFactory(Poco::Net::HTTPServerParams::Ptr params,
                 Poco::Net::HTTPRequestHandlerFactory::Ptr factory, Watchdog& watchdog)
      : params_(std::move(params)), factory_(std::move(factory)), watchdog_(watchdog) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new GuardedConnection(socket, params_, factory_, watchdog_);
  }

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  Watchdog& watchdog_;
};

}  // namespace

// --- config -------------------------------------------------------------------------------

Result<HubConfig> loadHubConfig(const std::string& path) {
  Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg;
  try {
    cfg = new Poco::Util::PropertyFileConfiguration(path);
  } catch (const Poco::Exception& e) {
    return Status::config("config: cannot read '" + path + "': " + e.displayText() +
                          "; pass --config with the path of hub.properties");
  }
  HubConfig c;
  c.source = path;
  auto err = [&path](const std::string& key, const std::string& problem) {
    return Status::config("config: " + path + " key '" + key + "': " + problem);
  };
  static const std::set<std::string> kKnown = {"hub.listen",
                                               "hub.port_file",
                                               "hub.data_dir",
                                               "hub.tls.certificate",
                                               "hub.tls.private_key",
                                               "hub.admin_token_sha256",
                                               "hub.max_body_mb",
                                               "hub.request_timeout_s",
                                               "hub.idle_timeout_s",
                                               "hub.threads",
                                               "hub.enrol_code_ttl_s",
                                               "hub.enrol_failures_per_window",
                                               "hub.enrol_window_s",
                                               "hub.stall_after_s",
                                               "hub.session.ttl_s",
                                               "hub.session.idle_s",
                                               "hub.login.max_failures_per_user",
                                               "hub.login.max_failures_per_ip",
                                               "hub.login.window_s",
                                               "hub.login.pbkdf2_iterations",
                                               "hub.monitor.late_after_s",
                                               "hub.monitor.silent_after_s",
                                               "hub.monitor.backlog_growing_s",
                                               "hub.monitor.rejected_rows",
                                               "hub.monitor.disk_low_mb",
                                               "hub.monitor.interval_s",
                                               "hub.metrics.token_sha256",
                                               "hub.metrics.allow_loopback",
                                               "hub.indicators.target_exporters",
                                               "hub.indicators.target_year",
                                               "log.target",
                                               "log.file",
                                               "log.level"};
  std::vector<std::string> keys;
  std::function<void(const std::string&)> walk = [&](const std::string& prefix) {
    Poco::Util::AbstractConfiguration::Keys sub;
    cfg->keys(prefix, sub);
    if (sub.empty() && !prefix.empty()) {
      keys.push_back(prefix);
    }
    for (const auto& k : sub) {
      walk(prefix.empty() ? k : prefix + "." + k);
    }
  };
  walk("");
  for (const auto& k : keys) {
    const std::string section = k.substr(0, k.find('.'));
    if ((section == "hub" || section == "log") && kKnown.count(k) == 0) {
      return err(k, "is not a known setting; check the spelling against config/hub.properties");
    }
  }
  const std::string listen = Poco::trim(cfg->getString("hub.listen", "127.0.0.1:8443"));
  const auto colon = listen.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos ||
      !Poco::NumberParser::tryParseUnsigned(listen.substr(colon + 1), port) || port > 65535) {
    return err("hub.listen", "'" + listen + "' is not host:port (e.g. 0.0.0.0:8443)");
  }
  c.listen_host = listen.substr(0, colon);
  c.listen_port = static_cast<uint16_t>(port);
  c.port_file = Poco::trim(cfg->getString("hub.port_file", ""));
  c.data_dir = Poco::trim(cfg->getString("hub.data_dir", ""));
  struct stat st {};
  if (c.data_dir.empty()) {
    return err("hub.data_dir",
               "is missing; set it to a writable folder, e.g. "
               "/var/lib/exportsync-hub");
  }
  if (::stat(c.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return err("hub.data_dir", "'" + c.data_dir + "' is not an existing folder; create it");
  }
  c.tls_certificate = Poco::trim(cfg->getString("hub.tls.certificate", ""));
  c.tls_private_key = Poco::trim(cfg->getString("hub.tls.private_key", ""));
  if (c.tls_certificate.empty() != c.tls_private_key.empty()) {
    return err(c.tls_certificate.empty() ? "hub.tls.certificate" : "hub.tls.private_key",
               "is missing; HTTPS needs both a certificate and its private key");
  }
  if (c.tls_certificate.empty() && !isLoopback(c.listen_host)) {
    return err("hub.listen", "plain HTTP is allowed only on a loopback address, not '" +
                                 c.listen_host +
                                 "'; configure hub.tls.certificate and "
                                 "hub.tls.private_key");
  }
  c.admin_token_sha256 = Poco::toLower(Poco::trim(cfg->getString("hub.admin_token_sha256", "")));
  if (!c.admin_token_sha256.empty() && c.admin_token_sha256.size() != 64) {
    return err("hub.admin_token_sha256", "must be 64 hex digits (sha256sum of the token)");
  }
  auto integer = [&](const std::string& key, int64_t def, int64_t min, int64_t max,
                     int64_t& out) -> Status {
    const std::string v = Poco::trim(cfg->getString(key, ""));
    if (v.empty()) {
      out = def;
      return Status::ok();
    }
    Poco::Int64 n = 0;
    if (!Poco::NumberParser::tryParse64(v, n) || n < min || n > max) {
      return err(key, "'" + v + "' must be a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max));
    }
    out = n;
    return Status::ok();
  };
  int64_t max_body_mb = 0;
  int64_t threads = 0;
  int64_t iterations = 0;
  int64_t disk_low_mb = 0;
  int64_t target_year = 0;
  const int64_t kMonth = 30 * 86400;
  for (auto st2 :
       {integer("hub.session.ttl_s", 43200, 5, 7 * 86400, c.session_ttl_s),
        integer("hub.session.idle_s", 1800, 5, 86400, c.session_idle_s),
        integer("hub.login.max_failures_per_user", 5, 1, 1000, c.login_max_failures_per_user),
        integer("hub.login.max_failures_per_ip", 20, 1, 10000, c.login_max_failures_per_ip),
        integer("hub.login.window_s", 900, 1, 86400, c.login_window_s),
        integer("hub.login.pbkdf2_iterations", kDefaultPbkdf2Iterations, kMinPbkdf2Iterations,
                10000000, iterations),
        integer("hub.monitor.late_after_s", 900, 1, kMonth, c.monitor.late_after_s),
        integer("hub.monitor.silent_after_s", 1800, 1, kMonth, c.monitor.silent_after_s),
        integer("hub.monitor.backlog_growing_s", 3600, 1, kMonth, c.monitor.backlog_growing_s),
        integer("hub.monitor.rejected_rows", 100, 1, 100000000, c.monitor.rejected_rows),
        integer("hub.monitor.disk_low_mb", 1024, 0, 10000000, disk_low_mb),
        integer("hub.monitor.interval_s", 15, 1, 3600, c.monitor_interval_s),
        integer("hub.indicators.target_exporters", 12000, 1, 1000000, c.target_exporters),
        integer("hub.indicators.target_year", 2035, 2000, 2100, target_year)}) {
    if (!st2) {
      return st2;
    }
  }
  c.pbkdf2_iterations = static_cast<int>(iterations);
  c.monitor.disk_low_bytes = disk_low_mb << 20;
  c.target_year = static_cast<int>(target_year);
  c.metrics_token_sha256 =
      Poco::toLower(Poco::trim(cfg->getString("hub.metrics.token_sha256", "")));
  if (!c.metrics_token_sha256.empty() &&
      (c.metrics_token_sha256.size() != 64 ||
       c.metrics_token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return err("hub.metrics.token_sha256",
               "must be 64 hex digits (printf %s \"$TOKEN\" | sha256sum), not the token");
  }
  {
    const std::string v =
        Poco::toLower(Poco::trim(cfg->getString("hub.metrics.allow_loopback", "false")));
    if (v != "true" && v != "false") {
      return err("hub.metrics.allow_loopback", "'" + v + "' must be true or false");
    }
    c.metrics_allow_loopback = v == "true";
  }
  for (auto st2 :
       {integer("hub.max_body_mb", 64, 1, 1024, max_body_mb),
        integer("hub.request_timeout_s", 120, 5, 3600, c.request_timeout_s),
        integer("hub.idle_timeout_s", 15, 1, 600, c.idle_timeout_s),
        integer("hub.threads", 16, 2, 256, threads),
        integer("hub.enrol_code_ttl_s", 7 * 86400, 60, 90 * 86400, c.enrol_code_ttl_s),
        integer("hub.enrol_failures_per_window", 5, 1, 1000, c.enrol_failures_per_window),
        integer("hub.enrol_window_s", 600, 1, 86400, c.enrol_window_s),
        integer("hub.stall_after_s", 300, 1, 30 * 86400, c.stall_after_s)}) {
    if (!st2) {
      return st2;
    }
  }
  c.max_body_bytes = max_body_mb << 20;
  c.threads = static_cast<int>(threads);
  c.monitor.stall_after_s = c.stall_after_s;
  c.log_target = Poco::trim(cfg->getString("log.target", "console"));
  c.log_file = Poco::trim(cfg->getString("log.file", ""));
  c.log_level = Poco::trim(cfg->getString("log.level", "information"));
  if (c.log_target != "console" && c.log_target != "file" && c.log_target != "syslog") {
    return err("log.target", "'" + c.log_target + "' is not one of console, file, syslog");
  }
  if (c.log_target == "file" && c.log_file.empty()) {
    return err("log.file", "is missing; log.target is 'file', so name the log file");
  }
  return c;
}

// --- the server ---------------------------------------------------------------------------

struct Hub::Impl {
  HubConfig config;
  std::unique_ptr<CentralStore> store;
  std::unique_ptr<Watchdog> watchdog;
  std::unique_ptr<Poco::Net::TCPServer> server;
  uint16_t port = 0;
  Poco::Logger* log = &Poco::Logger::get("exportsync.hub");
  std::mutex rate_mutex;
  std::map<std::string, std::deque<int64_t>> enrol_failures;  // Guarded by rate_mutex.
  std::unique_ptr<LoginLimiter> login_limiter;
  HttpMetrics metrics;
  // Indicators are computed at most once a minute per query (docs/indicators.md §6).
  static constexpr int64_t kIndicatorCacheS = 60;
  std::mutex indicators_mutex;
  std::map<std::string, std::pair<int64_t, Indicators>> indicators_cache;  // Guarded by it.
  // The monitor thread (alerts, pruning), started by start().
  std::thread monitor;
  std::mutex monitor_mutex;
  std::condition_variable monitor_wake;
  bool monitor_stop = false;  // Guarded by monitor_mutex.

  /// Who called an admin endpoint.
  struct Caller {
    enum class Kind { AdminToken, Session, MetricsToken, Loopback };
    Kind kind = Kind::AdminToken;
    std::string user;  ///< session user, or "api-token"
    std::string session_id;
  };

  // Returns the bearer token of a request, or empty.
  static std::string bearer(const HTTPServerRequest& req) {
    const std::string auth = req.get("Authorization", "");
    if (auth.size() > 7 && Poco::icompare(auth.substr(0, 7), "Bearer ") == 0) {
      return Poco::trim(auth.substr(7));
    }
    return {};
  }

  // Reads the body within the size limit and the request deadline.
  bool readBody(HTTPServerRequest& req, HTTPServerResponse& res, int64_t limit, std::string& body) {
    const auto declared = req.getContentLength64();
    if (declared > limit) {
      res.setKeepAlive(false);
      sendError(res, HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "too-large",
                "request body of " + std::to_string(declared) + " bytes exceeds the limit of " +
                    std::to_string(limit) + " bytes; send smaller batches");
      return false;
    }
    auto& in = req.stream();
    char buf[65536];
    while (in) {
      in.read(buf, sizeof buf);
      body.append(buf, static_cast<size_t>(in.gcount()));
      if (static_cast<int64_t>(body.size()) > limit) {
        res.setKeepAlive(false);
        sendError(res, HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "too-large",
                  "request body exceeds the limit of " + std::to_string(limit) +
                      " bytes; send smaller batches");
        return false;
      }
    }
    if (declared >= 0 && static_cast<int64_t>(body.size()) != declared) {
      res.setKeepAlive(false);
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "truncated",
                "request body ended after " + std::to_string(body.size()) + " of " +
                    std::to_string(declared) + " bytes");
      return false;
    }
    return true;
  }

  // Authenticates an agent; answers the refusal itself and returns nullopt on failure.
  std::optional<AgentRecord> authAgent(HTTPServerRequest& req, HTTPServerResponse& res) {
    const std::string token = bearer(req);
    if (token.empty()) {
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "no-credential",
                "no agent credential; enrol the agent first (exportsyncctl enroll)");
      return std::nullopt;
    }
    auto a = store->agentByToken(sha256Hex(token));
    if (!a) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", a.status().message());
      return std::nullopt;
    }
    if (!a->has_value()) {
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "unknown-credential",
                "unknown agent credential; enrol the agent again with a new code");
      return std::nullopt;
    }
    if ((*a)->revoked_at != 0) {
      const std::string ip = req.clientAddress().host().toString();
      log->warning("revoked credential of agent '" + (*a)->id + "' used from " + ip);
      (void)store->raiseAlert(revokedCredentialAlert(**a, ip), nowSeconds());
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "revoked-credential",
                "the credential of agent '" + (*a)->id +
                    "' was revoked by a central admin; ask the Secretariat for a new enrolment "
                    "code and enrol again");
      return std::nullopt;
    }
    return **a;
  }

  // The session cookie of a request, or empty.
  static std::string sessionCookie(const HTTPServerRequest& req) {
    Poco::Net::NameValueCollection cookies;
    req.getCookies(cookies);
    const std::string id = cookies.get(kSessionCookie, "");
    return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos
               ? id
               : std::string(id.empty() ? "" : "invalid");
  }

  static bool changesState(const HTTPServerRequest& req) {
    const std::string& m = req.getMethod();
    return m == "POST" || m == "PUT" || m == "DELETE" || m == "PATCH";
  }

  // A live session for the cookie `id`, or the refusal already answered (nullopt).
  std::optional<SessionRecord> liveSession(const std::string& id, HTTPServerResponse& res) {
    const int64_t now = nowSeconds();
    const std::string hash = sha256Hex(id);
    auto s = id == "invalid" ? Result<std::optional<SessionRecord>>(std::optional<SessionRecord>())
                             : store->session(hash);
    if (!s) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", s.status().message());
      return std::nullopt;
    }
    if (!s->has_value() || (*s)->expires_at <= now ||
        now - (*s)->last_used > config.session_idle_s) {
      if (s->has_value()) {
        (void)store->deleteSession(hash);
      }
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "session-expired",
                "the session has ended (logged out, idle for more than " +
                    std::to_string(config.session_idle_s) +
                    " s, or too old); log in again with POST /api/v1/session");
      return std::nullopt;
    }
    // last_used is refreshed at most once a minute (or half the idle limit, when shorter): one
    // write per active admin per minute, not per request.
    if (now - (*s)->last_used >= std::min<int64_t>(60, config.session_idle_s / 2)) {
      (void)store->touchSession(hash, now);
    }
    return **s;
  }

  // Authenticates an admin (token, or session cookie with CSRF on state changes); answers the
  // refusal itself and returns nullopt on failure. `for_metrics`: /metrics, which also takes the
  // metrics token and, when allowed, loopback clients without credential.
  std::optional<Caller> authAdmin(HTTPServerRequest& req, HTTPServerResponse& res,
                                  bool for_metrics = false) {
    const std::string token = bearer(req);
    if (!token.empty()) {
      const std::string hash = sha256Hex(token);
      if (!config.admin_token_sha256.empty() &&
          constantTimeEquals(hash, config.admin_token_sha256)) {
        return Caller{Caller::Kind::AdminToken, "api-token", ""};
      }
      if (for_metrics && !config.metrics_token_sha256.empty() &&
          constantTimeEquals(hash, config.metrics_token_sha256)) {
        return Caller{Caller::Kind::MetricsToken, "metrics-token", ""};
      }
      auto ok = store->isAdminToken(hash);
      if (ok && *ok) {
        return Caller{Caller::Kind::AdminToken, "api-token", ""};
      }
      auto agent = store->agentByToken(hash);
      if (agent && agent->has_value()) {
        sendError(res, HTTPResponse::HTTP_FORBIDDEN, "agent-credential",
                  "agent credentials cannot call admin, dashboard or metrics endpoints");
        return std::nullopt;
      }
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "unknown-credential",
                "unknown admin token; create one with exportsync-hub --create-admin-token");
      return std::nullopt;
    }
    const std::string id = sessionCookie(req);
    if (!id.empty()) {
      auto s = liveSession(id, res);
      if (!s) {
        return std::nullopt;
      }
      if (changesState(req) && !constantTimeEquals(req.get(kCsrfHeader, ""), csrfTokenFor(id))) {
        sendError(res, HTTPResponse::HTTP_FORBIDDEN, "csrf",
                  "missing or wrong X-CSRF-Token header; reload the page (GET /api/v1/session "
                  "gives the token)");
        return std::nullopt;
      }
      return Caller{Caller::Kind::Session, s->user, id};
    }
    if (for_metrics && config.metrics_allow_loopback && req.clientAddress().host().isLoopback()) {
      return Caller{Caller::Kind::Loopback, "loopback", ""};
    }
    sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "no-credential",
              "admin endpoint: log in (POST /api/v1/session) or send 'Authorization: Bearer "
              "<admin token>'");
    return std::nullopt;
  }

  bool enrolRateLimited(const std::string& ip, int64_t now) {
    const std::lock_guard<std::mutex> lock(rate_mutex);
    auto& q = enrol_failures[ip];
    while (!q.empty() && q.front() <= now - config.enrol_window_s) {
      q.pop_front();
    }
    return static_cast<int64_t>(q.size()) >= config.enrol_failures_per_window;
  }
  void enrolFailed(const std::string& ip, int64_t now) {
    const std::lock_guard<std::mutex> lock(rate_mutex);
    enrol_failures[ip].push_back(now);
  }

  static Object::Ptr parseJsonBody(const std::string& body) {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Object::Ptr>();
  }

  void handleEnrol(HTTPServerRequest& req, HTTPServerResponse& res) {
    const int64_t now = nowSeconds();
    const std::string ip = req.clientAddress().host().toString();
    if (enrolRateLimited(ip, now)) {
      res.set("Retry-After", std::to_string(config.enrol_window_s));
      sendError(res, HTTPResponse::HTTP_TOO_MANY_REQUESTS, "rate-limited",
                "too many failed enrolment attempts from " + ip + "; wait " +
                    std::to_string(config.enrol_window_s / 60) + " minutes and check the code");
      return;
    }
    std::string body;
    if (!readBody(req, res, 64 * 1024, body)) {
      return;
    }
    std::string code;
    std::string hostname;
    try {
      auto o = parseJsonBody(body);
      code = o->optValue<std::string>("code", "");
      hostname = o->optValue<std::string>("hostname", "");
    } catch (const Poco::Exception& e) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-json",
                "enrol: body is not a JSON object: " + e.displayText());
      return;
    }
    if (code.empty() || code.size() > 64 || hostname.size() > 255) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-request",
                "enrol: send {\"code\": \"XXXX-XXXX-XXXX\", \"hostname\": \"...\"}");
      return;
    }
    const std::string agent_id = "ag-" + randomHex(8);
    const std::string token = "est1." + randomHex(32);
    auto a =
        store->enrol(sha256Hex(normaliseCode(code)), now, agent_id, sha256Hex(token), hostname);
    if (!a) {
      if (a.status().code() == Code::Invalid) {
        enrolFailed(ip, now);
        log->warning("enrolment refused from " + ip + ": " + a.status().message());
        sendError(res, HTTPResponse::HTTP_FORBIDDEN, "bad-code", a.status().message());
      } else {
        sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", a.status().message());
      }
      return;
    }
    log->notice("agent '" + agent_id + "' enrolled for region " + a->region + " from " + ip + " (" +
                hostname + ")");
    Object o;
    o.set("agent_id", agent_id);
    o.set("region", a->region);
    o.set("token", token);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleSync(HTTPServerRequest& req, HTTPServerResponse& res) {
    auto agent = authAgent(req, res);
    if (!agent) {
      return;
    }
    std::string body;
    if (!readBody(req, res, config.max_body_bytes, body)) {
      (void)store->recordError(agent->id,
                               "batch refused: request body over the size limit or "
                               "truncated");
      return;
    }
    protocol::Limits limits;
    limits.max_compressed = static_cast<size_t>(config.max_body_bytes);
    auto batch = protocol::decodeBatch(body, limits);
    if (!batch) {
      (void)store->recordError(agent->id, "batch refused: " + batch.status().message());
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-batch", batch.status().message());
      return;
    }
    const auto& h = batch->header;
    if (h.agent_id != agent->id || h.region != agent->region) {
      const std::string msg = "batch claims agent '" + h.agent_id + "' region '" + h.region +
                              "' but the credential belongs to agent '" + agent->id + "' region '" +
                              agent->region + "'; nothing was applied";
      log->warning(msg);
      (void)store->recordError(agent->id, msg);
      sendError(res, HTTPResponse::HTTP_FORBIDDEN, "wrong-partition", msg);
      return;
    }
    auto out = store->applyBatch(*agent, *batch, body, nowSeconds());
    if (!out) {
      const auto& st = out.status();
      (void)store->recordError(agent->id, st.message());
      log->warning("agent '" + agent->id + "': " + st.message());
      if (st.code() == Code::Schema) {
        (void)store->raiseAlert(schemaRefusedAlert(*agent, st.message()), nowSeconds());
        sendError(res, HTTPResponse::HTTP_UNPROCESSABLE_ENTITY, "schema-refused", st.message());
      } else if (st.code() == Code::Invalid) {
        sendError(res, HTTPResponse::HTTP_CONFLICT, "incarnation", st.message());
      } else {
        sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", st.message());
      }
      return;
    }
    Object o;
    o.set("mark", out->mark);
    if (out->kind == ApplyOutcome::Kind::Gap) {
      o.set("error", "gap");
      o.set("message", "batch starts after seq " + std::to_string(h.base_seq) +
                           " but the hub holds changes up to " + std::to_string(out->mark) +
                           "; resend from there");
      sendJson(res, HTTPResponse::HTTP_CONFLICT, o);
      return;
    }
    static const char* const kKinds[] = {"applied", "staged", "duplicate", "gap"};
    o.set("result", kKinds[static_cast<int>(out->kind)]);
    o.set("applied", out->applied);
    o.set("skipped", out->skipped);
    o.set("set_aside", out->set_aside);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleStatus(HTTPServerRequest& req, HTTPServerResponse& res) {
    auto agent = authAgent(req, res);
    if (!agent) {
      return;
    }
    std::string body;
    if (!readBody(req, res, 256 * 1024, body)) {
      return;
    }
    HeartbeatSummary summary;
    try {
      summary = summariseHeartbeat(*parseJsonBody(body));
    } catch (const Poco::Exception& e) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-json",
                "status: body is not a JSON object: " + e.displayText());
      return;
    }
    if (auto st = store->recordHeartbeat(agent->id, body, summary, nowSeconds()); !st) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", st.message());
      return;
    }
    // Small: the answer is part of every heartbeat's bytes on the wire.
    Object o;
    o.set("mark", agent->mark);
    o.set("incarnation", agent->incarnation);
    if (!agent->last_error.empty()) {
      o.set("last_error", agent->last_error);
    }
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleCreateCode(HTTPServerRequest& req, HTTPServerResponse& res) {
    std::string body;
    if (!readBody(req, res, 64 * 1024, body)) {
      return;
    }
    std::string region;
    int64_t ttl = config.enrol_code_ttl_s;
    try {
      auto o = parseJsonBody(body);
      region = o->optValue<std::string>("region", "");
      ttl = o->optValue<int64_t>("ttl_s", ttl);
    } catch (const Poco::Exception& e) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-json",
                "body is not a JSON object: " + e.displayText());
      return;
    }
    if (!schema::isValidRegion(region)) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-region",
                "region '" + region + "' is not a region code; use MA-01 to MA-12");
      return;
    }
    if (ttl < 60 || ttl > 90 * 86400) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-ttl",
                "ttl_s must be from 60 to 7776000 seconds");
      return;
    }
    const std::string code = newEnrolmentCode();
    const int64_t expires = nowSeconds() + ttl;
    if (auto st = store->addEnrolmentCode(sha256Hex(normaliseCode(code)), region, expires); !st) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", st.message());
      return;
    }
    log->notice("enrolment code created for region " + region);
    Object o;
    o.set("code", code);
    o.set("region", region);
    o.set("expires_at", expires);
    sendJson(res, HTTPResponse::HTTP_CREATED, o);
  }

  void handleAgents(HTTPServerResponse& res) {
    auto agents = store->agents();
    MonitorInput in;
    if (!agents || !loadMonitorInput(in, false, res)) {
      if (!agents) {
        sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store",
                  agents.status().message());
      }
      return;
    }
    Array::Ptr list = new Array;
    const int64_t now = nowSeconds();
    for (const auto& a : *agents) {
      Object::Ptr o = new Object(agentJson(a, now, config.stall_after_s));
      addHealth(*o, a, in, config.monitor, now);
      list->add(o);
    }
    Object o;
    o.set("agents", list);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleRevoke(const std::string& id, HTTPServerResponse& res) {
    auto done = store->revoke(id, nowSeconds());
    if (!done) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", done.status().message());
      return;
    }
    if (!*done) {
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "unknown-agent",
                "no agent '" + id + "'; list them with GET /api/v1/admin/agents");
      return;
    }
    log->notice("credential of agent '" + id + "' revoked");
    Object o;
    o.set("agent_id", id);
    o.set("revoked", true);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleSetAside(HTTPServerResponse& res) {
    auto rows = store->setAside(1000);
    if (!rows) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", rows.status().message());
      return;
    }
    Array::Ptr list = new Array;
    for (const auto& r : *rows) {
      Object::Ptr o = new Object;
      o->set("id", r.id);
      o->set("agent_id", r.agent_id);
      o->set("region", r.region);
      o->set("plugin", r.plugin);
      o->set("dataset", r.dataset);
      o->set("seq", r.seq);
      o->set("op", std::string(1, r.op));
      o->set("key", r.key);
      o->set("row", r.row);
      o->set("reason", r.reason);
      o->set("at", r.at);
      list->add(o);
    }
    Object o;
    o.set("set_aside", list);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleCsv(const std::string& plugin, const std::string& dataset, const Poco::URI& uri,
                 HTTPServerResponse& res) {
    std::string region;
    for (const auto& [k, v] : uri.getQueryParameters()) {
      if (k == "region") {
        region = v;
      }
    }
    if (!region.empty() && !schema::isValidRegion(region)) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-region",
                "region '" + region + "' is not a region code; use MA-01 to MA-12");
      return;
    }
    std::ostringstream csv;
    if (auto st = store->writeCsv(plugin, dataset, region, csv); !st) {
      sendError(res,
                st.code() == Code::Invalid ? HTTPResponse::HTTP_NOT_FOUND
                                           : HTTPResponse::HTTP_INTERNAL_SERVER_ERROR,
                "unknown-dataset", st.message());
      return;
    }
    const std::string text = csv.str();
    res.setStatus(HTTPResponse::HTTP_OK);
    res.setContentType("text/csv; charset=utf-8");
    res.set("Content-Disposition", "attachment; filename=\"" + plugin + "-" + dataset +
                                       (region.empty() ? "" : "-" + region) + ".csv\"");
    res.setContentLength(static_cast<std::streamsize>(text.size()));
    res.send() << text;
  }

  // --- dashboard (docs/dashboard-api.md) ------------------------------------------------------

  static std::string queryParam(const Poco::URI& uri, const std::string& name) {
    for (const auto& [k, v] : uri.getQueryParameters()) {
      if (k == name) {
        return v;
      }
    }
    return {};
  }

  // Open alerts and recent set-aside counts (and, with `agents`, the agent summaries).
  bool loadMonitorInput(MonitorInput& in, bool agents, HTTPServerResponse& res) {
    AlertQuery q;
    q.limit = 100000;
    auto alerts = store->alerts(q);
    auto aside = store->setAsideCounts(nowSeconds() - 86400);
    Status st = !alerts ? alerts.status() : (!aside ? aside.status() : Status::ok());
    if (st && agents) {
      auto list = store->agentSummaries();
      if (list) {
        in.agents = std::move(*list);
      } else {
        st = list.status();
      }
    }
    if (!st) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", st.message());
      return false;
    }
    in.open_alerts = std::move(*alerts);
    in.set_aside_24h = std::move(*aside);
    return true;
  }

  Object sessionJson(const SessionRecord& s, const std::string& id) const {
    Object o;
    o.set("user", s.user);
    o.set("csrf_token", csrfTokenFor(id));
    o.set("expires_at", s.expires_at);
    o.set("idle_timeout_s", config.session_idle_s);
    return o;
  }

  std::string cookieAttributes() const {
    return std::string("; Path=/; HttpOnly; SameSite=Strict") +
           (config.tls_certificate.empty() ? "" : "; Secure");
  }

  void handleLogin(HTTPServerRequest& req, HTTPServerResponse& res) {
    std::string body;
    if (!readBody(req, res, 4096, body)) {
      return;
    }
    std::string user;
    std::string password;
    try {
      auto o = parseJsonBody(body);
      user = o->optValue<std::string>("user", "");
      password = o->optValue<std::string>("password", "");
    } catch (const Poco::Exception& e) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-json",
                "login: body is not a JSON object: " + e.displayText());
      return;
    }
    if (user.empty() || user.size() > 64 || password.empty() || password.size() > 1024) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-request",
                "login: send {\"user\": \"name\", \"password\": \"...\"} (user 1-64 characters, "
                "password 1-1024 bytes)");
      return;
    }
    const int64_t now = nowSeconds();
    const std::string ip = req.clientAddress().host().toString();
    auto name = normaliseUserName(user);
    const std::string key = name ? *name : user;
    const auto verdict = login_limiter->check(key, ip, now);
    if (verdict.retry_after_s > 0) {
      log->warning("login of '" + key + "' from " + ip + " refused: rate limited");
      res.set("Retry-After", std::to_string(verdict.retry_after_s));
      sendError(res, HTTPResponse::HTTP_TOO_MANY_REQUESTS, "rate-limited", verdict.message);
      return;
    }
    bool ok = false;
    if (name) {
      auto stored = store->adminPasswordHash(*name);
      if (!stored) {
        sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store",
                  stored.status().message());
        return;
      }
      if (stored->has_value()) {
        ok = verifyPassword(password, **stored);
      } else {
        verifyDummy(password, config.pbkdf2_iterations);
      }
    } else {
      verifyDummy(password, config.pbkdf2_iterations);
    }
    if (!ok) {
      login_limiter->failed(key, ip, now);
      log->warning("login of '" + key + "' from " + ip + " refused: bad user or password");
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "bad-login",
                "unknown user or wrong password; check both (the account is created with "
                "exportsync-hub --create-admin)");
      return;
    }
    login_limiter->succeeded(key);
    const std::string id = newSessionId();
    SessionRecord s;
    s.id_hash = sha256Hex(id);
    s.user = *name;
    s.created_at = now;
    s.expires_at = now + config.session_ttl_s;
    s.last_used = now;
    if (auto st = store->createSession(s); !st) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", st.message());
      return;
    }
    log->notice("admin '" + s.user + "' logged in from " + ip);
    res.add("Set-Cookie", std::string(kSessionCookie) + "=" + id + "; Max-Age=" +
                              std::to_string(config.session_ttl_s) + cookieAttributes());
    res.set("Cache-Control", "no-store");
    sendJson(res, HTTPResponse::HTTP_OK, sessionJson(s, id));
  }

  void handleSession(HTTPServerRequest& req, HTTPServerResponse& res) {
    const std::string id = sessionCookie(req);
    if (id.empty()) {
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "no-credential",
                "no session; log in with POST /api/v1/session");
      return;
    }
    auto s = liveSession(id, res);
    if (!s) {
      return;
    }
    if (req.getMethod() == "GET") {
      res.set("Cache-Control", "no-store");
      sendJson(res, HTTPResponse::HTTP_OK, sessionJson(*s, id));
      return;
    }
    if (!constantTimeEquals(req.get(kCsrfHeader, ""), csrfTokenFor(id))) {
      sendError(res, HTTPResponse::HTTP_FORBIDDEN, "csrf",
                "missing or wrong X-CSRF-Token header; reload the page (GET /api/v1/session "
                "gives the token)");
      return;
    }
    if (auto st = store->deleteSession(sha256Hex(id)); !st) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", st.message());
      return;
    }
    log->notice("admin '" + s->user + "' logged out");
    res.add("Set-Cookie", std::string(kSessionCookie) + "=; Max-Age=0" + cookieAttributes());
    Object o;
    o.set("logged_out", true);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleOverview(HTTPServerResponse& res) {
    MonitorInput in;
    if (!loadMonitorInput(in, true, res)) {
      return;
    }
    sendJson(res, HTTPResponse::HTTP_OK, *overviewJson(in, config.monitor, nowSeconds()));
  }

  void handleAgent(const std::string& id, HTTPServerResponse& res) {
    auto a = id.size() <= 128 ? store->agent(id) : Result<std::optional<AgentRecord>>(std::nullopt);
    if (!a) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", a.status().message());
      return;
    }
    if (!a->has_value()) {
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "unknown-agent",
                "no agent '" + id.substr(0, 128) + "'; list them with GET /api/v1/admin/agents");
      return;
    }
    MonitorInput in;
    if (!loadMonitorInput(in, false, res)) {
      return;
    }
    auto errors = store->recentErrors(id, 20);
    if (!errors) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", errors.status().message());
      return;
    }
    sendJson(res, HTTPResponse::HTTP_OK,
             *agentDetailJson(**a, in, *errors, config.monitor, nowSeconds()));
  }

  void handleHistory(const Poco::URI& uri, HTTPServerResponse& res) {
    std::string range = queryParam(uri, "range");
    const std::string region = queryParam(uri, "region");
    const std::string agent = queryParam(uri, "agent");
    if (range.empty()) {
      range = "day";
    }
    if (range != "day" && range != "week") {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-range",
                "range '" + range.substr(0, 32) + "' is not day or week");
      return;
    }
    if (!region.empty() && !agent.empty()) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-request",
                "give region or agent, not both");
      return;
    }
    if (!region.empty() && !schema::isValidRegion(region)) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-region",
                "region '" + region.substr(0, 32) + "' is not a region code; use MA-01 to MA-12");
      return;
    }
    if (!agent.empty()) {
      auto a = agent.size() <= 128 ? store->agent(agent)
                                   : Result<std::optional<AgentRecord>>(std::nullopt);
      if (!a || !a->has_value()) {
        sendError(
            res, HTTPResponse::HTTP_NOT_FOUND, "unknown-agent",
            "no agent '" + agent.substr(0, 128) + "'; list them with GET /api/v1/admin/agents");
        return;
      }
    }
    HistoryQuery q;
    q.step_s = range == "day" ? 300 : 3600;
    const int64_t points = range == "day" ? 288 : 168;
    const int64_t now = nowSeconds();
    q.to = now - now % q.step_s;
    q.from = q.to - (points - 1) * q.step_s;
    q.region = region;
    q.agent_id = agent;
    auto h = store->history(q);
    if (!h) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", h.status().message());
      return;
    }
    Array::Ptr list = new Array;
    for (const auto& p : *h) {
      Object::Ptr o = new Object;
      o->set("t", p.t);
      o->set("rows", p.rows);
      o->set("bytes", p.bytes);
      o->set("batches", p.batches);
      o->set("backlog_rows", p.backlog_rows);
      o->set("lag_s", p.lag_s);
      list->add(o);
    }
    Object o;
    o.set("range", range);
    o.set("step_s", q.step_s);
    o.set("from", q.from);
    o.set("to", q.to + q.step_s);
    o.set("region", region.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(region));
    o.set("agent", agent.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(agent));
    o.set("points", list);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleAlerts(const Poco::URI& uri, HTTPServerResponse& res) {
    AlertQuery q;
    const std::string state = queryParam(uri, "state");
    if (!state.empty() && state != "open" && state != "all") {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-request",
                "state '" + state.substr(0, 32) + "' is not open or all");
      return;
    }
    q.open_only = state != "all";
    q.region = queryParam(uri, "region");
    if (!q.region.empty() && !schema::isValidRegion(q.region)) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-region",
                "region '" + q.region.substr(0, 32) + "' is not a region code; use MA-01 to MA-12");
      return;
    }
    q.agent_id = queryParam(uri, "agent").substr(0, 128);
    const std::string limit = queryParam(uri, "limit");
    if (!limit.empty()) {
      unsigned n = 0;
      if (!Poco::NumberParser::tryParseUnsigned(limit, n) || n < 1 || n > 1000) {
        sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-limit",
                  "limit must be a whole number from 1 to 1000");
        return;
      }
      q.limit = n;
    }
    auto alerts = store->alerts(q);
    if (!alerts) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", alerts.status().message());
      return;
    }
    Array::Ptr list = new Array;
    for (const auto& a : *alerts) {
      list->add(alertJson(a));
    }
    Object o;
    o.set("alerts", list);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleResolveAlert(const std::string& id_text, const Caller& caller,
                          HTTPServerResponse& res) {
    Poco::Int64 id = 0;
    if (!Poco::NumberParser::tryParse64(id_text, id) || id <= 0) {
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "unknown-alert",
                "no open alert '" + id_text.substr(0, 32) +
                    "'; list them with GET "
                    "/api/v1/admin/alerts");
      return;
    }
    auto done = store->resolveAlert(id, caller.user, nowSeconds());
    if (!done) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", done.status().message());
      return;
    }
    if (!*done) {
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "unknown-alert",
                "no open alert " + std::to_string(id) +
                    " (unknown or already resolved); list them with GET /api/v1/admin/alerts");
      return;
    }
    log->notice("alert " + std::to_string(id) + " resolved by " + caller.user);
    Object o;
    o.set("id", static_cast<int64_t>(id));
    o.set("resolved", true);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleDatasets(HTTPServerResponse& res) {
    auto list = store->datasets();
    if (!list) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", list.status().message());
      return;
    }
    Array::Ptr out = new Array;
    for (const auto& d : *list) {
      Object::Ptr o = new Object;
      o->set("plugin", d.plugin);
      o->set("dataset", d.name);
      o->set("version", static_cast<int64_t>(d.version));
      Array::Ptr cols = new Array;
      for (const auto& c : d.columns) {
        Object::Ptr j = new Object;
        j->set("name", c.name);
        j->set("type", std::string(typeName(c.type)));
        j->set("key", c.key);
        j->set("nullable", c.nullable);
        cols->add(j);
      }
      o->set("columns", cols);
      o->set("csv", "/api/v1/datasets/" + d.plugin + "/" + d.name + ".csv");
      out->add(o);
    }
    Object o;
    o.set("datasets", out);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void sendCsv(HTTPServerResponse& res, const std::string& filename, const std::string& text) {
    res.setStatus(HTTPResponse::HTTP_OK);
    res.setContentType("text/csv; charset=utf-8");
    res.set("Content-Disposition", "attachment; filename=\"" + filename + "\"");
    res.setContentLength(static_cast<std::streamsize>(text.size()));
    res.send() << text;
  }

  void handleCoreCsv(const std::string& dataset, const Poco::URI& uri, HTTPServerResponse& res) {
    const std::string region = queryParam(uri, "region");
    if (!region.empty() && !schema::isValidRegion(region)) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-region",
                "region '" + region.substr(0, 32) + "' is not a region code; use MA-01 to MA-12");
      return;
    }
    std::ostringstream csv;
    if (auto st = store->writeCoreCsv(dataset, region, csv); !st) {
      sendError(res,
                st.code() == Code::Invalid ? HTTPResponse::HTTP_NOT_FOUND
                                           : HTTPResponse::HTTP_INTERNAL_SERVER_ERROR,
                st.code() == Code::Invalid ? "unknown-dataset" : "store", st.message());
      return;
    }
    sendCsv(res, "core-" + dataset + (region.empty() ? "" : "-" + region) + ".csv", csv.str());
  }

  // Parses ?at= and ?top= into a query; answers the refusal itself.
  bool indicatorQuery(const Poco::URI& uri, IndicatorQuery& q, std::string& date,
                      HTTPServerResponse& res) {
    date = queryParam(uri, "at");
    int y = 0;
    int m = 0;
    int d = 0;
    if (date.empty()) {
      const std::time_t t = std::time(nullptr);
      std::tm tm{};
      gmtime_r(&t, &tm);
      y = tm.tm_year + 1900;
      m = tm.tm_mon + 1;
      d = tm.tm_mday;
    } else {
      static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      char extra = 0;
      const bool parsed = date.size() == 10 && date[4] == '-' && date[7] == '-' &&
                          std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) == 3;
      const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      if (!parsed || y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 ||
          d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) {
        sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-date",
                  "at '" + date.substr(0, 32) +
                      "' is not a calendar date YYYY-MM-DD between 1900 and 2100");
        return false;
      }
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    date = buf;
    std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
    q.window_to = buf;
    const int first = y * 12 + (m - 1) - 11;  // 12 months ending with the reference month
    std::snprintf(buf, sizeof buf, "%04d-%02d", first / 12, first % 12 + 1);
    q.window_from = buf;
    q.year = y;
    const std::string top = queryParam(uri, "top");
    if (!top.empty()) {
      unsigned n = 0;
      if (!Poco::NumberParser::tryParseUnsigned(top, n) || n < 1 || n > 50) {
        sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-top",
                  "top must be a whole number from 1 to 50");
        return false;
      }
      q.top = n;
    }
    return true;
  }

  Result<Indicators> cachedIndicators(const IndicatorQuery& q) {
    const std::string key = q.window_from + "|" + q.window_to + "|" + std::to_string(q.year) + "|" +
                            std::to_string(q.top);
    const int64_t now = nowSeconds();
    {
      const std::lock_guard<std::mutex> lock(indicators_mutex);
      auto it = indicators_cache.find(key);
      if (it != indicators_cache.end() && now - it->second.first < kIndicatorCacheS) {
        return it->second.second;
      }
    }
    auto ind = store->indicators(q);
    if (ind) {
      const std::lock_guard<std::mutex> lock(indicators_mutex);
      for (auto it = indicators_cache.begin(); it != indicators_cache.end();) {
        it =
            now - it->second.first >= kIndicatorCacheS ? indicators_cache.erase(it) : std::next(it);
      }
      if (indicators_cache.size() < 64) {
        indicators_cache[key] = {now, *ind};
      }
    }
    return ind;
  }

  static double round4(double v) { return std::round(v * 10000.0) / 10000.0; }

  Object::Ptr indicatorJson(const IndicatorRow& r) const {
    Object::Ptr o = new Object;
    const bool national = r.region == "national";
    o->set("region", r.region);
    o->set("region_name", national ? std::string("National") : regionName(r.region));
    o->set("active_exporters", r.active_exporters);
    o->set("export_value_mad", static_cast<double>(r.export_value_centimes) / 100.0);
    o->set("share_of_national_value", round4(r.share_of_national_value));
    o->set("mono_product_exporters", r.mono_product_exporters);
    o->set("mono_product_share", round4(ratio(r.mono_product_exporters, r.active_exporters)));
    o->set("mono_market_exporters", r.mono_market_exporters);
    o->set("mono_market_share", round4(ratio(r.mono_market_exporters, r.active_exporters)));
    o->set("hhi_destinations", round4(r.hhi_destinations));
    o->set("new_exporters", r.new_exporters);
    o->set("progress_to_target", round4(ratio(r.active_exporters, config.target_exporters)));
    for (const bool products : {true, false}) {
      Array::Ptr list = new Array;
      int rank = 0;
      for (const auto& t : products ? r.top_products : r.top_destinations) {
        Object::Ptr j = new Object;
        j->set("rank", ++rank);
        j->set(products ? "heading" : "country", t.key);
        j->set("value_mad", static_cast<double>(t.value_centimes) / 100.0);
        j->set("share", round4(t.share));
        list->add(j);
      }
      o->set(products ? "top_products" : "top_destinations", list);
    }
    return o;
  }

  static double ratio(int64_t a, int64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  }

  void handleIndicators(const Poco::URI& uri, HTTPServerResponse& res) {
    IndicatorQuery q;
    std::string date;
    if (!indicatorQuery(uri, q, date, res)) {
      return;
    }
    auto ind = cachedIndicators(q);
    if (!ind) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", ind.status().message());
      return;
    }
    Object o;
    o.set("reference_date", date);
    Object::Ptr window = new Object;
    window->set("from", q.window_from);
    window->set("to", q.window_to);
    window->set("months", 12);
    o.set("window", window);
    o.set("year", q.year);
    Object::Ptr target = new Object;
    target->set("exporters", config.target_exporters);
    target->set("year", config.target_year);
    o.set("target", target);
    Array::Ptr sources = new Array;
    for (const auto& s : ind->sources) {
      Object::Ptr j = new Object;
      j->set("plugin", s.plugin);
      j->set("exporters", s.exporters);
      j->set("export_flows", s.export_flows);
      if (!s.skipped.empty()) {
        j->set("skipped", s.skipped);
      }
      sources->add(j);
    }
    o.set("sources", sources);
    o.set("national", indicatorJson(ind->national));
    Array::Ptr regions = new Array;
    for (const auto& r : ind->regions) {
      regions->add(indicatorJson(r));
    }
    o.set("regions", regions);
    sendJson(res, HTTPResponse::HTTP_OK, o);
  }

  void handleIndicatorCsv(const std::string& table, const Poco::URI& uri, HTTPServerResponse& res) {
    if (table != "regions" && table != "products" && table != "destinations") {
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "not-found",
                "no indicator table '" + table.substr(0, 32) +
                    "'; use regions.csv, products.csv or destinations.csv");
      return;
    }
    const std::string region = queryParam(uri, "region");
    if (!region.empty() && region != "national" && !schema::isValidRegion(region)) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-region",
                "region '" + region.substr(0, 32) +
                    "' is not a region code; use MA-01 to MA-12 or national");
      return;
    }
    IndicatorQuery q;
    std::string date;
    if (!indicatorQuery(uri, q, date, res)) {
      return;
    }
    auto ind = cachedIndicators(q);
    if (!ind) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", ind.status().message());
      return;
    }
    std::vector<const IndicatorRow*> rows;
    if (table == "regions") {
      for (const auto& r : ind->regions) {
        rows.push_back(&r);
      }
      rows.push_back(&ind->national);
    } else {
      rows.push_back(&ind->national);
      for (const auto& r : ind->regions) {
        rows.push_back(&r);
      }
    }
    auto fixed4 = [](double v) {
      char b[32];
      std::snprintf(b, sizeof b, "%.4f", v);
      return std::string(b);
    };
    auto name = [](const IndicatorRow& r) {
      std::string n = r.region == "national" ? "National" : regionName(r.region);
      return n.find(',') == std::string::npos ? n : "\"" + n + "\"";
    };
    std::ostringstream csv;
    if (table == "regions") {
      csv << "region,region_name,active_exporters,export_value_mad,share_of_national_value,"
             "mono_product_exporters,mono_product_share,mono_market_exporters,mono_market_share,"
             "hhi_destinations,new_exporters,progress_to_target\n";
    } else {
      csv << "region,rank," << (table == "products" ? "heading" : "country")
          << ",value_mad,share\n";
    }
    for (const IndicatorRow* r : rows) {
      if (!region.empty() && r->region != region) {
        continue;
      }
      if (table == "regions") {
        csv << r->region << "," << name(*r) << "," << r->active_exporters << ","
            << Money::fromCentimes(r->export_value_centimes).toString() << ","
            << fixed4(r->share_of_national_value) << "," << r->mono_product_exporters << ","
            << fixed4(ratio(r->mono_product_exporters, r->active_exporters)) << ","
            << r->mono_market_exporters << ","
            << fixed4(ratio(r->mono_market_exporters, r->active_exporters)) << ","
            << fixed4(r->hhi_destinations) << "," << r->new_exporters << ","
            << fixed4(ratio(r->active_exporters, config.target_exporters)) << "\n";
        continue;
      }
      int rank = 0;
      for (const auto& t : table == "products" ? r->top_products : r->top_destinations) {
        csv << r->region << "," << ++rank << "," << t.key << ","
            << Money::fromCentimes(t.value_centimes).toString() << "," << fixed4(t.share) << "\n";
      }
    }
    sendCsv(res, "indicators-" + table + "-" + date + (region.empty() ? "" : "-" + region) + ".csv",
            csv.str());
  }

  void handleMetrics(HTTPServerResponse& res) {
    MonitorInput in;
    if (!loadMonitorInput(in, true, res)) {
      return;
    }
    std::ostringstream out;
    renderAgentMetrics(out, in, config.monitor, nowSeconds());
    metrics.render(out);
    const std::string text = out.str();
    res.setStatus(HTTPResponse::HTTP_OK);
    res.setContentType("text/plain; version=0.0.4; charset=utf-8");
    res.setContentLength(static_cast<std::streamsize>(text.size()));
    res.send() << text;
  }

  // One evaluation of the state alerts, and the automatic end of event alerts.
  Status evaluateAlerts() {
    const int64_t now = nowSeconds();
    auto agents = store->agents();
    if (!agents) {
      return agents.status();
    }
    AlertQuery q;
    q.limit = 100000;
    auto open = store->alerts(q);
    auto aside = store->setAsideCounts(now - 86400);
    if (!open || !aside) {
      return !open ? open.status() : aside.status();
    }
    std::map<std::string, std::vector<AlertRecord>> by_agent;
    for (const auto& al : *open) {
      by_agent[al.agent_id].push_back(al);
    }
    std::map<std::string, const AgentRecord*> index;
    std::vector<AlertRecord> wanted;
    for (const auto& a : *agents) {
      index[a.id] = &a;
      if (a.revoked_at != 0) {
        continue;
      }
      auto sa = aside->find(a.id);
      const auto as = assessAgent(a, config.monitor, now, sa == aside->end() ? 0 : sa->second, {});
      for (const auto& r : as.reasons) {
        AlertRecord al;
        al.code = r.code;
        al.severity = r.severity;
        al.agent_id = a.id;
        al.region = a.region;
        al.subject = r.subject;
        al.message = r.message;
        wanted.push_back(std::move(al));
      }
    }
    if (auto st = store->reconcileAlerts(stateAlertCodes(), wanted, now); !st) {
      return st;
    }
    for (const auto& al : *open) {
      auto it = index.find(al.agent_id);
      const bool ended =
          (al.code == "revoked-credential-used" && al.at < now - 86400) ||
          (al.code == "schema-refused" && it != index.end() && it->second->last_sync_at > al.at);
      if (ended) {
        (void)store->resolveAlert(al.id, "hub", now);
      }
    }
    return Status::ok();
  }

  void monitorLoop() {
    int64_t last_prune = 0;
    std::unique_lock<std::mutex> lock(monitor_mutex);
    while (!monitor_stop) {
      monitor_wake.wait_for(lock, std::chrono::seconds(config.monitor_interval_s));
      if (monitor_stop) {
        break;
      }
      lock.unlock();
      try {
        if (auto st = evaluateAlerts(); !st) {
          log->error("monitor: " + st.message());
        }
        const int64_t now = nowSeconds();
        if (now - last_prune >= 600) {
          last_prune = now;
          if (auto st = store->prune(now); !st) {
            log->error("monitor: " + st.message());
          }
        }
      } catch (const std::exception& e) {
        log->error(std::string("monitor: ") + e.what());
      }
      lock.lock();
    }
  }

  // The route name for the metrics label; also used by route() to dispatch.
  void route(HTTPServerRequest& req, HTTPServerResponse& res, size_t& endpoint) {
    const Poco::URI uri(req.getURI());
    const std::string& path = uri.getPath();
    const std::string& method = req.getMethod();
    std::vector<std::string> parts;
    uri.getPathSegments(parts);
    const bool get = method == "GET";
    const bool post = method == "POST";
    auto named = [&endpoint](const char* name) { endpoint = HttpMetrics::endpointIndex(name); };
    if (web::serveAsset(path, req, res)) {
      named("dashboard");
      return;  // the dashboard's files (central/web, embedded at build time), GET and HEAD only
    }
    if (path == "/metrics") {
      named("metrics");
      if (!get) {
        sendError(res, HTTPResponse::HTTP_NOT_FOUND, "not-found", "use GET /metrics");
      } else if (authAdmin(req, res, true)) {
        handleMetrics(res);
      }
      return;
    }
    if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v1") {
      named("not_found");
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "not-found", "no such endpoint: " + path);
      return;
    }
    const std::string& what = parts[2];
    if (what == "health" && get) {
      named("health");
      Object o;
      o.set("ok", true);
      sendJson(res, HTTPResponse::HTTP_OK, o);
    } else if (what == "enrol" && post && parts.size() == 3) {
      named("enrol");
      handleEnrol(req, res);
    } else if (what == "sync" && post && parts.size() == 3) {
      named("sync");
      handleSync(req, res);
    } else if (what == "status" && post && parts.size() == 3) {
      named("status");
      handleStatus(req, res);
    } else if (what == "session" && parts.size() == 3 && (post || get || method == "DELETE")) {
      named("session");
      if (post) {
        handleLogin(req, res);
      } else {
        handleSession(req, res);
      }
    } else if (what == "datasets" && get && parts.size() == 5 && parts[4].size() > 4 &&
               parts[4].compare(parts[4].size() - 4, 4, ".csv") == 0) {
      named("csv");
      if (authAdmin(req, res)) {
        handleCsv(parts[3], parts[4].substr(0, parts[4].size() - 4), uri, res);
      }
    } else if (what == "admin" && parts.size() >= 4) {
      routeAdmin(req, res, uri, parts, named);
    } else {
      named("not_found");
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "not-found",
                "no such endpoint: " + method + " " + path);
    }
  }

  template <typename Named>
  void routeAdmin(HTTPServerRequest& req, HTTPServerResponse& res, const Poco::URI& uri,
                  const std::vector<std::string>& parts, const Named& named) {
    const std::string& method = req.getMethod();
    const bool get = method == "GET";
    const bool post = method == "POST";
    const std::string& what = parts[3];
    const size_t n = parts.size();
    auto csvName = [](const std::string& file, std::string& base) {
      if (file.size() > 4 && file.compare(file.size() - 4, 4, ".csv") == 0) {
        base = file.substr(0, file.size() - 4);
        return true;
      }
      return false;
    };
    std::string base;
    std::function<void(const Caller&)> handler;
    if (what == "enrolment-codes" && post && n == 4) {
      named("enrolment_codes");
      handler = [&](const Caller&) { handleCreateCode(req, res); };
    } else if (what == "agents" && get && n == 4) {
      named("agents");
      handler = [&](const Caller&) { handleAgents(res); };
    } else if (what == "agents" && get && n == 5) {
      named("agent");
      handler = [&](const Caller&) { handleAgent(parts[4], res); };
    } else if (what == "agents" && post && n == 6 && parts[5] == "revoke") {
      named("revoke");
      handler = [&](const Caller&) { handleRevoke(parts[4], res); };
    } else if (what == "set-aside" && get && n == 4) {
      named("set_aside");
      handler = [&](const Caller&) { handleSetAside(res); };
    } else if (what == "overview" && get && n == 4) {
      named("overview");
      handler = [&](const Caller&) { handleOverview(res); };
    } else if (what == "history" && get && n == 4) {
      named("history");
      handler = [&](const Caller&) { handleHistory(uri, res); };
    } else if (what == "alerts" && get && n == 4) {
      named("alerts");
      handler = [&](const Caller&) { handleAlerts(uri, res); };
    } else if (what == "alerts" && post && n == 6 && parts[5] == "resolve") {
      named("alert_resolve");
      handler = [&](const Caller& c) { handleResolveAlert(parts[4], c, res); };
    } else if (what == "datasets" && get && n == 4) {
      named("datasets");
      handler = [&](const Caller&) { handleDatasets(res); };
    } else if (what == "indicators" && get && n == 4) {
      named("indicators");
      handler = [&](const Caller&) { handleIndicators(uri, res); };
    } else if (what == "indicators" && get && n == 5 && csvName(parts[4], base)) {
      named("csv");
      handler = [&](const Caller&) { handleIndicatorCsv(base, uri, res); };
    } else if (what == "core" && get && n == 5 && csvName(parts[4], base)) {
      named("csv");
      handler = [&](const Caller&) { handleCoreCsv(base, uri, res); };
    } else {
      named("not_found");
    }
    // Authentication first, so an unknown path does not tell a stranger what exists.
    auto caller = authAdmin(req, res);
    if (!caller) {
      return;
    }
    if (!handler) {
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "not-found",
                "no such admin endpoint: " + method + " " + uri.getPath());
      return;
    }
    handler(*caller);
  }
};

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Hub::Impl& hub) : hub_(hub) {}
  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& res) override {
    const auto start = std::chrono::steady_clock::now();
    size_t endpoint = HttpMetrics::endpointIndex("other");
    try {
      hub_.route(req, res, endpoint);
    } catch (const std::exception& e) {
      // Never let an exception escape a handler: answer 500 if nothing was sent yet.
      hub_.log->error(std::string("request ") + req.getURI() + ": " + e.what());
      if (!res.sent()) {
        sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "internal", e.what());
      }
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    hub_.metrics.observe(endpoint, static_cast<int>(res.getStatus()), took.count());
  }

 private:
  Hub::Impl& hub_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Hub::Impl& hub) : hub_(hub) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(hub_);
  }

 private:
  Hub::Impl& hub_;
};

}  // namespace

Hub::Hub(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Hub::~Hub() { stop(); }

Result<std::unique_ptr<Hub>> Hub::create(HubConfig config) {
  auto store = openSqliteCentralStore(config.storePath());
  if (!store) {
    return store.status();
  }
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->store = std::move(*store);
  impl->login_limiter = std::make_unique<LoginLimiter>(impl->config.login_max_failures_per_user,
                                                       impl->config.login_max_failures_per_ip,
                                                       impl->config.login_window_s);
  return std::unique_ptr<Hub>(new Hub(std::move(impl)));
}

Status Hub::start() {
  auto& c = impl_->config;
  try {
    const Poco::Net::SocketAddress addr(c.listen_host, c.listen_port);
    std::unique_ptr<Poco::Net::ServerSocket> socket;
    if (!c.tls_certificate.empty()) {
      Poco::Net::Context::Ptr ctx =
          new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, c.tls_private_key,
                                 c.tls_certificate, "", Poco::Net::Context::VERIFY_NONE);
      ctx->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                            Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
      socket = std::make_unique<Poco::Net::SecureServerSocket>(addr, 64, ctx);
    } else {
      socket = std::make_unique<Poco::Net::ServerSocket>(addr, 64);
    }
    impl_->port = socket->address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(c.threads);
    params->setMaxQueued(256);
    params->setTimeout(Poco::Timespan(c.idle_timeout_s, 0));
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(c.idle_timeout_s, 0));
    params->setMaxKeepAliveRequests(10000);
    params->setServerName("exportsync-hub");
    impl_->watchdog = std::make_unique<Watchdog>(std::chrono::seconds(c.request_timeout_s));
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory = new Factory(*impl_);
    impl_->server = std::make_unique<Poco::Net::TCPServer>(
        new GuardedFactory(params, factory, *impl_->watchdog), *socket, params);
    impl_->server->start();
  } catch (const Poco::Exception& e) {
    return Status::io("cannot listen on " + c.listen_host + ":" + std::to_string(c.listen_port) +
                      ": " + e.displayText() + "; check hub.listen and the TLS files");
  }
  if (!c.port_file.empty()) {
    const std::string tmp = c.port_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << impl_->port << "\n";
    }
    std::rename(tmp.c_str(), c.port_file.c_str());
  }
  impl_->monitor = std::thread([impl = impl_.get()] { impl->monitorLoop(); });
  impl_->log->notice(std::string("hub listening on ") +
                     (c.tls_certificate.empty() ? "http://" : "https://") + c.listen_host + ":" +
                     std::to_string(impl_->port));
  return Status::ok();
}

void Hub::stop() {
  if (impl_ && impl_->server) {
    impl_->server->stop();
    impl_->server.reset();
    impl_->watchdog.reset();
  }
  if (impl_ && impl_->monitor.joinable()) {
    {
      const std::lock_guard<std::mutex> lock(impl_->monitor_mutex);
      impl_->monitor_stop = true;
    }
    impl_->monitor_wake.notify_all();
    impl_->monitor.join();
  }
}

uint16_t Hub::port() const { return impl_->port; }
CentralStore& Hub::store() { return *impl_->store; }

Result<std::string> Hub::createAdminToken(const std::string& label) {
  const std::string token = "esa1." + randomHex(32);
  if (auto st = impl_->store->addAdminToken(sha256Hex(token), label); !st) {
    return st;
  }
  return token;
}

Result<bool> Hub::createAdmin(const std::string& user, const std::string& password) {
  auto name = normaliseUserName(user);
  if (!name) {
    return name.status();
  }
  if (auto st = checkNewPassword(password); !st) {
    return st;
  }
  return impl_->store->setAdminPassword(
      *name, hashPassword(password, impl_->config.pbkdf2_iterations), nowSeconds());
}

Status Hub::evaluateAlertsForTest() { return impl_->evaluateAlerts(); }

}  // namespace exportsync::central
