// Helpers for the agent integration tests: a throw-away agent workspace (state folder, plugin
// folder, agent.properties), running the real exportsync-agent binary with a deadline, and
// reading back what its store holds.
//
// THREAD: test-thread only. OWNERSHIP: a Workspace owns its temporary folder and removes it.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exportsync/agent/config.hpp"
#include "exportsync/agent/store.hpp"

namespace exportsync::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline const std::string kAgentBinary = ES_BINARY_DIR "/agent/exportsync-agent";
inline const std::string kTestPluginDir = ES_TEST_PLUGIN_DIR;

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

/// Crashing test plugins must not leave core files behind: children inherit this.
inline void disableCoreDumps() {
  const rlimit none{0, 0};
  (void)setrlimit(RLIMIT_CORE, &none);
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

/// The lines of `text` that contain `needle`.
inline std::vector<std::string> linesWith(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  for (auto& line : lines(text)) {
    if (line.find(needle) != std::string::npos) {
      out.push_back(std::move(line));
    }
  }
  return out;
}

/// Polls `done` every 20 ms until it is true or `timeout` passes; returns its last value.
inline bool waitFor(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) {
      return true;
    }
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

/// A started exportsync-agent process; stdout and stderr go to files. Killed (SIGKILL) on
/// destruction if still running.
class AgentProcess {
 public:
  AgentProcess(const std::vector<std::string>& args, const std::string& out_dir) {
    static int counter = 0;
    const std::string base = out_dir + "/agent-" + std::to_string(++counter);
    stdout_path_ = base + ".stdout";
    stderr_path_ = base + ".stderr";
    std::vector<std::string> argv_store{kAgentBinary};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!std::freopen(stdout_path_.c_str(), "w", stdout) ||
          !std::freopen(stderr_path_.c_str(), "w", stderr)) {
        ::_exit(126);
      }
      ::execv(kAgentBinary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~AgentProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool signal(int sig) const { return pid_ > 0 && !exited_ && ::kill(pid_, sig) == 0; }

  /// Waits up to `timeout` for the process to end; true when it did.
  bool wait(milliseconds timeout) {
    return waitFor(
        [this] {
          if (exited_) {
            return true;
          }
          const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
          exited_ = r == pid_;
          return exited_;
        },
        timeout);
  }
  bool exited() const { return exited_; }
  /// Exit code, or -signal when killed by a signal. Precondition: exited().
  int exitCode() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_); }
  std::string out() const { return readFile(stdout_path_); }
  std::string err() const { return readFile(stderr_path_); }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::string stdout_path_;
  std::string stderr_path_;
};

/// Outcome of a finished agent run.
struct RunResult {
  int exit_code = -1000;  ///< -signal when killed; -1000 when it did not finish in time
  std::string out;
  std::string err;
  milliseconds elapsed{0};
};

