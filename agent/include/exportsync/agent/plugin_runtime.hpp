// Loading a plugin file and running it in this process: the part of the plugin host that runs
// inside a plugin worker (and in tools that load a plugin directly, such as benchmarks).
//
// loadPluginFile() checks ABI version and descriptor size before calling anything else in the
// plugin. describePlugin() and collectPlugin() implement es_host_api for one call sequence.
//
// THREAD: one thread per LoadedPlugin. OWNERSHIP: LoadedPlugin owns the library handle; the
// descriptor pointer is valid while it lives. The library is never unloaded while running.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exportsync/agent/store.hpp"
#include "exportsync/dataset.hpp"
#include "exportsync/plugin_abi.h"
#include "exportsync/status.hpp"

namespace exportsync::agent {

/// A plugin library loaded and checked. Opaque; move-only.
class LoadedPlugin {
 public:
  ~LoadedPlugin();
  LoadedPlugin(LoadedPlugin&&) noexcept;
  LoadedPlugin& operator=(LoadedPlugin&&) = delete;
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const es_plugin_v1& descriptor() const { return *descriptor_; }
  const std::string& file() const { return file_; }
  std::string name() const { return descriptor_->name; }

 private:
  friend Result<LoadedPlugin> loadPluginFile(const std::string& path);
  struct Library;
  LoadedPlugin(std::unique_ptr<Library> lib, const es_plugin_v1* d, std::string file);
  std::unique_ptr<Library> lib_;  // declared first: outlives the descriptor pointer
  const es_plugin_v1* descriptor_;
  std::string file_;
};

/// Loads `path` with Boost.DLL (RTLD_NOW) and checks it is an ExportSync plugin this agent
/// supports. The reason of a refusal is one line naming the file and what to do.
Result<LoadedPlugin> loadPluginFile(const std::string& path);

/// Checks a plugin name against [a-z][a-z0-9-]{0,31}.
bool isValidPluginName(const std::string& name);

/// What the plugin runtime reports while it runs.
struct RuntimeHooks {
  /// A log line from the plugin (es_log_level, message).
  std::function<void(int, const std::string&)> log;
  /// Set to true to cancel the run (checked by es_host_api.cancelled).
  const std::atomic<bool>* cancel = nullptr;
};

/// The plugin's settings (short keys) and the office region.
struct PluginSettings {
  std::map<std::string, std::string> values;
  std::string region;
};

struct Description {
  std::string name;
  std::string version;
  std::string description;
  std::vector<DatasetSpec> datasets;
};

/// create → declare → destroy. Fails when declare fails or declares an invalid dataset.
Result<Description> describePlugin(const LoadedPlugin& plugin, const PluginSettings& settings,
                                   const RuntimeHooks& hooks);

struct RunStats {
  int64_t upserted = 0;
  int64_t removed = 0;
  int64_t rejected = 0;
  int64_t renamed = 0;
  std::vector<std::string> first_rejections;  ///< up to 20, "source:line column: reason"
};

/// create → declare (applied to the store) → configure → collect in one store transaction →
/// commit (then the deferred renames) or roll back. `stats` is filled either way.
Status collectPlugin(const LoadedPlugin& plugin, Store& store, const PluginSettings& settings,
                     const RuntimeHooks& hooks, RunStats& stats);

}  // namespace exportsync::agent
