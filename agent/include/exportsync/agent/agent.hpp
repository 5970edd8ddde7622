// The agent as a whole, without its process shell: opens the store, scans plugins and runs
// them on their schedule (and on demand) one at a time. agent/main/ wraps it in a Poco
// ServerApplication; tests drive it directly.
//
// THREAD: start()/stop()/reload() from one controlling thread; runNow(), wakeSync() and
// plugins() from any thread. The scheduler runs in its own thread between start() and stop();
// it also applies a reload, between two runs. The destructor stops it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
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

  /// Applies a configuration re-read on SIGHUP, without a restart: enabled plugins, their
  /// intervals, limits and settings, plugins.dir and plugins.*, sync.* and log.level. A collect
  /// that is running is never interrupted: the scheduler applies the change after it commits
  /// (at once when the scheduler is not running). Refused, with nothing changed, when a key
  /// that needs a restart differs (agent.region, agent.region_name_*, agent.state_dir,
  /// status.listen, log.target, log.file): the message names it. Returns a one-line summary of
  /// what changes. `next` must come from loadAgentConfig (a bad file is refused there).
  Result<std::string> reload(AgentConfig next);

  /// Last outcome per plugin since start (for status and tests).
  std::map<std::string, RunOutcome> lastOutcomes() const;

  /// The agent's status as JSON: version, region, plugins, sync, disk (the heartbeat body and
  /// the loopback status API's answer).
  std::string statusJson() const;
  /// The sync client, or null when sync.hub_url is not set. For --once and tests: a reload may
  /// replace it, so a running daemon goes through wakeSync() instead.
  SyncClient* sync();
  /// Asks the sync client (if any) to look at the change log now.
  void wakeSync();
  /// Bound port of the loopback status API (0 when off).
  uint16_t statusPort() const;

 private:
  Agent(AgentConfig config, std::unique_ptr<Store> store, const std::string& worker_executable);
  bool backlogFull() const;
  void schedulerLoop();
  std::shared_ptr<SyncClient> currentSync() const;
  std::shared_ptr<SyncClient> makeSync();
  // Applies a validated reload; on the scheduler thread between runs, or with it stopped.
  void applyReload(AgentConfig next);

  AgentConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PluginHost> host_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::chrono::steady_clock::time_point> due_;  // Guarded by mutex_.
  std::map<std::string, RunOutcome> last_;                            // Guarded by mutex_.
  std::unique_ptr<AgentConfig> pending_;  // A reload waiting for the scheduler. Guarded by mutex_.
  bool started_ = false;                  // Guarded by mutex_.
  std::thread scheduler_;
  // The fields of config_ a reload changes (plugins, enabled, plugin_dir, max_failures, sync,
  // log_level) are written only by applyReload, while no collect runs and the sync client is
  // stopped; the others never change after create().
  mutable std::mutex sync_mutex_;
  std::shared_ptr<SyncClient> sync_;  // Guarded by sync_mutex_ (the pointer, not the client).
  std::shared_ptr<SyncStartPoint> start_point_ = std::make_shared<SyncStartPoint>();
  struct StatusServer;
  std::unique_ptr<StatusServer> status_server_;
};

/// `exportsync-agent --check-config`: checks an installation without changing anything: the
/// configuration (already loaded), the state folder (owner, mode), the credential, the store's
/// schema version, the plugin folder and files, and, when sync.hub_url is set, that the hub
/// answers and accepts the credential. Writes one line per check to `out` ("ok: ..." or
/// "PROBLEM: what; what to do"); returns true when nothing is wrong.
bool checkInstallation(const AgentConfig& config, std::ostream& out);

}  // namespace exportsync::agent
