#include "exportsync/agent/plugin_runtime.hpp"

#include <boost/dll/shared_library.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <utility>

namespace exportsync::agent {

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

bool isValidPluginName(const std::string& name) {
  if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') {
    return false;
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

namespace {

bool looksLikeElf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' &&
         magic[3] == 'F';
}

constexpr size_t kMinDescriptorSize = offsetof(es_plugin_v1, destroy) + sizeof(void (*)());

}  // namespace

Result<LoadedPlugin> loadPluginFile(const std::string& path) {
  const std::string where = "plugin file '" + path + "' refused: ";
  if (!looksLikeElf(path)) {
    return Status::invalid(where +
                           "not a shared library (no ELF header); remove it from the "
                           "plugin folder");
  }
  auto lib = std::make_unique<LoadedPlugin::Library>();
  try {
    lib->lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const boost::system::system_error& e) {
    return Status::invalid(where + "cannot be loaded: " + e.what() +
                           "; rebuild it against this SDK with all its libraries installed");
  }
  if (!lib->lib.has(ES_PLUGIN_ENTRY_SYMBOL)) {
    return Status::invalid(where + "no entry symbol '" ES_PLUGIN_ENTRY_SYMBOL
                                   "'; a plugin must use ES_PLUGIN(YourClass) once");
  }
  es_plugin_entry_fn entry = nullptr;
  try {
    entry = &lib->lib.get<const es_plugin_v1*(uint32_t)>(ES_PLUGIN_ENTRY_SYMBOL);
  } catch (const boost::system::system_error& e) {
    return Status::invalid(where + "cannot resolve the entry symbol: " + e.what());
  }
  const es_plugin_v1* d = entry(ES_ABI_MAJOR);
  if (d == nullptr) {
    return Status::invalid(where + "the plugin does not support ABI major " +
                           std::to_string(ES_ABI_MAJOR) + "; rebuild it against SDK " +
                           std::to_string(ES_ABI_MAJOR) + ".x");
  }
  // Version and size first, before anything else is read or called.
  if (d->abi_major != ES_ABI_MAJOR) {
    return Status::invalid(where + "built for ABI " + std::to_string(d->abi_major) + "." +
                           std::to_string(d->abi_minor) + ", this agent supports ABI " +
                           std::to_string(ES_ABI_MAJOR) + ".0 to " + std::to_string(ES_ABI_MAJOR) +
                           "." + std::to_string(ES_ABI_MINOR) + "; rebuild it against SDK " +
                           std::to_string(ES_ABI_MAJOR) + ".x");
  }
  if (d->struct_size < kMinDescriptorSize) {
    return Status::invalid(where + "descriptor is " + std::to_string(d->struct_size) +
                           " bytes, ABI " + std::to_string(ES_ABI_MAJOR) + " needs at least " +
                           std::to_string(kMinDescriptorSize) +
                           "; the plugin is corrupt or was built with a broken SDK: rebuild it");
  }
  if (d->name == nullptr || !isValidPluginName(d->name)) {
    return Status::invalid(where + "plugin name '" + std::string(d->name ? d->name : "(null)") +
                           "' must match [a-z][a-z0-9-]{0,31}");
  }
  if (d->create == nullptr || d->declare == nullptr || d->configure == nullptr ||
      d->collect == nullptr || d->destroy == nullptr) {
    return Status::invalid(where + "descriptor of '" + d->name +
                           "' lacks a callback; rebuild it with ES_PLUGIN()");
  }
  return LoadedPlugin(std::move(lib), d, path);
}

// --- es_host_api implementation -------------------------------------------------------------

namespace {

enum class Phase { Create, Declare, Configure, Collect };

struct HostCtx {
  const LoadedPlugin* plugin = nullptr;
  const PluginSettings* settings = nullptr;
  const RuntimeHooks* hooks = nullptr;
  Phase phase = Phase::Create;
  std::string error;    // set by the plugin (set_error) or by a failed callback
  std::string scratch;  // out-parameter storage for config_get / state_get / region
  std::string scratch_key;
  std::vector<DatasetSpec> declared;
  // Collect only.
  Store* store = nullptr;
  RunStats* stats = nullptr;
  std::vector<std::pair<std::string, std::string>> renames;
  // The store's writer per declared dataset (same index as `declared`), valid for the run.
  std::vector<Store::Writer*> writers;
};

HostCtx& ctxOf(es_host_ptr p) { return *reinterpret_cast<HostCtx*>(p); }

es_status failCall(HostCtx& c, es_status code, std::string msg) {
  c.error = std::move(msg);
  return code;
}

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

const DatasetSpec* findDeclared(HostCtx& c, const char* name, size_t len) {
  const std::string_view n(name, len);
  for (const auto& d : c.declared) {
    if (d.name == n) {
      return &d;
    }
  }
  return nullptr;
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
    if (decl == nullptr || decl->struct_size < sizeof(es_dataset_decl) || decl->name == nullptr ||
        (decl->columns == nullptr && decl->column_count != 0)) {
      return failCall(c, ES_ERR_SCHEMA, "malformed dataset declaration");
    }
    DatasetSpec spec;
    spec.name = decl->name;
    spec.version = decl->version;
    for (size_t i = 0; i < decl->column_count && i <= 256; ++i) {
      const auto& col = decl->columns[i];
      Column out;
      out.name = col.name == nullptr ? "" : col.name;
      if (col.type < ES_TYPE_TEXT || col.type > ES_TYPE_MONEY) {
        return failCall(c, ES_ERR_SCHEMA,
                        "dataset '" + spec.name + "': column '" + out.name + "' has unknown type " +
                            std::to_string(col.type));
      }
      out.type = static_cast<ColumnType>(col.type);
      out.key = (col.flags & ES_COLUMN_KEY) != 0;
      out.nullable = (col.flags & ES_COLUMN_NULLABLE) != 0;
      spec.columns.push_back(std::move(out));
    }
    if (decl->column_count > 256) {
      spec.columns.resize(257);  // let the check below name the limit
    }
    if (auto reason = checkDatasetSpec(spec); !reason.empty()) {
      return failCall(c, ES_ERR_SCHEMA, reason);
    }
    if (findDeclared(c, spec.name.data(), spec.name.size()) != nullptr) {
      return failCall(c, ES_ERR_SCHEMA, "dataset '" + spec.name + "' is declared twice");
    }
    c.declared.push_back(std::move(spec));
    return ES_OK;
  };
  api.sink_upsert = [](es_host_ptr p, const char* dataset, size_t dataset_len,
                       const es_value* values, size_t count) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "sink_upsert", "collect");
    }
    const DatasetSpec* spec = findDeclared(c, dataset, dataset_len);
    if (spec == nullptr) {
      return failCall(c, ES_ERR_INVALID,
                      "dataset '" + std::string(dataset, dataset_len) + "' was not declared");
    }
    es_status code = ES_OK;
    Store::Writer* w = writerFor(c, *spec, code);
    if (w == nullptr) {
      return code;
    }
    auto st = w->upsert(values, count);
    if (!st) {
      return failCall(c, static_cast<es_status>(st.code()), st.message());
    }
    ++c.stats->upserted;
    return ES_OK;
  };
  api.sink_remove = [](es_host_ptr p, const char* dataset, size_t dataset_len, const es_value* key,
                       size_t count) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "sink_remove", "collect");
    }
    const DatasetSpec* spec = findDeclared(c, dataset, dataset_len);
    if (spec == nullptr) {
      return failCall(c, ES_ERR_INVALID,
                      "dataset '" + std::string(dataset, dataset_len) + "' was not declared");
    }
    es_status code = ES_OK;
    Store::Writer* w = writerFor(c, *spec, code);
    if (w == nullptr) {
      return code;
    }
    auto st = w->remove(key, count);
    if (!st) {
      return failCall(c, static_cast<es_status>(st.code()), st.message());
    }
    ++c.stats->removed;
    return ES_OK;
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
    if (from_len == 0 || to_len == 0 || from[0] != '/' || to[0] != '/') {
      return failCall(c, ES_ERR_INVALID, "rename_after_commit takes absolute paths");
    }
    c.renames.emplace_back(std::string(from, from_len), std::string(to, to_len));
    return ES_OK;
  };
  return api;
}();

