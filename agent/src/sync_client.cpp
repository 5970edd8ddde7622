#include "exportsync/agent/sync_client.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <future>
#include <random>
#include <sstream>

#include "exportsync/agent/batch_builder.hpp"
#include "exportsync/agent/store.hpp"
#include "exportsync/protocol/batch.hpp"

namespace exportsync::agent {

using Poco::JSON::Object;

namespace {

int64_t nowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

Object::Ptr parseObject(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Object::Ptr>();
}

// A reply body's "message", or the body itself.
std::string replyMessage(const HttpReply& r) {
  try {
    auto o = parseObject(r.body);
    return o->optValue<std::string>("message", r.body);
  } catch (const Poco::Exception&) {
    return r.body.substr(0, 300);
  }
}

void initSslOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    // Never ask a person on the console to accept a bad certificate: reject it.
    Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject =
        new Poco::Net::RejectCertificateHandler(false);
    Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, nullptr);
  });
}

}  // namespace

// --- credentials --------------------------------------------------------------------------

std::string credentialsPath(const std::string& state_dir) {
  return state_dir + "/credentials.properties";
}

Result<std::optional<Credentials>> loadCredentials(const std::string& state_dir) {
  const std::string path = credentialsPath(state_dir);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::optional<Credentials>();
  }
  if ((st.st_mode & 077) != 0) {
    return Status::config("credentials file '" + path +
                          "' is readable by other users; run "
                          "chmod 600 on it");
  }
  try {
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
        new Poco::Util::PropertyFileConfiguration(path));
    Credentials c;
    c.hub_url = cfg->getString("hub_url", "");
    c.agent_id = cfg->getString("agent_id", "");
    c.region = cfg->getString("region", "");
    c.token = cfg->getString("token", "");
    if (c.agent_id.empty() || c.token.empty()) {
      return Status::config("credentials file '" + path +
                            "' is incomplete; enrol again with "
                            "exportsyncctl enroll");
    }
    return std::optional<Credentials>(std::move(c));
  } catch (const Poco::Exception& e) {
    return Status::config("credentials file '" + path + "' cannot be read: " + e.displayText());
  }
}

Status saveCredentials(const std::string& state_dir, const Credentials& c) {
  const std::string path = credentialsPath(state_dir);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::io("cannot write '" + tmp + "': " + std::strerror(errno) +
                      "; check that the state folder is writable by the agent's user");
  }
  const std::string text =
      "# ExportSync agent credential. Secret: keep mode 0600.\n"
      "hub_url = " +
      c.hub_url + "\nagent_id = " + c.agent_id + "\nregion = " + c.region + "\ntoken = " + c.token +
      "\n";
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::io("cannot write '" + path + "': " + std::strerror(errno));
  }
  return Status::ok();
}

// --- HTTP client --------------------------------------------------------------------------

struct HubClient::Impl {
  Poco::URI uri;
  std::string ca_file;
  std::chrono::seconds timeout;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  int64_t sent = 0;
  int64_t received = 0;

