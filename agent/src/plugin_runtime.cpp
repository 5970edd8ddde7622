// The agent's plugin runtime: loads a plugin file with Boost.DLL and implements es_host_api over
// the store for one call sequence. The loading checks and call wrappers it shares with the SDK's
// test harness live in sdk/src/host/plugin_host_common.hpp.
#include "exportsync/agent/plugin_runtime.hpp"

#include <boost/dll/shared_library.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <cstdio>
#include <string_view>
#include <utility>

#include "host/plugin_host_common.hpp"

namespace exportsync::agent {

namespace host = sdk::internal;

struct LoadedPlugin::Library {
  boost::dll::shared_library lib;
};

LoadedPlugin::LoadedPlugin(std::unique_ptr<Library> lib, const es_plugin_v1* d, std::string file)
    : lib_(std::move(lib)), descriptor_(d), file_(std::move(file)) {}
LoadedPlugin::LoadedPlugin(LoadedPlugin&& o) noexcept
    : lib_(std::move(o.lib_)), descriptor_(o.descriptor_), file_(std::move(o.file_)) {}
// The library stays mapped for the life of the process: unloading code that may still have
// registered atexit handlers or threads is a crash waiting to happen (STYLE.md §2).
LoadedPlugin::~LoadedPlugin() {
  if (lib_) {
    // Reachable from a static root on purpose: never destroyed, so never dlclose'd.
    static auto* const keep_alive = new std::vector<std::unique_ptr<Library>>();
    keep_alive->push_back(std::move(lib_));
  }
}

bool isValidPluginName(const std::string& name) { return host::isValidPluginName(name); }

Result<LoadedPlugin> loadPluginFile(const std::string& path) {
  const std::string where = host::refusedPrefix(path);
  if (auto st = host::checkElfFile(path, where); !st) {
    return st;
  }
  auto lib = std::make_unique<LoadedPlugin::Library>();
  try {
    lib->lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const boost::system::system_error& e) {
    return host::cannotLoad(where, e.what());
  }
  if (!lib->lib.has(ES_PLUGIN_ENTRY_SYMBOL)) {
    return host::noEntrySymbol(where);
  }
  es_plugin_entry_fn entry = nullptr;
  try {
    entry = &lib->lib.get<const es_plugin_v1*(uint32_t)>(ES_PLUGIN_ENTRY_SYMBOL);
  } catch (const boost::system::system_error& e) {
    return Status::invalid(where + "cannot resolve the entry symbol: " + e.what());
  }
  const es_plugin_v1* d = entry(ES_ABI_MAJOR);
  if (auto st = host::checkDescriptor(d, where); !st) {
    return st;
  }
  return LoadedPlugin(std::move(lib), d, path);
}

// --- es_host_api implementation -------------------------------------------------------------

namespace {

using host::failCall;
using host::Phase;

// One call sequence: what the callbacks see through es_host_ptr (phase, error and declared
// datasets in host::CallState).
struct HostCtx : host::CallState {
  const LoadedPlugin* plugin = nullptr;
  const PluginSettings* settings = nullptr;
  const RuntimeHooks* hooks = nullptr;
  std::string scratch;  // out-parameter storage for config_get / state_get / region
  std::string scratch_key;
  // Collect only.
  Store* store = nullptr;
  RunStats* stats = nullptr;
  std::vector<std::pair<std::string, std::string>> renames;
  // The store's writer per declared dataset (same index as `declared`), valid for the run.
  std::vector<Store::Writer*> writers;
};

HostCtx& ctxOf(es_host_ptr p) { return *reinterpret_cast<HostCtx*>(p); }
es_host_ptr handleOf(HostCtx& c) { return reinterpret_cast<es_host_ptr>(&c); }

es_status notNow(HostCtx& c, const char* what, const char* when) {
  return failCall(c, ES_ERR_INVALID, std::string(what) + " may only be called during " + when);
}

// The writer of a declared dataset, made on first use in the run; nullptr with c.error set.
Store::Writer* writerFor(HostCtx& c, const DatasetSpec& spec, es_status& code) {
  const auto i = static_cast<size_t>(&spec - c.declared.data());
  c.writers.resize(c.declared.size(), nullptr);
  if (c.writers[i] == nullptr) {
    auto w = c.store->writer(c.plugin->name(), spec);
    if (!w) {
      code = failCall(c, static_cast<es_status>(w.status().code()), w.status().message());
      return nullptr;
    }
    c.writers[i] = *w;
  }
  return c.writers[i];
}

// Checks one sink call and hands it to the dataset's writer; `remove` takes the key columns only.
es_status sinkCall(HostCtx& c, bool remove, const char* dataset, size_t dataset_len,
                   const es_value* values, size_t count) {
  if (c.phase != Phase::Collect) {
    return notNow(c, remove ? "sink_remove" : "sink_upsert", "collect");
  }
  const DatasetSpec* spec = host::findDeclared(c, std::string_view(dataset, dataset_len));
  if (spec == nullptr) {
    return failCall(c, ES_ERR_INVALID,
                    "dataset '" + std::string(dataset, dataset_len) + "' was not declared");
  }
  es_status code = ES_OK;
  Store::Writer* w = writerFor(c, *spec, code);
  if (w == nullptr) {
    return code;
  }
  auto st = remove ? w->remove(values, count) : w->upsert(values, count);
  if (!st) {
    return failCall(c, static_cast<es_status>(st.code()), st.message());
  }
  ++(remove ? c.stats->removed : c.stats->upserted);
  return ES_OK;
}

const es_host_api kHostApi = [] {
  es_host_api api{};
  api.abi_major = ES_ABI_MAJOR;
  api.abi_minor = ES_ABI_MINOR;
  api.struct_size = sizeof(es_host_api);
  api.set_error = [](es_host_ptr p, const char* msg, size_t len) {
    ctxOf(p).error.assign(msg == nullptr ? "" : msg, msg == nullptr ? 0 : len);
  };
  api.last_error = [](es_host_ptr p, const char** msg, size_t* len) {
    *msg = ctxOf(p).error.c_str();
    *len = ctxOf(p).error.size();
  };
  api.log = [](es_host_ptr p, es_log_level level, const char* msg, size_t len) {
    auto& c = ctxOf(p);
    if (c.hooks->log) {
      constexpr size_t kMaxLine = 8192;  // a runaway plugin must not flood the log
      std::string line(msg == nullptr ? "" : msg, msg == nullptr ? 0 : std::min(len, kMaxLine));
      if (len > kMaxLine) {
        line += " [truncated]";
      }
      c.hooks->log(level, line);
    }
  };
  api.config_get = [](es_host_ptr p, const char* key, size_t key_len, const char** value,
                      size_t* value_len) -> int32_t {
    auto& c = ctxOf(p);
    auto it = c.settings->values.find(std::string(key, key_len));
    if (it == c.settings->values.end()) {
      return 0;
    }
    *value = it->second.data();
    *value_len = it->second.size();
    return 1;
  };
  api.config_key_at = [](es_host_ptr p, size_t index, const char** key,
                         size_t* key_len) -> int32_t {
    auto& c = ctxOf(p);
    if (index >= c.settings->values.size()) {
      return 0;
    }
    auto it = c.settings->values.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(index));
    *key = it->first.data();
    *key_len = it->first.size();
    return 1;
  };
  api.region = [](es_host_ptr p, const char** code, size_t* len) {
    auto& c = ctxOf(p);
    *code = c.settings->region.data();
    *len = c.settings->region.size();
  };
  api.declare_dataset = [](es_host_ptr p, const es_dataset_decl* decl) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Declare) {
      return notNow(c, "declare_dataset", "declare");
    }
    return host::declareDataset(c, decl);
  };
  api.sink_upsert = [](es_host_ptr p, const char* dataset, size_t dataset_len,
                       const es_value* values, size_t count) -> es_status {
    return sinkCall(ctxOf(p), false, dataset, dataset_len, values, count);
  };
  api.sink_remove = [](es_host_ptr p, const char* dataset, size_t dataset_len, const es_value* key,
                       size_t count) -> es_status {
    return sinkCall(ctxOf(p), true, dataset, dataset_len, key, count);
  };
  api.reject = [](es_host_ptr p, const char* source, size_t source_len, uint64_t line,
                  const char* column, size_t column_len, const char* /*value*/,
                  size_t /*value_len*/, const char* reason, size_t reason_len) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "reject", "collect");
    }
    ++c.stats->rejected;
    if (c.stats->first_rejections.size() < 20) {
      std::string r(source == nullptr ? "" : source, source == nullptr ? 0 : source_len);
      if (line != 0) {
        r += ":" + std::to_string(line);
      }
      if (column != nullptr && column_len != 0) {
        r += " column '" + std::string(column, column_len) + "'";
      }
      r += ": " + std::string(reason == nullptr ? "" : reason, reason == nullptr ? 0 : reason_len);
      c.stats->first_rejections.push_back(std::move(r));
    }
    return ES_OK;
  };
  api.state_get = [](es_host_ptr p, const char* key, size_t key_len, const char** value,
                     size_t* value_len) -> int32_t {
    auto& c = ctxOf(p);
    if (c.store == nullptr) {
      return 0;
    }
    auto v = c.store->stateGet(c.plugin->name(), std::string(key, key_len));
    if (!v || !v->has_value()) {
      return 0;
    }
    c.scratch = std::move(**v);
    *value = c.scratch.data();
    *value_len = c.scratch.size();
    return 1;
  };
  api.state_put = [](es_host_ptr p, const char* key, size_t key_len, const char* value,
                     size_t value_len) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "state_put", "collect");
    }
    auto st = c.store->statePut(c.plugin->name(), std::string(key, key_len),
                                std::string(value, value_len));
    return st ? ES_OK : failCall(c, ES_ERR_IO, st.message());
  };
  api.state_erase = [](es_host_ptr p, const char* key, size_t key_len) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "state_erase", "collect");
    }
    auto st = c.store->stateErase(c.plugin->name(), std::string(key, key_len));
    return st ? ES_OK : failCall(c, ES_ERR_IO, st.message());
  };
  api.cancelled = [](es_host_ptr p) -> int32_t {
    const auto* flag = ctxOf(p).hooks->cancel;
    return flag != nullptr && flag->load() ? 1 : 0;
  };
  api.rename_after_commit = [](es_host_ptr p, const char* from, size_t from_len, const char* to,
                               size_t to_len) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "rename_after_commit", "collect");
    }
    if (from == nullptr || to == nullptr || from_len == 0 || to_len == 0 || from[0] != '/' ||
        to[0] != '/') {
      return failCall(c, ES_ERR_INVALID, "rename_after_commit takes absolute paths");
    }
    c.renames.emplace_back(std::string(from, from_len), std::string(to, to_len));
    return ES_OK;
  };
  return api;
}();

}  // namespace

