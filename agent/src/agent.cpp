#include "exportsync/agent/agent.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "exportsync/version.hpp"

namespace exportsync::agent {

using Poco::JSON::Array;
using Poco::JSON::Object;

// --- loopback status API ------------------------------------------------------------------

namespace {

class StatusHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit StatusHandler(Agent& agent) : agent_(agent) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& res) override {
    try {
      const Poco::URI uri(req.getURI());
      std::string body;
      if (req.getMethod() == "GET" && uri.getPath() == "/status") {
        body = agent_.statusJson();
      } else if (req.getMethod() == "POST" && uri.getPath() == "/run") {
        std::string plugin;
        for (const auto& [k, v] : uri.getQueryParameters()) {
          if (k == "plugin") {
            plugin = v;
          }
        }
        agent_.runNow(plugin);
        body = "{\"requested\":true}";
      } else if (req.getMethod() == "POST" && uri.getPath() == "/sync") {
        agent_.wakeSync();
        body = "{\"requested\":true}";
      } else {
        res.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
        body =
            "{\"error\":\"not-found\",\"message\":\"use GET /status, POST /run[?plugin=NAME] "
            "or POST /sync\"}";
      }
      res.setContentType("application/json");
      res.setContentLength(static_cast<std::streamsize>(body.size()));
      res.send() << body;
    } catch (const std::exception& e) {
      if (!res.sent()) {
        res.setStatus(Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
        res.send() << "{\"error\":\"internal\"}";
      }
    }
  }

 private:
  Agent& agent_;
};

class StatusFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit StatusFactory(Agent& agent) : agent_(agent) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new StatusHandler(agent_);
  }

 private:
  Agent& agent_;
};

}  // namespace

struct Agent::StatusServer {
  std::unique_ptr<Poco::Net::HTTPServer> server;
  uint16_t port = 0;
};

// --- Agent --------------------------------------------------------------------------------

Result<std::unique_ptr<Agent>> Agent::create(AgentConfig config,
                                             const std::string& worker_executable) {
  auto store = Store::open(config.storePath());
  if (!store) {
    return store.status();
  }
  // Where the store stands before any run of this process (see SyncStartPoint).
  auto last_seq = (*store)->lastSeq();
  if (!last_seq) {
    return last_seq.status();
  }
  std::unique_ptr<Agent> agent(new Agent(std::move(config), std::move(*store), worker_executable));
  agent->start_point_->last_seq = *last_seq;
  agent->host_->scan();
  agent->sync_ = agent->makeSync();
  return agent;
}

std::shared_ptr<SyncClient> Agent::makeSync() {
  if (config_.sync.hub_url.empty()) {
    return nullptr;
  }
  return std::make_shared<SyncClient>(
      config_, [this] { return statusJson(); }, start_point_);
}

std::shared_ptr<SyncClient> Agent::currentSync() const {
  const std::lock_guard<std::mutex> lock(sync_mutex_);
  return sync_;
}

SyncClient* Agent::sync() { return currentSync().get(); }

void Agent::wakeSync() {
  if (auto s = currentSync()) {
    s->wake();
  }
}

Agent::Agent(AgentConfig config, std::unique_ptr<Store> store, const std::string& worker_executable)
    : config_(std::move(config)), store_(std::move(store)) {
  host_ = std::make_unique<PluginHost>(config_, *store_, WorkerLauncher(worker_executable),
                                       Poco::Logger::get("exportsync.plugins"));
}

Agent::~Agent() { stop(); }

bool Agent::backlogFull() const {
  const auto s = currentSync();
  return s && s->status().backlog_full;
}

std::vector<RunOutcome> Agent::runOnce() {
  std::vector<RunOutcome> out;
  for (const auto& rec : host_->plugins()) {
    if (rec.enabled && !rec.loaded) {
      RunOutcome o;
      o.plugin = rec.name;
      o.skipped = true;
      o.status = Status::invalid(rec.refusal);
      out.push_back(std::move(o));
    }
  }
  for (const auto& name : host_->runnable()) {
    if (stopping_) {
      break;
    }
    out.push_back(host_->run(name, &stopping_));
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& o : out) {
    last_[o.plugin] = o;
  }
  return out;
}