  Poco::Net::HTTPClientSession& connect() {
    if (!session) {
      if (uri.getScheme() == "https") {
        initSslOnce();
        Poco::Net::Context::Ptr ctx =
            new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", ca_file,
                                   Poco::Net::Context::VERIFY_STRICT, 9, ca_file.empty());
        session =
            std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), ctx);
      } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
      }
      session->setKeepAlive(true);
    }
    session->setTimeout(Poco::Timespan(timeout.count(), 0));
    return *session;
  }

  Result<HttpReply> exchange(const std::string& method, const std::string& path,
                             const std::string& body, const std::string& content_type,
                             const std::string& token) {
    // A kept-alive connection the server closed fails on first use: retry once, fresh.
    for (int attempt = 0;; ++attempt) {
      try {
        auto& s = connect();
        Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        req.setKeepAlive(true);
        if (!token.empty()) {
          req.set("Authorization", "Bearer " + token);
        }
        if (method == "POST") {
          req.setContentType(content_type);
          req.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        std::ostringstream head;
        req.write(head);
        auto& out = s.sendRequest(req);
        out.write(body.data(), static_cast<std::streamsize>(body.size()));
        sent += static_cast<int64_t>(head.str().size() + body.size());
        Poco::Net::HTTPResponse res;
        auto& in = s.receiveResponse(res);
        HttpReply reply;
        reply.status = static_cast<int>(res.getStatus());
        constexpr size_t kMaxReply = 64u << 20;
        char buf[16384];
        while (in) {
          in.read(buf, sizeof buf);
          reply.body.append(buf, static_cast<size_t>(in.gcount()));
          if (reply.body.size() > kMaxReply) {
            session.reset();
            return Status::io("hub reply is larger than 64 MiB; refusing it");
          }
        }
        std::ostringstream rhead;
        res.write(rhead);
        received += static_cast<int64_t>(rhead.str().size() + reply.body.size());
        return reply;
      } catch (const Poco::Net::SSLException& e) {
        session.reset();
        return Status::io("TLS/certificate error talking to " + uri.toString() + ": " +
                          e.displayText() + "; check the hub's certificate and sync.ca_file");
      } catch (const Poco::Exception& e) {
        session.reset();
        if (attempt == 0 && sent > 0) {
          continue;
        }
        return Status::io("cannot reach the hub at " + uri.toString() + ": " + e.displayText());
      }
    }
  }
};

HubClient::HubClient(std::string hub_url, std::string ca_file, std::chrono::seconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->uri = Poco::URI(hub_url);
  impl_->ca_file = std::move(ca_file);
  impl_->timeout = timeout;
}
HubClient::~HubClient() = default;

Result<HttpReply> HubClient::post(const std::string& path, const std::string& body,
                                  const std::string& content_type, const std::string& token) {
  return impl_->exchange("POST", path, body, content_type, token);
}
Result<HttpReply> HubClient::get(const std::string& path, const std::string& token) {
  return impl_->exchange("GET", path, "", "", token);
}
void HubClient::setTimeout(std::chrono::seconds timeout) { impl_->timeout = timeout; }
int64_t HubClient::bytesSent() const { return impl_->sent; }
int64_t HubClient::bytesReceived() const { return impl_->received; }

Result<Credentials> enrol(const std::string& hub_url, const std::string& code,
                          const std::string& ca_file, const std::string& region,
                          const std::string& state_dir) {
  HubClient client(hub_url, ca_file, std::chrono::seconds(30));
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  Object req;
  req.set("code", code);
  req.set("hostname", std::string(host));
  std::ostringstream body;
  req.stringify(body);
  auto reply = client.post("/api/v1/enrol", body.str(), "application/json", "");
  if (!reply) {
    return reply.status();
  }
  if (reply->status != 200) {
    return Status::invalid("enrolment refused by the hub (HTTP " + std::to_string(reply->status) +
                           "): " + replyMessage(*reply));
  }
  Credentials c;
  try {
    auto o = parseObject(reply->body);
    c.hub_url = hub_url;
    c.agent_id = o->getValue<std::string>("agent_id");
    c.region = o->getValue<std::string>("region");
    c.token = o->getValue<std::string>("token");
  } catch (const Poco::Exception& e) {
    return Status::io("enrolment: the hub's answer is not understood: " + e.displayText());
  }
  if (!region.empty() && c.region != region) {
    return Status::config("the enrolment code is for region " + c.region + " but agent.region is " +
                          region + "; ask for a code of the right region (nothing was saved)");
  }
  if (auto st = saveCredentials(state_dir, c); !st) {
    return st;
  }
  return c;
}

// --- the sync loop ------------------------------------------------------------------------

struct SyncClient::Impl {
  const AgentConfig& config;
  std::function<std::string()> heartbeat_json;
  Poco::Logger& log = Poco::Logger::get("exportsync.sync");

  mutable std::mutex mutex;
  SyncStatus status;  // Guarded by mutex.

  std::thread thread;
  std::atomic<bool> stopping{false};
  int wake_pipe[2] = {-1, -1};
  int inotify_fd = -1;

