// Helpers for the agent integration tests: a throw-away agent workspace (state folder, plugin
// folder, agent.properties), running the real exportsync-agent binary with a deadline, and
// reading back what its store holds. Processes and temporary folders build on the shared
// helpers of tests/support.
//
// THREAD: test-thread only. OWNERSHIP: a Workspace owns its temporary folder and removes it.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "exportsync/agent/config.hpp"
#include "exportsync/agent/store.hpp"
#include "support/build_tree.hpp"
#include "support/child_process.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace exportsync::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

using test_support::kAgentBinary;
using test_support::kTestPluginDir;

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

/// Crashing test plugins must not leave core files behind: children inherit this.
using test_support::disableCoreDumps;

using test_support::readFile;

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
  return test_support::waitUntil(done, timeout);
}

/// A started exportsync-agent process (support/child_process.hpp); stdout and stderr go to
/// files in `out_dir`. Killed (SIGKILL) on destruction if still running; a test failure when it
/// cannot be started.
class AgentProcess : public test_support::ChildProcess {
 public:
  AgentProcess(const std::vector<std::string>& args, const std::string& out_dir)
      : AgentProcess(args, LogBase{out_dir + "/agent-" + std::to_string(++counter())}) {}

 private:
  struct LogBase {
    std::string path;
  };
  AgentProcess(const std::vector<std::string>& args, const LogBase& base)
      : ChildProcess(kAgentBinary, args, base.path + ".stdout", base.path + ".stderr") {
    if (!error().empty()) {
      ADD_FAILURE() << error();
    }
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
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
    state_dir_ = root_.sub("state");
    plugin_dir_ = root_.sub("plugins");
  }

  const std::string& root() const { return root_.path(); }
  std::string stateDir() const { return state_dir_; }
  std::string pluginDir() const { return plugin_dir_; }
  std::string configPath() const { return root_.file("agent.properties"); }
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

  /// Writes agent.properties: region MA-06, this workspace's folders, log level information,
  /// then `extra` (key → value; an empty value removes a base key).
  void writeConfig(const std::map<std::string, std::string>& extra) const {
    const test_support::Properties keys{{"agent.region", "MA-06"},
                                        {"agent.state_dir", stateDir()},
                                        {"plugins.dir", pluginDir()},
                                        {"log.level", "information"}};
    test_support::writeFile(
        configPath(), test_support::propertiesText(test_support::withChanges(keys, extra),
                                                   "written by an ExportSync integration test"));
  }

  /// Loads the written config as the agent would.
  agent::AgentConfig loadConfig() const {
    auto c = agent::loadAgentConfig(configPath());
    EXPECT_TRUE(c.isOk()) << c.status().message();
    return c ? *c : agent::AgentConfig{};
  }

  /// Starts the agent with `args`; output files live in the workspace.
  std::unique_ptr<AgentProcess> start(const std::vector<std::string>& args) const {
    return std::make_unique<AgentProcess>(args, root());
  }

  /// Runs the agent with `args` and waits up to `timeout` for it to exit (then kills it).
  RunResult run(const std::vector<std::string>& args, milliseconds timeout = seconds(40)) const {
    const auto started = Clock::now();
    AgentProcess p(args, root());
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
  test_support::TempDir root_{"es-integration"};
  std::string state_dir_;
  std::string plugin_dir_;
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