void Agent::start() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (scheduler_.joinable()) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    for (const auto& name : host_->runnable()) {
      due_[name] = now;
    }
    started_ = true;
    scheduler_ = std::thread([this] { schedulerLoop(); });
  }
  if (auto s = currentSync()) {
    s->start();
  }
  if (config_.status_listen != "off") {
    auto& log = Poco::Logger::get("exportsync.agent");
    try {
      const Poco::Net::SocketAddress addr(config_.status_listen);
      Poco::Net::ServerSocket socket(addr, 16);
      auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
      params->setMaxThreads(2);
      params->setTimeout(Poco::Timespan(5, 0));
      status_server_ = std::make_unique<StatusServer>();
      status_server_->port = socket.address().port();
      status_server_->server =
          std::make_unique<Poco::Net::HTTPServer>(new StatusFactory(*this), socket, params);
      status_server_->server->start();
      // exportsyncctl finds the port here when status.listen asks for any free port (:0).
      const std::string port_file = config_.state_dir + "/status.port";
      if (FILE* f = std::fopen((port_file + ".tmp").c_str(), "w")) {
        std::fprintf(f, "%u\n", static_cast<unsigned>(status_server_->port));
        std::fclose(f);
        std::rename((port_file + ".tmp").c_str(), port_file.c_str());
      }
      log.information("status API on http://127.0.0.1:" + std::to_string(status_server_->port));
    } catch (const Poco::Exception& e) {
      status_server_.reset();
      log.error("status API: cannot listen on " + config_.status_listen + ": " + e.displayText() +
                "; change status.listen (exportsyncctl status will not work)");
    }
  }
}

uint16_t Agent::statusPort() const { return status_server_ ? status_server_->port : 0; }

void Agent::runNow(const std::string& plugin) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto& [name, due] : due_) {
      if (plugin.empty() || name == plugin) {
        due = now;
      }
    }
  }
  wake_.notify_all();
}

void Agent::stop() {
  stopping_ = true;
  wake_.notify_all();
  if (status_server_) {
    status_server_->server->stop();
    status_server_.reset();
  }
  if (scheduler_.joinable()) {
    scheduler_.join();
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    started_ = false;
  }
  if (auto s = currentSync()) {
    s->stop();
  }
}

// --- reload (SIGHUP) ----------------------------------------------------------------------

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ",") + n;
  }
  return out.empty() ? "(none)" : out;
}

bool sameSync(const SyncSettings& a, const SyncSettings& b) {
  return a.hub_url == b.hub_url && a.ca_file == b.ca_file && a.enrol_code == b.enrol_code &&
         a.zstd_level == b.zstd_level && a.batch_rows == b.batch_rows &&
         a.min_batch_rows == b.min_batch_rows && a.max_batch_rows == b.max_batch_rows &&
         a.timeout == b.timeout && a.backoff_max == b.backoff_max && a.heartbeat == b.heartbeat &&
         a.stall_after == b.stall_after && a.backlog_warn_mb == b.backlog_warn_mb &&
         a.backlog_max_mb == b.backlog_max_mb;
}

bool samePlugin(const PluginConfig& a, const PluginConfig& b) {
  return a.interval == b.interval && a.timeout == b.timeout &&
         a.memory_limit_mb == b.memory_limit_mb && a.cpu_limit_s == b.cpu_limit_s &&
         a.values == b.values;
}

}  // namespace

