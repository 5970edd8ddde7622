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
#include <condition_variable>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "exportsync/protocol/batch.hpp"
#include "exportsync/random.hpp"
#include "exportsync/schema_sql.hpp"

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
  res.setStatus(status);
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
      log->warning("revoked credential of agent '" + (*a)->id + "' used from " +
                   req.clientAddress().host().toString());
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "revoked-credential",
                "the credential of agent '" + (*a)->id +
                    "' was revoked by a central admin; ask the Secretariat for a new enrolment "
                    "code and enrol again");
      return std::nullopt;
    }
    return **a;
  }

  bool authAdmin(HTTPServerRequest& req, HTTPServerResponse& res) {
    const std::string token = bearer(req);
    if (token.empty()) {
      sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "no-credential",
                "admin endpoint: send 'Authorization: Bearer <admin token>'");
      return false;
    }
    const std::string hash = sha256Hex(token);
    if (!config.admin_token_sha256.empty() && hash == config.admin_token_sha256) {
      return true;
    }
    auto ok = store->isAdminToken(hash);
    if (ok && *ok) {
      return true;
    }
    auto agent = store->agentByToken(hash);
    if (agent && agent->has_value()) {
      sendError(res, HTTPResponse::HTTP_FORBIDDEN, "agent-credential",
                "agent credentials cannot call admin endpoints");
      return false;
    }
    sendError(res, HTTPResponse::HTTP_UNAUTHORIZED, "unknown-credential",
              "unknown admin token; create one with exportsync-hub --create-admin-token");
    return false;
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
    try {
      (void)parseJsonBody(body);
    } catch (const Poco::Exception& e) {
      sendError(res, HTTPResponse::HTTP_BAD_REQUEST, "bad-json",
                "status: body is not a JSON object: " + e.displayText());
      return;
    }
    if (auto st = store->recordHeartbeat(agent->id, body, nowSeconds()); !st) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", st.message());
      return;
    }
    Object o;
    o.set("mark", agent->mark);
    o.set("last_error", agent->last_error);
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
    if (!agents) {
      sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "store", agents.status().message());
      return;
    }
    Array::Ptr list = new Array;
    const int64_t now = nowSeconds();
    for (const auto& a : *agents) {
      list->add(agentJson(a, now, config.stall_after_s));
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

  void route(HTTPServerRequest& req, HTTPServerResponse& res) {
    const Poco::URI uri(req.getURI());
    const std::string& path = uri.getPath();
    const std::string& method = req.getMethod();
    std::vector<std::string> parts;
    uri.getPathSegments(parts);
    const bool get = method == "GET";
    const bool post = method == "POST";
    if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v1") {
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "not-found", "no such endpoint: " + path);
      return;
    }
    const std::string& what = parts[2];
    if (what == "health" && get) {
      Object o;
      o.set("ok", true);
      sendJson(res, HTTPResponse::HTTP_OK, o);
    } else if (what == "enrol" && post && parts.size() == 3) {
      handleEnrol(req, res);
    } else if (what == "sync" && post && parts.size() == 3) {
      handleSync(req, res);
    } else if (what == "status" && post && parts.size() == 3) {
      handleStatus(req, res);
    } else if (what == "datasets" && get && parts.size() == 5 && parts[4].size() > 4 &&
               parts[4].compare(parts[4].size() - 4, 4, ".csv") == 0) {
      if (authAdmin(req, res)) {
        handleCsv(parts[3], parts[4].substr(0, parts[4].size() - 4), uri, res);
      }
    } else if (what == "admin" && parts.size() >= 4) {
      if (!authAdmin(req, res)) {
        return;
      }
      if (parts[3] == "enrolment-codes" && post && parts.size() == 4) {
        handleCreateCode(req, res);
      } else if (parts[3] == "agents" && get && parts.size() == 4) {
        handleAgents(res);
      } else if (parts[3] == "agents" && post && parts.size() == 6 && parts[5] == "revoke") {
        handleRevoke(parts[4], res);
      } else if (parts[3] == "set-aside" && get && parts.size() == 4) {
        handleSetAside(res);
      } else {
        sendError(res, HTTPResponse::HTTP_NOT_FOUND, "not-found",
                  "no such admin endpoint: " + method + " " + path);
      }
    } else {
      sendError(res, HTTPResponse::HTTP_NOT_FOUND, "not-found",
                "no such endpoint: " + method + " " + path);
    }
  }
};

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Hub::Impl& hub) : hub_(hub) {}
  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& res) override {
    try {
      hub_.route(req, res);
    } catch (const std::exception& e) {
      // Never let an exception escape a handler: answer 500 if nothing was sent yet.
      hub_.log->error(std::string("request ") + req.getURI() + ": " + e.what());
      if (!res.sent()) {
        sendError(res, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "internal", e.what());
      }
    }
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

}  // namespace exportsync::central