  // Owned by the sync thread.
  std::unique_ptr<Store> store;
  std::unique_ptr<HubClient> client;
  std::optional<Credentials> creds;
  int64_t batch_rows = 0;
  int failures = 0;
  std::string credential_refused;  // why the last heartbeat got 401; empty when accepted
  std::shared_ptr<SyncStartPoint> start_point;
  std::string went_back;  // why this store may not sync (restored or copied); empty when fine
  std::chrono::steady_clock::time_point next_heartbeat{};
  std::mt19937_64 rng{std::random_device{}()};

  Impl(const AgentConfig& c, std::function<std::string()> hb)
      : config(c), heartbeat_json(std::move(hb)) {
    batch_rows = c.sync.batch_rows;
    status.hub_url = c.sync.hub_url;
    status.batch_rows = batch_rows;
  }

  void setState(const std::string& state) {
    const std::lock_guard<std::mutex> lock(mutex);
    status.state = state;
  }
  void setError(const std::string& error) {
    const std::lock_guard<std::mutex> lock(mutex);
    status.last_error = error;
    status.last_error_at = nowSeconds();
  }

  // Prepares store, credentials and client; false when sync cannot run yet.
  bool ready() {
    if (!store) {
      auto s = Store::open(config.storePath(), false);
      if (!s) {
        setError(s.status().message());
        setState("error");
        return false;
      }
      store = std::move(*s);
    }
    if (!creds) {
      auto c = loadCredentials(config.state_dir);
      if (!c) {
        setError(c.status().message());
        setState("error");
        return false;
      }
      if (!c->has_value() && !config.sync.enrol_code.empty()) {
        auto e = enrol(config.sync.hub_url, config.sync.enrol_code, config.sync.ca_file,
                       config.region, config.state_dir);
        if (!e) {
          setError("enrolment: " + e.status().message());
          setState("not-enrolled");
          log.error("enrolment with sync.enrol_code failed: " + e.status().message());
          return false;
        }
        log.notice("enrolled as agent '" + e->agent_id + "' for region " + e->region);
        *c = std::optional<Credentials>(*e);
      }
      if (!c->has_value()) {
        setError(
            "not enrolled: run exportsyncctl enroll --hub URL --code CODE, or set "
            "sync.enrol_code");
        setState("not-enrolled");
        return false;
      }
      creds = **c;
      if (creds->region != config.region) {
        setError("credential is for region " + creds->region + " but agent.region is " +
                 config.region + "; enrol again for the right region");
        setState("error");
        creds.reset();
        return false;
      }
      const std::lock_guard<std::mutex> lock(mutex);
      status.agent_id = creds->agent_id;
    }
    if (!client) {
      client = std::make_unique<HubClient>(config.sync.hub_url, config.sync.ca_file,
                                           config.sync.timeout);
    }
    return true;
  }

  void refreshBacklog() {
    auto b = store->backlog();
    auto acked = store->syncAcked();
    if (!b || !acked) {
      return;
    }
    const int64_t warn = config.sync.backlog_warn_mb << 20;
    const int64_t full = config.sync.backlog_max_mb << 20;
    const std::lock_guard<std::mutex> lock(mutex);
    status.backlog_rows = b->rows;
    status.backlog_bytes = b->bytes;
    status.oldest_unacked_at = b->oldest_at;
    status.acked_seq = *acked;
    const bool was_warning = status.backlog_warning;
    status.backlog_warning = b->bytes >= warn;
    status.backlog_full = b->bytes >= full;
    if (status.backlog_warning && !was_warning) {
      log.warning("unsent backlog is " + std::to_string(b->bytes >> 20) + " MiB (warning at " +
                  std::to_string(config.sync.backlog_warn_mb) + ", limit " +
                  std::to_string(config.sync.backlog_max_mb) +
                  " MiB): check the link to the hub; nothing is dropped");
    }
  }