Result<std::string> Agent::reload(AgentConfig next) {
  // Keys that a running agent cannot take over: its identity, its files, its sockets, its log.
  const std::pair<const char*, std::pair<const std::string*, const std::string*>> fixed[] = {
      {"agent.region", {&config_.region, &next.region}},
      {"agent.region_name_fr", {&config_.region_name_fr, &next.region_name_fr}},
      {"agent.region_name_ar", {&config_.region_name_ar, &next.region_name_ar}},
      {"agent.state_dir", {&config_.state_dir, &next.state_dir}},
      {"status.listen", {&config_.status_listen, &next.status_listen}},
      {"log.target", {&config_.log_target, &next.log_target}},
      {"log.file", {&config_.log_file, &next.log_file}},
  };
  for (const auto& [key, values] : fixed) {
    if (*values.first != *values.second) {
      return Status::config("config: " + next.source + " key '" + key + "': changed from '" +
                            *values.first + "' to '" + *values.second +
                            "', which needs a restart (systemctl restart exportsync-agent); "
                            "nothing was reloaded");
    }
  }
  // Summary of what changes (against the applied config: a reload still pending is replaced).
  // The scheduler thread writes these fields under mutex_.
  std::unique_lock<std::mutex> lock(mutex_);
  std::string what;
  if (next.enabled != config_.enabled) {
    what += " plugins.enabled=" + joined(next.enabled) + ";";
  }
  for (const auto& [name, p] : next.plugins) {
    const auto old = config_.plugins.find(name);
    if (old != config_.plugins.end() && !samePlugin(old->second, p)) {
      what +=
          " plugin." + name + " settings (interval " + std::to_string(p.interval.count()) + " s);";
    }
  }
  if (next.plugin_dir != config_.plugin_dir || next.max_failures != config_.max_failures) {
    what += " plugins.*;";
  }
  if (!sameSync(next.sync, config_.sync)) {
    what += " sync.*;";
  }
  if (next.log_level != config_.log_level) {
    what += " log.level=" + next.log_level + ";";
  }
  if (what.empty()) {
    what = " nothing changed;";
  }
  what.pop_back();
  // Logged here, before the scheduler may log "configuration reloaded": in that order.
  Poco::Logger::get("exportsync.agent").notice("reloading " + next.source + ": " + what.substr(1));
  if (started_) {
    pending_ = std::make_unique<AgentConfig>(std::move(next));
    wake_.notify_all();
    return what.substr(1);
  }
  lock.unlock();
  applyReload(std::move(next));
  return what.substr(1);
}

void Agent::applyReload(AgentConfig next) {
  auto& log = Poco::Logger::get("exportsync.agent");
  if (next.log_level != config_.log_level) {
    const int level = Poco::Logger::parseLevel(next.log_level);
    Poco::Logger::root().setLevel(level);
    Poco::Logger::setLevel("", level);
    const std::lock_guard<std::mutex> lock(mutex_);
    config_.log_level = next.log_level;
  }

  // Plugins: a new list, new settings (a plugin's datasets may depend on them) or another
  // folder mean describing the plugins again; the host reads config_ (no run is going on).
  bool rescan = next.enabled != config_.enabled || next.plugin_dir != config_.plugin_dir;
  for (const auto& [name, p] : next.plugins) {
    const auto old = config_.plugins.find(name);
    rescan = rescan || old == config_.plugins.end() || old->second.values != p.values;
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    config_.enabled = next.enabled;
    config_.plugins = next.plugins;
    config_.plugin_dir = next.plugin_dir;
    config_.max_failures = next.max_failures;
  }
  if (rescan) {
    host_->scan();
  }
  {
    // The schedule: a plugin that is no longer runnable leaves it, a new one runs now, and a
    // changed interval counts from now when that is sooner than the run already planned.
    const auto runnable = host_->runnable();
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = due_.begin(); it != due_.end();) {
      if (std::find(runnable.begin(), runnable.end(), it->first) == runnable.end()) {
        it = due_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& name : runnable) {
      const auto soonest = now + config_.plugins.at(name).interval;
      auto [it, added] = due_.emplace(name, now);
      if (!added && soonest < it->second) {
        it->second = soonest;
      }
    }
  }

  if (!sameSync(next.sync, config_.sync)) {
    // The sync client reads config_.sync on its own thread: stop it (an exchange in flight ends
    // first; what it sent stays acknowledged or is sent again, exactly once either way), then
    // start a new one on the new settings.
    if (auto old = currentSync()) {
      old->stop();
    }
    bool started = false;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      config_.sync = next.sync;
      started = started_ && !stopping_;
    }
    auto fresh = makeSync();
    if (fresh && started) {
      fresh->start();
    }
    const std::lock_guard<std::mutex> lock(sync_mutex_);
    sync_ = std::move(fresh);
  }
  log.notice("configuration reloaded from " + next.source + ": plugins " +
             joined(host_->runnable()) + " scheduled" +
             (config_.sync.hub_url.empty() ? ", sync off" : ", sync to " + config_.sync.hub_url) +
             ", log level " + config_.log_level);
  wake_.notify_all();
}

std::map<std::string, RunOutcome> Agent::lastOutcomes() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return last_;
}

