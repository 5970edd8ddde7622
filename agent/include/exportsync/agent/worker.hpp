// Plugin workers: every plugin call runs in a child process (the agent executable re-executed
// with --plugin-worker), so a plugin that crashes, aborts, leaks or hangs cannot take the
// agent down. The child reads one JSON request on stdin and writes JSON lines on fd 3; see
// docs/architecture.md "Plugin workers".
//
// THREAD: WorkerLauncher::run may be called from several threads at once; each call owns its
// child. OWNERSHIP: plain values.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "exportsync/agent/plugin_runtime.hpp"
#include "exportsync/status.hpp"

namespace exportsync::agent {

struct WorkerRequest {
  enum class Mode { Describe, Collect };
  Mode mode = Mode::Describe;
  std::string file;         ///< plugin library path
  std::string expect_name;  ///< collect: the plugin name the file must declare
  std::string store;        ///< collect: store path
  PluginSettings settings;
  int64_t memory_limit_mb = 0;  ///< address-space limit of the child, 0 = none
  int64_t cpu_limit_s = 0;      ///< CPU-time limit of the child, 0 = none
};

struct WorkerOutcome {
  Status status;            ///< OK, or why the call failed (plugin error, crash, time limit)
  Description description;  ///< describe
  RunStats stats;           ///< collect
  bool timed_out = false;
  int term_signal = 0;  ///< signal that ended the child, 0 if it exited
  std::chrono::milliseconds duration{0};
};

/// Starts workers from one executable.
class WorkerLauncher {
 public:
  /// `executable` must accept --plugin-worker (the agent binary).
  explicit WorkerLauncher(std::string executable);

  /// Runs one request in a fresh child. Kills it after `timeout`; on `stop` (polled) asks it to
  /// cancel with SIGTERM and kills it 3 s later. Plugin log lines go to `log`.
  WorkerOutcome run(const WorkerRequest& request, std::chrono::milliseconds timeout,
                    const std::function<void(int, const std::string&)>& log,
                    const std::atomic<bool>* stop = nullptr) const;

  const std::string& executable() const { return executable_; }

 private:
  std::string executable_;
};

/// The worker side: reads the request from `in_fd`, writes messages to `out_fd`, returns the
/// process exit code (0 success, 1 plugin failure, 2 bad request).
int runPluginWorker(int in_fd, int out_fd);

/// Path of the running executable (/proc/self/exe resolved).
std::string currentExecutable();

}  // namespace exportsync::agent