  Status sendHeartbeat() {
    refreshBacklog();
    const std::string body = heartbeat_json ? heartbeat_json() : std::string("{}");
    auto reply = client->post("/api/v1/status", body, "application/json", creds->token);
    const std::lock_guard<std::mutex> lock(mutex);
    status.hub_reachable = reply.isOk();
    if (!reply) {
      return reply.status();
    }
    if (reply->status == 401) {
      credential_refused = "hub refused the credential: " + replyMessage(*reply);
      status.last_error = credential_refused;
      status.last_error_at = nowSeconds();
      status.state = "error";
      return Status::invalid(credential_refused);
    }
    if (reply->status >= 300) {
      return Status::io("hub refused the status (HTTP " + std::to_string(reply->status) +
                        "): " + replyMessage(*reply));
    }
    credential_refused.clear();
    checkStartPoint(*reply);
    return Status::ok();
  }

  // The restored-store check (SyncStartPoint), on the hub's answer to a status call. Caller
  // holds `mutex`.
  void checkStartPoint(const HttpReply& reply) {
    if (!start_point || start_point->checked || !went_back.empty()) {
      return;
    }
    int64_t mark = -1;
    std::string incarnation;
    try {
      auto o = parseObject(reply.body);
      mark = o->optValue<int64_t>("mark", -1);
      incarnation = o->optValue<std::string>("incarnation", "");
    } catch (const Poco::Exception&) {
    }
    if (mark < 0) {
      return;  // no mark (a hub older than this check): drain() sends nothing, asks for an upgrade
    }
    // A store created afresh (another incarnation) is the hub's to refuse, by name, on the
    // first batch; this check is for the same store gone back in time.
    if (mark <= start_point->last_seq ||
        (!incarnation.empty() && incarnation != store->incarnation())) {
      start_point->checked = true;
      return;
    }
    went_back = "this store numbered its changes up to seq " +
                std::to_string(start_point->last_seq) + " but the hub already holds seq " +
                std::to_string(mark) + " from agent '" + creds->agent_id +
                "': the store was restored from a backup or copied from another machine, and "
                "its new changes would pass for ones the hub has. Nothing is sent. Ask a "
                "central admin to revoke agent '" +
                creds->agent_id +
                "', then enrol this office again (exportsyncctl enroll); see the operations "
                "guide, 'Back up and restore'";
    log.error("sync: " + went_back);
    status.last_error = went_back;
    status.last_error_at = nowSeconds();
    status.state = "error";
  }

  // A batch built and encoded, ready to post.
  struct Outgoing {
    int64_t after = 0;  // built from the changes with seq > after
    protocol::Batch batch;
    std::string wire;
  };
  // The batch after `after` (at most `rows` changes), encoded; nullopt when nothing waits.
  Result<std::optional<Outgoing>> build(int64_t after, int64_t rows) {
    BatchBuilder builder(*store, creds->agent_id, creds->region);
    auto next = builder.next(after, static_cast<size_t>(rows));
    if (!next) {
      return next.status();
    }
    if (!next->has_value()) {
      return std::optional<Outgoing>();
    }
    auto wire = protocol::encodeBatch(**next, config.sync.zstd_level);
    if (!wire) {
      return wire.status();
    }
    return std::optional<Outgoing>(Outgoing{after, std::move(**next), std::move(*wire)});
  }
  // The batch after the one in flight, built while the hub worked on it; used only if the hub
  // then acknowledged exactly that one.
  std::optional<Outgoing> ahead;
  // The last mark the hub acknowledged to this process (-1: none yet), and how far the change
  // log has been purged. Only such a mark is purged through, never the recorded one.
  int64_t hub_acked = -1;
  int64_t purged_through = -1;
  // While a backlog drains, acknowledged changes are purged only once this many wait: deleting
  // them costs about a fifth of building the next batch, time the hub would otherwise wait. The
  // rest goes when the backlog is empty.
  static constexpr int64_t kPurgeWhileDraining = 200'000;
  // Purges through the hub's last acknowledgement, never past the recorded mark (a gap answer
  // may have moved it back), once `at_least` (>= 1) changes wait; a failure is only logged (the
  // changes stay, and go with a later purge).
  void purge(int64_t at_least = 1) {
    auto recorded = store->syncAcked();
    if (!recorded) {
      log.warning("cannot purge acknowledged changes yet: " + recorded.status().message());
      return;
    }
    const int64_t through = std::min(hub_acked, *recorded);
    if (through - std::max<int64_t>(purged_through, 0) < at_least) {
      return;
    }
    if (auto st = store->purgeAcknowledged(through); !st) {
      log.warning("cannot purge acknowledged changes yet: " + st.message());
      return;
    }
    purged_through = through;
  }