Result<Description> describePlugin(const LoadedPlugin& plugin, const PluginSettings& settings,
                                   const RuntimeHooks& hooks) {
  HostCtx c;
  c.plugin = &plugin;
  c.settings = &settings;
  c.hooks = &hooks;
  const auto& d = plugin.descriptor();
  host::PluginInstance inst(d, kHostApi, handleOf(c), c);
  if (auto st = inst.created(); !st) {
    return st;
  }
  if (auto st = inst.declareAll(); !st) {
    return st;
  }
  Description out;
  out.name = d.name;
  out.version = d.version == nullptr ? "" : d.version;
  out.description = d.description == nullptr ? "" : d.description;
  out.datasets = std::move(c.declared);
  return out;
}

Status collectPlugin(const LoadedPlugin& plugin, Store& store, const PluginSettings& settings,
                     const RuntimeHooks& hooks, RunStats& stats) {
  HostCtx c;
  c.plugin = &plugin;
  c.settings = &settings;
  c.hooks = &hooks;
  c.store = &store;
  c.stats = &stats;
  host::PluginInstance inst(plugin.descriptor(), kHostApi, handleOf(c), c);
  if (auto st = inst.created(); !st) {
    return st;
  }
  if (auto st = inst.declareAll(); !st) {
    return st;
  }
  for (const auto& spec : c.declared) {
    if (auto st = store.applySchema(plugin.name(), spec); !st) {
      return st;
    }
  }
  if (auto st = inst.configure(); !st) {
    return st;
  }
  if (auto st = store.beginRun(); !st) {
    return st;
  }
  if (auto st = inst.collect(); !st) {
    store.rollbackRun();
    return st;
  }
  if (hooks.cancel != nullptr && hooks.cancel->load()) {
    store.rollbackRun();
    return Status::cancelled("collect() was cancelled; the run was rolled back");
  }
  if (auto commit = store.commitRun(); !commit) {
    return commit;
  }
  for (const auto& [from, to] : c.renames) {
    if (std::rename(from.c_str(), to.c_str()) == 0) {
      ++stats.renamed;
    } else if (hooks.log) {
      hooks.log(ES_LOG_WARNING,
                "after commit: cannot rename '" + from + "' to '" + to + "'; move it by hand");
    }
  }
  return Status::ok();
}

}  // namespace exportsync::agent
