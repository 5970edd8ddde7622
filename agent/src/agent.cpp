#include "exportsync/agent/agent.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>
#include <sys/statvfs.h>

#include <cstdio>
#include <ctime>
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
        if (agent_.sync() != nullptr) {
          agent_.sync()->wake();
        }
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
  std::unique_ptr<Agent> agent(new Agent(std::move(config), std::move(*store), worker_executable));
  agent->host_->scan();
  if (!agent->config_.sync.hub_url.empty()) {
    Agent* self = agent.get();
    agent->sync_ =
        std::make_unique<SyncClient>(agent->config_, [self] { return self->statusJson(); });
  }
  return agent;
}

Agent::Agent(AgentConfig config, std::unique_ptr<Store> store, const std::string& worker_executable)
    : config_(std::move(config)), store_(std::move(store)) {
  host_ = std::make_unique<PluginHost>(config_, *store_, WorkerLauncher(worker_executable),
                                       Poco::Logger::get("exportsync.plugins"));
}

Agent::~Agent() { stop(); }

bool Agent::backlogFull() const { return sync_ && sync_->status().backlog_full; }

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
    scheduler_ = std::thread([this] { schedulerLoop(); });
  }
  if (sync_) {
    sync_->start();
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
  if (sync_) {
    sync_->stop();
  }
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
      p->set("last_error", r.status ? "" : r.status.message());
      p->set("rows_upserted", r.stats.upserted);
      p->set("rows_removed", r.stats.removed);
      p->set("rows_rejected", r.stats.rejected);
      p->set("quarantined", r.quarantined_now || (r.skipped && r.status.code() == Code::Cancelled));
    }
    plugins->add(p);
  }
  o.set("plugins", plugins);
  if (sync_) {
    const auto s = sync_->status();
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
    auto next = due_.end();
    for (auto it = due_.begin(); it != due_.end(); ++it) {
      if (next == due_.end() || it->second < next->second) {
        next = it;
      }
    }
    if (next == due_.end()) {
      wake_.wait(lock, [this] { return stopping_.load(); });
      continue;
    }
    if (std::chrono::steady_clock::now() < next->second) {
      wake_.wait_until(lock, next->second);
      continue;  // re-evaluate: woken early by runNow or stop
    }
    const std::string name = next->first;
    const auto interval = config_.plugins.at(name).interval;
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
      if (sync_) {
        sync_->wake();
      }
    }
    lock.lock();
    last_[name] = std::move(outcome);
  }
}

}  // namespace exportsync::agent