  // One batch exchange. Returns true when it made progress (more may follow).
  bool sendOne(bool& backlog_empty, Status& error) {
    backlog_empty = false;
    auto acked = store->syncAcked();
    if (!acked) {
      error = acked.status();
      return false;
    }
    std::optional<Outgoing> out;
    if (ahead && ahead->after == *acked) {
      out = std::move(ahead);
    }
    ahead.reset();
    if (!out) {
      auto built = build(*acked, batch_rows);
      if (!built) {
        error = built.status();
        return false;
      }
      if (!built->has_value()) {
        backlog_empty = true;
        purge();
        return false;
      }
      out = std::move(*built);
    }
    const auto& batch = out->batch;
    const auto* wire = &out->wire;
    // While the hub works on this batch, the store is free: build the next batch, of the size
    // a quick success leads to, and purge what the hub acknowledged before if much waits. The
    // store is touched again only after get().
    const int64_t ahead_rows = std::min<int64_t>(config.sync.max_batch_rows, batch_rows * 2);
    auto work =
        std::async(std::launch::async, [this, after = batch.header.last_seq, rows = ahead_rows] {
          auto next = build(after, rows);
          purge(kPurgeWhileDraining);
          return next;
        });
    const auto started = std::chrono::steady_clock::now();
    auto reply =
        client->post("/api/v1/sync", *wire, "application/x-exportsync-batch", creds->token);
    auto built_ahead = work.get();
    if (!reply) {
      // Timeouts and drops: smaller batches next time.
      batch_rows = std::max<int64_t>(config.sync.min_batch_rows, batch_rows / 4);
      const std::lock_guard<std::mutex> lock(mutex);
      status.hub_reachable = false;
      status.batch_rows = batch_rows;
      error = reply.status();
      return false;
    }
    {
      const std::lock_guard<std::mutex> lock(mutex);
      status.hub_reachable = true;
    }
    int64_t mark = -1;
    std::string error_code;
    try {
      auto o = parseObject(reply->body);
      mark = o->optValue<int64_t>("mark", -1);
      error_code = o->optValue<std::string>("error", "");
    } catch (const Poco::Exception&) {
    }
    if (reply->status == 200 && mark >= 0) {
      if (auto st = store->acknowledge(mark); !st) {
        // Not fatal: the hub has the changes; they are resent and skipped as duplicates.
        log.warning("cannot record the hub's acknowledgement yet: " + st.message());
      } else {
        hub_acked = mark;
      }
      const auto took = std::chrono::steady_clock::now() - started;
      if (took < config.sync.timeout / 4) {
        batch_rows = std::min<int64_t>(config.sync.max_batch_rows, batch_rows * 2);
      }
      if (mark == batch.header.last_seq && batch_rows == ahead_rows && built_ahead &&
          built_ahead->has_value()) {
        ahead = std::move(**built_ahead);
      }
      const std::lock_guard<std::mutex> lock(mutex);
      if (mark > status.acked_seq) {
        status.last_ack_progress_at = nowSeconds();
      }
      status.acked_seq = mark;
      status.last_sync_ok_at = nowSeconds();
      status.rows_sent += static_cast<int64_t>(batch.changes.size());
      status.batches_sent += 1;
      status.bytes_sent = client->bytesSent();
      status.batch_rows = batch_rows;
      status.last_result = "sent " + std::to_string(batch.changes.size()) + " changes (seq " +
                           std::to_string(batch.header.first_seq) + ".." +
                           std::to_string(batch.header.last_seq) + "), hub mark " +
                           std::to_string(mark);
      status.last_error.clear();
      return true;
    }
    if (reply->status == 409 && mark >= 0 && error_code == "gap") {
      // Gap: the hub holds less than we thought. Rewind to its mark if we still have it.
      auto first = store->changesAfter(0, 1);
      if (first && !first->empty() && first->front().seq > mark + 1 && *acked > mark) {
        error = Status::io("the hub holds changes only up to seq " + std::to_string(mark) +
                           " but this agent already purged up to " + std::to_string(*acked) +
                           " (was the hub restored from a backup?); ask a central admin");
        return false;
      }
      log.warning("hub mark is " + std::to_string(mark) + ", rewinding from " +
                  std::to_string(*acked));
      if (auto st = store->setMeta("sync_acked", std::to_string(mark)); !st) {
        error = st;
        return false;
      }
      // The changes after the hub's mark are to be sent again: never purge them.
      hub_acked = std::min(hub_acked, mark);
      return true;
    }
    error = Status::invalid("hub refused the batch (HTTP " + std::to_string(reply->status) +
                            "): " + replyMessage(*reply));
    return false;
  }