/// A temporary agent installation: <root>/state, <root>/plugins (mode 0755) and a config file.
class Workspace {
 public:
  Workspace() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/es-integration-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << tmpl;
    }
    root_ = tmpl;
    fs::permissions(root_, fs::perms(0755));
    fs::create_directory(stateDir());
    fs::create_directory(pluginDir());
    fs::permissions(pluginDir(), fs::perms(0755));
  }
  ~Workspace() {
    std::error_code ec;
    if (!::testing::Test::HasFailure() || std::getenv("ES_KEEP_TEST_DIRS") == nullptr) {
      fs::remove_all(root_, ec);
    }
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::string& root() const { return root_; }
  std::string stateDir() const { return root_ + "/state"; }
  std::string pluginDir() const { return root_ + "/plugins"; }
  std::string configPath() const { return root_ + "/agent.properties"; }
  std::string storePath() const { return stateDir() + "/agent.db"; }
  /// Where a plugin file lands in the plugin folder.
  std::string pluginPath(const std::string& file) const { return pluginDir() + "/" + file; }

  /// Copies test plugin `<file>` (e.g. "good_a.so") from the build tree into the plugin folder.
  std::string addPlugin(const std::string& file) const {
    const std::string to = pluginPath(file);
    fs::copy_file(kTestPluginDir + "/" + file, to, fs::copy_options::overwrite_existing);
    fs::permissions(to, fs::perms(0755));
    return to;
  }

  /// Writes agent.properties: region MA-06, this workspace's folders, log level warning, then
  /// `extra` (key → value; an empty value removes a base key).
  void writeConfig(const std::map<std::string, std::string>& extra) const {
    std::map<std::string, std::string> keys{{"agent.region", "MA-06"},
                                            {"agent.state_dir", stateDir()},
                                            {"plugins.dir", pluginDir()},
                                            {"log.level", "information"}};
    for (const auto& [k, v] : extra) {
      if (v.empty()) {
        keys.erase(k);
      } else {
        keys[k] = v;
      }
    }
    std::ofstream out(configPath(), std::ios::trunc);
    out << "# written by an ExportSync integration test\n";
    for (const auto& [k, v] : keys) {
      out << k << " = " << v << "\n";
    }
  }

  /// Loads the written config as the agent would.
  agent::AgentConfig loadConfig() const {
    auto c = agent::loadAgentConfig(configPath());
    EXPECT_TRUE(c.isOk()) << c.status().message();
    return c ? *c : agent::AgentConfig{};
  }

  /// Starts the agent with `args`; output files live in the workspace.
  std::unique_ptr<AgentProcess> start(const std::vector<std::string>& args) const {
    return std::make_unique<AgentProcess>(args, root_);
  }

  /// Runs the agent with `args` and waits up to `timeout` for it to exit (then kills it).
  RunResult run(const std::vector<std::string>& args, milliseconds timeout = seconds(40)) const {
    const auto started = Clock::now();
    AgentProcess p(args, root_);
    RunResult r;
    if (p.wait(timeout)) {
      r.exit_code = p.exitCode();
    } else {
      ADD_FAILURE() << "agent still running after " << timeout.count() << " ms; killed";
    }
    r.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    r.out = p.out();
    r.err = p.err();
    return r;
  }

  /// Runs `--config <this workspace's config>` plus `args`.
  RunResult runWithConfig(std::vector<std::string> args, milliseconds timeout = seconds(40)) const {
    args.insert(args.begin(), {"--config", configPath()});
    return run(args, timeout);
  }

 private:
  std::string root_;
};

/// Read-only view of an agent store for assertions.
class StoreView {
 public:
  explicit StoreView(const std::string& path) {
    auto s = agent::Store::open(path, /*migrate=*/false);
    EXPECT_TRUE(s.isOk()) << s.status().message();
    if (s) {
      store_ = std::move(*s);
    }
  }
  bool isOpen() const { return store_ != nullptr; }
  agent::Store& store() { return *store_; }

  /// Rows in `plugin`'s `dataset`; -1 when the dataset does not exist.
  int64_t rows(const std::string& plugin, const std::string& dataset = "rows") {
    auto d = store_->dataset(plugin, dataset);
    EXPECT_TRUE(d.isOk()) << d.status().message();
    if (!d || !d->has_value()) {
      return -1;
    }
    auto n = store_->rowCount(**d);
    EXPECT_TRUE(n.isOk()) << n.status().message();
    return n ? *n : -1;
  }

  /// Change-log entries per plugin (by dataset owner).
  std::map<std::string, int64_t> changesByPlugin() {
    std::map<std::string, int64_t> out;
    auto sets = store_->datasets();
    EXPECT_TRUE(sets.isOk()) << sets.status().message();
    std::map<int64_t, std::string> owner;
    if (sets) {
      for (const auto& d : *sets) {
        owner[d.id] = d.plugin;
      }
    }
    auto changes = store_->changesAfter(0, 1'000'000);
    EXPECT_TRUE(changes.isOk()) << changes.status().message();
    if (changes) {
      for (const auto& c : *changes) {
        const auto it = owner.find(c.dataset_id);
        ++out[it == owner.end() ? "?" : it->second];
      }
    }
    return out;
  }

  std::optional<agent::PluginHealth> health(const std::string& plugin) {
    auto h = store_->health(plugin);
    EXPECT_TRUE(h.isOk()) << h.status().message();
    return h ? *h : std::nullopt;
  }

  std::optional<std::string> state(const std::string& plugin, const std::string& key) {
    auto v = store_->stateGet(plugin, key);
    EXPECT_TRUE(v.isOk()) << v.status().message();
    return v ? *v : std::nullopt;
  }

 private:
  std::unique_ptr<agent::Store> store_;
};

}  // namespace exportsync::testing
