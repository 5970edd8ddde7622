#include "exportsync/agent/agent.hpp"

#include <Poco/Logger.h>

namespace exportsync::agent {

Result<std::unique_ptr<Agent>> Agent::create(AgentConfig config,
                                             const std::string& worker_executable) {
  auto store = Store::open(config.storePath());
  if (!store) {
    return store.status();
  }
  std::unique_ptr<Agent> agent(new Agent(std::move(config), std::move(*store), worker_executable));
  agent->host_->scan();
  return agent;
}

Agent::Agent(AgentConfig config, std::unique_ptr<Store> store,
             const std::string& worker_executable)
    : config_(std::move(config)), store_(std::move(store)) {
  host_ = std::make_unique<PluginHost>(config_, *store_, WorkerLauncher(worker_executable),
                                       Poco::Logger::get("exportsync.plugins"));
}

Agent::~Agent() { stop(); }

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
  return out;
}

void Agent::start() {
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
  if (scheduler_.joinable()) {
    scheduler_.join();
  }
}

std::map<std::string, RunOutcome> Agent::lastOutcomes() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return last_;
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
    RunOutcome outcome = host_->run(name, &stopping_);
    lock.lock();
    last_[name] = std::move(outcome);
  }
}

}  // namespace exportsync::agent