  // Sends until empty or error. Returns the error (OK when the backlog is empty).
  Status drain() {
    if (!credential_refused.empty()) {
      return Status::invalid(credential_refused);  // even with nothing to send: never "synced"
    }
    if (start_point && !start_point->checked) {
      // Nothing is sent before the hub has told its mark (see SyncStartPoint).
      if (went_back.empty()) {
        if (auto st = sendHeartbeat(); !st) {
          return st;
        }
      }
      if (!went_back.empty()) {
        return Status::invalid(went_back);
      }
      if (!start_point->checked) {
        return Status::io("the hub's answer to the status call had no mark; upgrade the hub");
      }
    }
    for (;;) {
      if (stopping) {
        return Status::ok();
      }
      bool empty = false;
      Status error;
      const bool progressed = sendOne(empty, error);
      if (empty) {
        return Status::ok();
      }
      if (!progressed) {
        return error.isOk() ? Status::internal("sync made no progress") : error;
      }
    }
  }

  bool linkUp() {
    try {
      const Poco::URI uri(config.sync.hub_url);
      Poco::Net::StreamSocket s;
      s.connect(Poco::Net::SocketAddress(uri.getHost(), uri.getPort()), Poco::Timespan(1, 0));
      s.close();
      return true;
    } catch (const Poco::Exception&) {
      return false;
    }
  }

  // A commit is announced (inotify) when its WAL frames are written but becomes visible only
  // after its fsync: a round right after the event can find nothing. So after every wake-up
  // the loop looks again, sooner than the slow poll: 20 ms, 40 ms ... 2.56 s later (5 s in all).
  static constexpr int kRechecks = 8;
  int rechecks_left = 0;

  // Waits for a commit, a wake-up, or the timeout. Returns false when stopping.
  bool waitFor(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{wake_pipe[0], POLLIN, 0}, {inotify_fd, POLLIN, 0}};
    const int n = ::poll(fds, inotify_fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
    if (n > 0) {
      rechecks_left = kRechecks;
      char buf[4096];
      for (auto& f : fds) {
        if (f.fd >= 0 && (f.revents & POLLIN) != 0) {
          while (::read(f.fd, buf, sizeof buf) > 0) {
          }
        }
      }
      // Debounce: let a burst of commits land in one round.
      struct timespec ts {
        0, 10'000'000
      };
      nanosleep(&ts, nullptr);
      while (inotify_fd >= 0 && ::read(inotify_fd, buf, sizeof buf) > 0) {
      }
    }
    return !stopping;
  }

  void updateStalled() {
    const std::lock_guard<std::mutex> lock(mutex);
    const int64_t now = nowSeconds();
    const int64_t since = std::max(status.last_ack_progress_at, started_at);
    if (status.backlog_rows > 0 && status.hub_reachable &&
        now - since > config.sync.stall_after.count()) {
      if (status.state != "stalled") {
        log.error("sync stalled: " + std::to_string(status.backlog_rows) +
                  " changes wait and the hub has acknowledged nothing for " +
                  std::to_string(now - since) + " s; last error: " + status.last_error);
      }
      status.state = "stalled";
    }
  }