std::string Agent::statusJson() const {
  Object o;
  o.set("version", std::string(kVersion));
  o.set("region", config_.region);
  if (!config_.region_name_fr.empty()) {
    o.set("region_name_fr", config_.region_name_fr);
  }
  if (!config_.region_name_ar.empty()) {
    o.set("region_name_ar", config_.region_name_ar);
  }
  o.set("time", static_cast<int64_t>(std::time(nullptr)));
  auto outcomes = lastOutcomes();
  Array::Ptr plugins = new Array;
  for (const auto& rec : host_->plugins()) {
    Object::Ptr p = new Object;
    p->set("name", rec.name);
    p->set("version", rec.version);
    p->set("file", rec.file);
    p->set("enabled", rec.enabled);
    p->set("loaded", rec.loaded);
    if (!rec.refusal.empty()) {
      p->set("refused", rec.refusal);
    }
    auto it = outcomes.find(rec.name);
    if (it != outcomes.end()) {
      const auto& r = it->second;
      p->set("last_result", r.status ? "ok" : (r.skipped ? "skipped" : "failed"));
      p->set("last_run_at", r.finished_at);
      p->set("last_duration_ms", static_cast<int64_t>(r.duration.count()));
      p->set("last_error", r.status ? "" : r.status.message());
      p->set("rows_upserted", r.stats.upserted);
      p->set("rows_removed", r.stats.removed);
      p->set("rows_rejected", r.stats.rejected);
      p->set("quarantined", r.quarantined_now || (r.skipped && r.status.code() == Code::Cancelled));
    }
    plugins->add(p);
  }
  o.set("plugins", plugins);
  if (const auto client = currentSync()) {
    const auto s = client->status();
    Object::Ptr j = new Object;
    j->set("state", s.state);
    j->set("agent_id", s.agent_id);
    j->set("hub_url", s.hub_url);
    j->set("hub_reachable", s.hub_reachable);
    j->set("acked_seq", s.acked_seq);
    j->set("last_sync_ok_at", s.last_sync_ok_at);
    j->set("last_result", s.last_result);
    j->set("last_error", s.last_error);
    j->set("last_error_at", s.last_error_at);
    j->set("batch_rows", s.batch_rows);
    j->set("rows_sent", s.rows_sent);
    j->set("bytes_sent", s.bytes_sent);
    j->set("backlog_warning", s.backlog_warning);
    j->set("backlog_full", s.backlog_full);
    o.set("sync", j);
    o.set("backlog_rows", s.backlog_rows);
    o.set("backlog_bytes", s.backlog_bytes);
    o.set("oldest_unacked_age_s",
          s.oldest_unacked_at == 0
              ? 0
              : static_cast<int64_t>(std::time(nullptr)) - s.oldest_unacked_at);
  }
  struct statvfs fs {};
  if (::statvfs(config_.state_dir.c_str(), &fs) == 0) {
    o.set("disk_free_bytes", static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize));
  }
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

void Agent::schedulerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (pending_) {
      // Between two runs: nothing is being collected, so the plugin settings can change.
      auto next_config = std::move(pending_);
      lock.unlock();
      applyReload(std::move(*next_config));
      lock.lock();
      continue;
    }
    auto next = due_.end();
    for (auto it = due_.begin(); it != due_.end(); ++it) {
      if (next == due_.end() || it->second < next->second) {
        next = it;
      }
    }
    if (next == due_.end()) {
      wake_.wait(lock, [this] { return stopping_.load() || pending_ != nullptr; });
      continue;
    }
    if (std::chrono::steady_clock::now() < next->second) {
      wake_.wait_until(lock, next->second);
      continue;  // re-evaluate: woken early by runNow or stop
    }
    const std::string name = next->first;
    const auto cfg = config_.plugins.find(name);
    if (cfg == config_.plugins.end()) {
      due_.erase(next);
      continue;
    }
    const auto interval = cfg->second.interval;
    next->second = std::chrono::steady_clock::now() + interval;
    lock.unlock();
    RunOutcome outcome;
    if (backlogFull()) {
      outcome.plugin = name;
      outcome.skipped = true;
      outcome.status = Status::io(
          "run postponed: the unsent backlog is over sync.backlog_max_mb; "
          "nothing is lost, the source data stays where it is");
      Poco::Logger::get("exportsync.agent")
          .warning("plugin '" + name + "': " + outcome.status.message());
    } else {
      outcome = host_->run(name, &stopping_);
      wakeSync();
    }
    lock.lock();
    outcome.finished_at = static_cast<int64_t>(std::time(nullptr));
    last_[name] = std::move(outcome);
  }
}

