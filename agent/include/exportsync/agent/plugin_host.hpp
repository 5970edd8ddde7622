// The plugin host: finds plugin files in the configured folder, describes each one in a
// worker process (refusing bad ones with a one-line reason), applies the datasets of enabled
// plugins to the store, and runs collects in workers with time, memory and CPU limits,
// counting consecutive failures and quarantining a plugin that keeps failing.
//
// THREAD: scan() once, from one thread, before run(). run() may be called from one thread at a
// time (the scheduler); plugins() is safe from any thread. OWNERSHIP: the host borrows the
// config and the store path; it opens its own Store connection.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exportsync/agent/config.hpp"
#include "exportsync/agent/store.hpp"
#include "exportsync/agent/worker.hpp"

namespace Poco {
class Logger;
}

namespace exportsync::agent {

/// One plugin file found, or one enabled plugin that was not found.
struct PluginRecord {
  std::string file;  ///< empty for an enabled plugin with no file
  std::string name;  ///< empty when refused before the name was known
  std::string version;
  std::string description;
  bool enabled = false;
  bool loaded = false;  ///< described successfully (and, if enabled, its datasets applied)
  std::string refusal;  ///< one line: why it is not loaded
  std::vector<DatasetSpec> datasets;
};

/// Result of one collect attempt.
struct RunOutcome {
  std::string plugin;
  Status status;
  RunStats stats;
  std::chrono::milliseconds duration{0};
  bool skipped = false;          ///< not run: quarantined or not loaded
  bool quarantined_now = false;  ///< this failure put the plugin in quarantine
  int64_t finished_at = 0;       ///< unix seconds when the run ended (set by the agent)
};

class PluginHost {
 public:
  PluginHost(const AgentConfig& config, Store& store, WorkerLauncher launcher,
             Poco::Logger& logger);

  /// Describes every *.so in the plugin folder and applies enabled plugins' datasets.
  void scan();
  std::vector<PluginRecord> plugins() const;
  /// Names of enabled plugins that loaded, in config order.
  std::vector<std::string> runnable() const;
  /// One collect run of `name` in a worker, with quarantine bookkeeping in the store.
  RunOutcome run(const std::string& name, const std::atomic<bool>* stop);

 private:
  const AgentConfig& config_;
  Store& store_;
  WorkerLauncher launcher_;
  Poco::Logger& logger_;
  mutable std::mutex mutex_;
  std::vector<PluginRecord> records_;  // Guarded by mutex_.
};

}  // namespace exportsync::agent