  int64_t started_at = 0;

  void loop() {
    started_at = nowSeconds();
    while (!stopping) {
      if (!ready()) {
        waitFor(std::chrono::seconds(30));
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_heartbeat) {
        (void)sendHeartbeat();  // a failure shows in status; drain() reports it too
        next_heartbeat = now + config.sync.heartbeat;
      }
      setState("syncing");
      Status st = drain();
      refreshBacklog();
      if (st) {
        failures = 0;
        setState("synced");
        updateStalled();
        const auto until_hb = next_heartbeat - std::chrono::steady_clock::now();
        // Wake on commit (inotify on the WAL), on wake(), or for the heartbeat; a slow poll
        // covers file systems without inotify. Soon after a wake-up, look again (kRechecks).
        auto poll_every =
            inotify_fd >= 0 ? std::chrono::milliseconds(30000) : std::chrono::milliseconds(1000);
        if (rechecks_left > 0) {
          poll_every =
              std::min(poll_every, std::chrono::milliseconds(20 << (kRechecks - rechecks_left)));
          --rechecks_left;
        }
        waitFor(std::min<std::chrono::milliseconds>(
            std::chrono::duration_cast<std::chrono::milliseconds>(until_hb), poll_every));
        continue;
      }
      ++failures;
      setError(st.message());
      log.warning("sync: " + st.message());
      setState(status.hub_reachable ? "error" : "backoff");
      updateStalled();
      // Exponential backoff with jitter, cut short as soon as the hub answers again.
      const double base = std::min<double>(static_cast<double>(config.sync.backoff_max.count()),
                                           0.5 * std::pow(2.0, std::min(failures, 20)));
      std::uniform_real_distribution<double> jitter(0.5, 1.0);
      const auto delay = std::chrono::milliseconds(static_cast<int64_t>(base * 1000 * jitter(rng)));
      const auto until = std::chrono::steady_clock::now() + delay;
      while (!stopping && std::chrono::steady_clock::now() < until) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        waitFor(std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(2000)));
        if (!status.hub_reachable && linkUp()) {
          break;  // the link is back: retry now
        }
      }
    }
  }
};

SyncClient::SyncClient(const AgentConfig& config, std::function<std::string()> heartbeat_json,
                       std::shared_ptr<SyncStartPoint> start)
    : impl_(std::make_unique<Impl>(config, std::move(heartbeat_json))) {
  impl_->start_point = std::move(start);
  if (::pipe2(impl_->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    impl_->wake_pipe[0] = impl_->wake_pipe[1] = -1;
  }
  impl_->inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (impl_->inotify_fd >= 0) {
    // The WAL file is written on every commit, by any process.
    if (::inotify_add_watch(impl_->inotify_fd, config.state_dir.c_str(),
                            IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
      ::close(impl_->inotify_fd);
      impl_->inotify_fd = -1;
    }
  }
}

SyncClient::~SyncClient() {
  stop();
  for (int fd : {impl_->wake_pipe[0], impl_->wake_pipe[1], impl_->inotify_fd}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

void SyncClient::start() {
  if (!impl_->thread.joinable()) {
    impl_->thread = std::thread([this] { impl_->loop(); });
  }
}

void SyncClient::stop() {
  impl_->stopping = true;
  wake();
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
}

void SyncClient::wake() {
  if (impl_->wake_pipe[1] >= 0) {
    const char c = 1;
    (void)!::write(impl_->wake_pipe[1], &c, 1);
  }
}

SyncStatus SyncClient::status() const {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->status;
}

Status SyncClient::syncNow() {
  if (!impl_->ready()) {
    return Status::config(status().last_error);
  }
  (void)impl_->sendHeartbeat();  // drain() reports what matters
  auto st = impl_->drain();
  impl_->refreshBacklog();
  impl_->setState(st ? "synced" : "error");
  if (!st) {
    impl_->setError(st.message());
  }
  return st;
}

}  // namespace exportsync::agent