// Owns one plugin instance for the length of a call sequence.
class InstanceGuard {
 public:
  InstanceGuard(const es_plugin_v1& d, HostCtx& c) : d_(d) {
    c.phase = Phase::Create;
    self_ = d.create(&kHostApi, reinterpret_cast<es_host_ptr>(&c));
  }
  ~InstanceGuard() {
    if (self_ != nullptr) {
      d_.destroy(self_);
    }
  }
  InstanceGuard(const InstanceGuard&) = delete;
  InstanceGuard& operator=(const InstanceGuard&) = delete;
  es_plugin_ptr get() const { return self_; }

 private:
  const es_plugin_v1& d_;
  es_plugin_ptr self_ = nullptr;
};

Status callFailed(const HostCtx& c, es_status code, const char* step) {
  const std::string msg = c.error.empty() ? "(no reason given)" : c.error;
  return Status(
      static_cast<Code>(code >= ES_ERR_INVALID && code <= ES_ERR_INTERNAL ? code : ES_ERR_INTERNAL),
      std::string(step) + " failed: " + msg);
}

Status declareAll(const es_plugin_v1& d, es_plugin_ptr self, HostCtx& c) {
  c.phase = Phase::Declare;
  c.declared.clear();
  const es_status st = d.declare(self, &kHostApi, reinterpret_cast<es_host_ptr>(&c));
  if (st != ES_OK) {
    return callFailed(c, st, "declare()");
  }
  if (c.declared.empty()) {
    return Status::schema("declare() declared no dataset; declare at least one");
  }
  return Status::ok();
}

}  // namespace

Result<Description> describePlugin(const LoadedPlugin& plugin, const PluginSettings& settings,
                                   const RuntimeHooks& hooks) {
  HostCtx c;
  c.plugin = &plugin;
  c.settings = &settings;
  c.hooks = &hooks;
  const auto& d = plugin.descriptor();
  InstanceGuard inst(d, c);
  if (inst.get() == nullptr) {
    return callFailed(c, ES_ERR_INTERNAL, "create()");
  }
  if (auto st = declareAll(d, inst.get(), c); !st) {
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
  const auto& d = plugin.descriptor();
  const auto ctx = reinterpret_cast<es_host_ptr>(&c);
  InstanceGuard inst(d, c);
  if (inst.get() == nullptr) {
    return callFailed(c, ES_ERR_INTERNAL, "create()");
  }
  if (auto st = declareAll(d, inst.get(), c); !st) {
    return st;
  }
  for (const auto& spec : c.declared) {
    if (auto st = store.applySchema(plugin.name(), spec); !st) {
      return st;
    }
  }
  c.phase = Phase::Configure;
  if (const es_status st = d.configure(inst.get(), &kHostApi, ctx); st != ES_OK) {
    return callFailed(c, st, "configure()");
  }
  if (auto st = store.beginRun(); !st) {
    return st;
  }
  c.phase = Phase::Collect;
  const es_status st = d.collect(inst.get(), &kHostApi, ctx);
  if (st != ES_OK) {
    store.rollbackRun();
    return callFailed(c, st, "collect()");
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
