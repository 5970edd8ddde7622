// The agent as a whole, without its process shell: opens the store, scans plugins and runs
// them on their schedule (and on demand) one at a time. agent/main/ wraps it in a Poco
// ServerApplication; tests drive it directly.
//
// THREAD: start()/stop() from one controlling thread; runNow() and plugins() from any thread.
// The scheduler runs in its own thread between start() and stop(); the destructor stops it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exportsync/agent/config.hpp"
#include "exportsync/agent/plugin_host.hpp"
#include "exportsync/agent/store.hpp"
#include "exportsync/agent/sync_client.hpp"

namespace exportsync::agent {

class Agent {
 public:
  /// Opens (or creates) the store and scans the plugin folder. `worker_executable` is the
  /// binary that serves --plugin-worker (normally the agent itself).
  static Result<std::unique_ptr<Agent>> create(AgentConfig config,
                                               const std::string& worker_executable);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  const AgentConfig& config() const { return config_; }
  Store& store() { return *store_; }
  std::vector<PluginRecord> plugins() const { return host_->plugins(); }

  /// Runs every enabled plugin once, in config order (the --once mode).
  std::vector<RunOutcome> runOnce();

  /// Starts the scheduler: every runnable plugin runs now, then every interval.
  void start();
  /// Asks for a run of `plugin` (all plugins when empty) as soon as possible.
  void runNow(const std::string& plugin = "");
  /// Cancels a running collect (rolled back), stops the scheduler and joins it. Idempotent.
  void stop();

  /// Last outcome per plugin since start (for status and tests).
  std::map<std::string, RunOutcome> lastOutcomes() const;

  /// The agent's status as JSON: version, region, plugins, sync, disk (the heartbeat body and
  /// the loopback status API's answer).
  std::string statusJson() const;
  /// The sync client, or null when sync.hub_url is not set.
  SyncClient* sync() { return sync_.get(); }
  /// Bound port of the loopback status API (0 when off).
  uint16_t statusPort() const;

 private:
  Agent(AgentConfig config, std::unique_ptr<Store> store, const std::string& worker_executable);
  bool backlogFull() const;
  void schedulerLoop();

  AgentConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PluginHost> host_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::chrono::steady_clock::time_point> due_;  // Guarded by mutex_.
  std::map<std::string, RunOutcome> last_;                            // Guarded by mutex_.
  std::thread scheduler_;
  std::unique_ptr<SyncClient> sync_;
  struct StatusServer;
  std::unique_ptr<StatusServer> status_server_;
};

}  // namespace exportsync::agent