// --- --check-config ------------------------------------------------------------------------

namespace {

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// The one-line reason in a hub error reply ({"error", "message"}), else the body itself.
std::string hubMessage(const HttpReply& reply) {
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(reply.body).extract<Object::Ptr>();
    return o->optValue<std::string>("message", o->optValue<std::string>("error", reply.body));
  } catch (const Poco::Exception&) {
    return reply.body.substr(0, 200);
  }
}

// PRAGMA user_version without opening the database (opening it may write: WAL files, owned
// by whoever runs the check): bytes 60..63 of the header, big-endian.
Result<int64_t> storeVersion(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[100] = {};
  if (!in.read(header, sizeof header)) {
    return Status::io("store '" + path + "' cannot be read or is shorter than a SQLite header");
  }
  if (std::string(header, 16) != std::string("SQLite format 3\0", 16)) {
    return Status::io("store '" + path + "' is not a SQLite database; restore it from a backup");
  }
  const auto* b = reinterpret_cast<const unsigned char*>(header + 60);
  return static_cast<int64_t>((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
                              (uint32_t{b[2]} << 8) | uint32_t{b[3]});
}

}  // namespace

bool checkInstallation(const AgentConfig& c, std::ostream& out) {
  bool all_ok = true;
  const auto good = [&out](const std::string& m) { out << "ok: " << m << "\n"; };
  const auto bad = [&out, &all_ok](const std::string& m) {
    out << "PROBLEM: " << m << "\n";
    all_ok = false;
  };
  const uid_t me = ::geteuid();
  const std::string as_agent =
      " (run this check as the agent's user: runuser -u exportsync -- exportsync-agent --config " +
      c.source + " --check-config)";
  good("configuration " + c.source + ": region " + c.region + ", plugins " + joined(c.enabled));

  struct stat st {};
  if (::stat(c.state_dir.c_str(), &st) != 0) {
    bad("agent.state_dir '" + c.state_dir + "' cannot be read" + as_agent);
  } else if (st.st_uid != me) {
    bad("agent.state_dir '" + c.state_dir + "' belongs to uid " + std::to_string(st.st_uid) +
        ", not to the user running the agent (uid " + std::to_string(me) +
        "); chown -R exportsync:exportsync " + c.state_dir + as_agent);
  } else if ((st.st_mode & 0007) != 0) {
    bad("agent.state_dir '" + c.state_dir + "' is open to every user (mode " + octal(st.st_mode) +
        "); chmod 0750 " + c.state_dir);
  } else if (::access(c.state_dir.c_str(), W_OK) != 0) {
    bad("agent.state_dir '" + c.state_dir + "' is not writable (mode " + octal(st.st_mode) +
        "); chmod u+rwx " + c.state_dir);
  } else {
    good("state folder " + c.state_dir + " (mode " + octal(st.st_mode) + ")");
  }

  // The store: its version and its files' owner (a file created by root blocks the agent).
  const std::string store = c.storePath();
  if (::stat(store.c_str(), &st) != 0) {
    good("store " + store + " does not exist yet; the agent creates it at start");
  } else if (auto v = storeVersion(store); !v) {
    bad(v.status().message());
  } else if (*v > Store::kSchemaVersion) {
    bad("store '" + store + "' has schema version " + std::to_string(*v) +
        " but this agent supports up to " + std::to_string(Store::kSchemaVersion) +
        ": it was written by a newer agent; install that version again or restore a backup");
  } else {
    good("store " + store + " at schema version " + std::to_string(*v) +
         (*v < Store::kSchemaVersion
              ? ", migrated to " + std::to_string(Store::kSchemaVersion) + " at the next start"
              : ""));
  }
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    const std::string f = store + suffix;
    if (::stat(f.c_str(), &st) == 0 && st.st_uid != me) {
      bad("'" + f + "' belongs to uid " + std::to_string(st.st_uid) +
          ", so the agent cannot write its store; chown exportsync:exportsync " + f + as_agent);
    }
  }

  // Plugins: each file described as the agent does it (in a worker), with the agent's rules (a
  // folder or file every user may write is refused), against a throw-away in-memory store.
  if (auto scratch = Store::open(":memory:"); !scratch) {
    bad("cannot check the plugins: " + scratch.status().message());
  } else {
    Poco::Logger& quiet = Poco::Logger::get("exportsync.check");
    quiet.setLevel(Poco::Message::PRIO_FATAL);  // the refusals are reported below
    PluginHost host(c, **scratch, WorkerLauncher(currentExecutable()), quiet);
    host.scan();
    std::vector<std::string> running;
    for (const auto& rec : host.plugins()) {
      if (!rec.refusal.empty()) {
        bad(rec.refusal);
      } else if (rec.enabled) {
        running.push_back(rec.name + " " + rec.version);
      }
    }
    good("plugins in " + c.plugin_dir + " that will run: " + joined(running));
  }

  // Credential, then the hub.
  auto creds = loadCredentials(c.state_dir);
  const std::string enrol_hint =
      "enrol: exportsyncctl enroll --hub " +
      (c.sync.hub_url.empty() ? std::string("https://HUB") : c.sync.hub_url) +
      " --code CODE (a central admin creates the one-time code), or set sync.enrol_code";
  if (!creds) {
    bad(creds.status().message());
  } else if (!creds->has_value()) {
    if (c.sync.hub_url.empty()) {
      good("sync is off (sync.hub_url is not set) and the agent is not enrolled");
    } else if (!c.sync.enrol_code.empty()) {
      good("not enrolled yet: the agent enrols with sync.enrol_code at start");
    } else {
      bad("not enrolled with the hub; " + enrol_hint);
    }
  } else if ((*creds)->region != c.region) {
    bad("the credential in " + credentialsPath(c.state_dir) + " is for region " + (*creds)->region +
        " but agent.region is " + c.region + "; " + enrol_hint + " for the right region");
  } else {
    const std::string path = credentialsPath(c.state_dir);
    if (::stat(path.c_str(), &st) == 0 && ((st.st_mode & 0077) != 0 || st.st_uid != me)) {
      bad("credential file " + path + " must be mode 0600 and belong to the agent's user (mode " +
          octal(st.st_mode) + ", uid " + std::to_string(st.st_uid) +
          "); chown exportsync:exportsync " + path + " && chmod 0600 " + path);
    } else {
      good("enrolled as agent '" + (*creds)->agent_id + "' for region " + (*creds)->region);
    }
  }
  if (c.sync.hub_url.empty()) {
    return all_ok;
  }
  HubClient hub(c.sync.hub_url, c.sync.ca_file, std::chrono::seconds(10));
  auto health = hub.get("/api/v1/health", "");
  if (!health) {
    bad("hub " + c.sync.hub_url + " cannot be reached: " + health.status().message() +
        "; check sync.hub_url, the network link" +
        (c.sync.ca_file.empty() ? std::string() : " and sync.ca_file"));
    return false;
  }
  if (health->status != 200) {
    bad("hub " + c.sync.hub_url + " answered HTTP " + std::to_string(health->status) +
        " on /api/v1/health: is sync.hub_url the ExportSync hub?");
    return false;
  }
  good("hub " + c.sync.hub_url + " answers");
  if (creds && creds->has_value()) {
    // An agent request with a body that is not JSON: the hub checks the credential first and
    // then refuses the body (400), so nothing is recorded; a bad credential gets 401.
    auto probe = hub.post("/api/v1/status", "check", "application/json", (*creds)->token);
    if (!probe) {
      bad("hub " + c.sync.hub_url + ": credential check failed: " + probe.status().message());
    } else if (probe->status == 401 || probe->status == 403) {
      bad("hub refused this agent's credential: " + hubMessage(*probe) + "; " + enrol_hint);
    } else if (probe->status == 400) {
      good("hub accepts the credential of agent '" + (*creds)->agent_id + "'");
    } else {
      bad("hub answered HTTP " + std::to_string(probe->status) +
          " to the credential check: " + hubMessage(*probe));
    }
  }
  return all_ok;
}

}  // namespace exportsync::agent
