// The C++ layer plugin authors write against. Header-only; implements plugin_abi.h.
//
//   class MyPlugin : public exportsync::Plugin {
//    public:
//     static exportsync::PluginInfo info() { return {"my-plugin", "1.0.0", "What it collects"}; }
//     void declare(exportsync::Schema& schema) override { ... }
//     void configure(const exportsync::Config& config) override { ... }
//     void collect(exportsync::CollectContext& ctx) override { ... }
//   };
//   ES_PLUGIN(MyPlugin)
//
// Failing: throw exportsync::Error (or any std::exception) from declare/configure/collect; the
// layer catches it at the boundary and hands its message to the agent, which rolls the run
// back. Bad rows are values: Sink::upsert returns a Status; reject() records the row for the
// run's report. See docs/plugin-guide.md.
//
// THREAD: the agent calls a plugin instance from one thread at a time. The objects passed to
// the plugin (Config, CollectContext, Sink, State, Logger) are valid only during that call.
#pragma once

#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/plugin_abi.h"
#include "exportsync/status.hpp"

namespace exportsync {

/// Name, version and one-line description of a plugin. Static strings.
struct PluginInfo {
  const char* name;         ///< [a-z][a-z0-9-]{0,31}; unique among an agent's plugins
  const char* version;      ///< e.g. "1.2.0"
  const char* description;  ///< one line
};

/// Thrown by plugin code to fail the current call with a code and a message.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, Code code = Code::Internal)
      : std::runtime_error(message), code_(code) {}
  Code code() const { return code_; }

 private:
  Code code_;
};

/// Thrown by Config getters: names the full key and what to do.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message, Code::Config) {}
};

/// Builder for one dataset, returned by Schema::dataset().
class DatasetBuilder {
 public:
  explicit DatasetBuilder(DatasetSpec& spec) : spec_(&spec) {}
  /// A key column (not null). Declare key columns in the order of the key.
  DatasetBuilder& key(std::string name, ColumnType type) {
    spec_->columns.push_back({std::move(name), type, true, false});
    return *this;
  }
  /// A required (not null) column.
  DatasetBuilder& column(std::string name, ColumnType type) {
    spec_->columns.push_back({std::move(name), type, false, false});
    return *this;
  }
  /// A column that may be null. Columns added to an existing dataset must be nullable.
  DatasetBuilder& nullable(std::string name, ColumnType type) {
    spec_->columns.push_back({std::move(name), type, false, true});
    return *this;
  }

 private:
  DatasetSpec* spec_;
};

/// The datasets a plugin declares. Filled in declare(); checked by the agent.
class Schema {
 public:
  /// Starts a dataset. `version` >= 1; raise it whenever the columns change.
  DatasetBuilder dataset(std::string name, uint32_t version = 1) {
    datasets_.push_back(DatasetSpec{std::move(name), version, {}});
    return DatasetBuilder(datasets_.back());
  }
  const std::vector<DatasetSpec>& datasets() const { return datasets_; }
  const DatasetSpec* find(std::string_view name) const {
    for (const auto& d : datasets_) {
      if (d.name == name) {
        return &d;
      }
    }
    return nullptr;
  }

 private:
  std::vector<DatasetSpec> datasets_;
};

namespace detail {
struct Call {
  const es_host_api* host;
  es_host_ptr ctx;
  std::string lastError() const {
    const char* msg = nullptr;
    size_t len = 0;
    host->last_error(ctx, &msg, &len);
    return std::string(msg == nullptr ? "" : msg, len);
  }
};
inline bool parseInt64(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 20) {
    return false;
  }
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
    if (s.size() == 1) {
      return false;
    }
  }
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    const auto d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  if (neg ? v > 9223372036854775808ULL : v > 9223372036854775807ULL) {
    return false;
  }
  out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}
}  // namespace detail

/// This plugin's configuration: the agent config keys `plugin.<name>.<key>`. Getters take the
/// short key; errors name the full one.
class Config {
 public:
  Config(detail::Call call, std::string plugin) : call_(call), plugin_(std::move(plugin)) {}

  bool has(std::string_view key) const { return raw(key).has_value(); }
  /// The keys set for this plugin (short form).
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    const char* k = nullptr;
    size_t len = 0;
    for (size_t i = 0; call_.host->config_key_at(call_.ctx, i, &k, &len) != 0; ++i) {
      out.emplace_back(k, len);
    }
    return out;
  }
  /// Text value; throws ConfigError when missing or empty.
  std::string getString(std::string_view key) const {
    auto v = raw(key);
    if (!v || v->empty()) {
      throw ConfigError("config key '" + fullKey(key) + "' is missing; set it in the agent config");
    }
    return *v;
  }
  std::string getString(std::string_view key, std::string fallback) const {
    auto v = raw(key);
    return v ? *v : std::move(fallback);
  }
  /// Integer value within [min, max]; throws ConfigError naming the key otherwise.
  int64_t getInt(std::string_view key, int64_t min = INT64_MIN, int64_t max = INT64_MAX) const {
    return toInt(key, getString(key), min, max);
  }
  int64_t getInt(std::string_view key, int64_t fallback, int64_t min, int64_t max) const {
    auto v = raw(key);
    return v ? toInt(key, *v, min, max) : fallback;
  }
  /// true/false, yes/no, on/off, 1/0.
  bool getBool(std::string_view key) const { return toBool(key, getString(key)); }
  bool getBool(std::string_view key, bool fallback) const {
    auto v = raw(key);
    return v ? toBool(key, *v) : fallback;
  }

  const std::string& pluginName() const { return plugin_; }

 private:
  std::optional<std::string> raw(std::string_view key) const {
    const char* v = nullptr;
    size_t len = 0;
    if (call_.host->config_get(call_.ctx, key.data(), key.size(), &v, &len) == 0) {
      return std::nullopt;
    }
    return std::string(v, len);
  }
  std::string fullKey(std::string_view key) const {
    return "plugin." + plugin_ + "." + std::string(key);
  }
  int64_t toInt(std::string_view key, const std::string& s, int64_t min, int64_t max) const {
    int64_t v = 0;
    if (!detail::parseInt64(s, v)) {
      throw ConfigError("config key '" + fullKey(key) + "': '" + s +
                        "' is not an integer; write digits only");
    }
    if (v < min || v > max) {
      throw ConfigError("config key '" + fullKey(key) + "': " + s + " is out of range [" +
                        std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return v;
  }
  bool toBool(std::string_view key, const std::string& s) const {
    if (s == "true" || s == "yes" || s == "on" || s == "1") {
      return true;
    }
    if (s == "false" || s == "no" || s == "off" || s == "0") {
      return false;
    }
    throw ConfigError("config key '" + fullKey(key) + "': '" + s +
                      "' is not a boolean; write true or false");
  }

  detail::Call call_;
  std::string plugin_;
};

/// Writes log lines attributed to the plugin in the agent's log.
class Logger {
 public:
  explicit Logger(detail::Call call) : call_(call) {}
  void error(std::string_view msg) const { write(ES_LOG_ERROR, msg); }
  void warning(std::string_view msg) const { write(ES_LOG_WARNING, msg); }
  void notice(std::string_view msg) const { write(ES_LOG_NOTICE, msg); }
  void info(std::string_view msg) const { write(ES_LOG_INFO, msg); }
  void debug(std::string_view msg) const { write(ES_LOG_DEBUG, msg); }

 private:
  void write(es_log_level level, std::string_view msg) const {
    call_.host->log(call_.ctx, level, msg.data(), msg.size());
  }
  detail::Call call_;
};

/// A row: column name → value. Columns left out are null.
class Row {
 public:
  Row() = default;
  Row(std::initializer_list<std::pair<std::string, Value>> fields) : fields_(fields) {}
  Row& set(std::string column, Value value) {
    fields_.emplace_back(std::move(column), std::move(value));
    return *this;
  }
  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }
  void clear() { fields_.clear(); }

 private:
  std::vector<std::pair<std::string, Value>> fields_;
};

/// A record the plugin refused, for the run's report.
struct Rejection {
  std::string source;  ///< file name or system
  uint64_t line = 0;   ///< 1-based line, 0 when not applicable
  std::string column;
  std::string value;
  std::string reason;
};

/// Where collected rows go. Every row is checked against the declared dataset; a refused row
/// writes nothing and returns the reason (naming the dataset and the column).
class Sink {
 public:
  Sink(detail::Call call, const Schema& schema) : call_(call), schema_(&schema) {}

  /// Inserts the row, or replaces the row with the same key.
  [[nodiscard]] Status upsert(std::string_view dataset, const Row& row) {
    auto* d = lookup(dataset);
    if (d == nullptr) {
      return unknownDataset(dataset);
    }
    if (auto st = order(*d, row, false); !st) {
      return st;
    }
    return toStatus(call_.host->sink_upsert(call_.ctx, dataset.data(), dataset.size(),
                                            d->values.data(), d->values.size()));
  }
  /// Removes the row with this key; `key` names every key column.
  [[nodiscard]] Status remove(std::string_view dataset, const Row& key) {
    auto* d = lookup(dataset);
    if (d == nullptr) {
      return unknownDataset(dataset);
    }
    if (auto st = order(*d, key, true); !st) {
      return st;
    }
    return toStatus(call_.host->sink_remove(call_.ctx, dataset.data(), dataset.size(),
                                            d->values.data(), d->values.size()));
  }
  /// Records a refused input record in the run's report.
  void reject(const Rejection& r) {
    (void)call_.host->reject(call_.ctx, r.source.data(), r.source.size(), r.line, r.column.data(),
                             r.column.size(), r.value.data(), r.value.size(), r.reason.data(),
                             r.reason.size());
  }

 private:
  struct Prepared {
    const DatasetSpec* spec;
    std::unordered_map<std::string, size_t> index;  // column name → declared position
    std::vector<size_t> key;                        // declared positions of key columns
    std::vector<es_value> values;                   // scratch, reused per row
  };
  Prepared* lookup(std::string_view dataset) {
    auto it = prepared_.find(std::string(dataset));
    if (it != prepared_.end()) {
      return &it->second;
    }
    const DatasetSpec* spec = schema_->find(dataset);
    if (spec == nullptr) {
      return nullptr;
    }
    Prepared p{spec, {}, spec->keyIndexes(), {}};
    for (size_t i = 0; i < spec->columns.size(); ++i) {
      p.index.emplace(spec->columns[i].name, i);
    }
    return &prepared_.emplace(std::string(dataset), std::move(p)).first->second;
  }
  Status order(Prepared& d, const Row& row, bool key_only) {
    const auto& cols = d.spec->columns;
    const size_t n = key_only ? d.key.size() : cols.size();
    d.values.assign(n, es_value{});
    const auto& fields = row.fields();
    for (size_t f = 0; f < fields.size(); ++f) {
      const auto& name = fields[f].first;
      size_t pos = 0;
      // Fast path: fields given in declared order.
      if (!key_only && f < cols.size() && cols[f].name == name) {
        pos = f;
      } else {
        auto it = d.index.find(name);
        if (it == d.index.end()) {
          return Status::invalid("dataset '" + d.spec->name + "' has no column '" + name + "'");
        }
        pos = it->second;
        if (key_only) {
          size_t k = 0;
          while (k < d.key.size() && d.key[k] != pos) {
            ++k;
          }
          if (k == d.key.size()) {
            return Status::invalid("dataset '" + d.spec->name + "': column '" + name +
                                   "' is not part of the key; remove() takes key columns only");
          }
          pos = k;
        }
      }
      d.values[pos] = fields[f].second.toAbi();
    }
    return Status::ok();
  }
  Status unknownDataset(std::string_view dataset) const {
    return Status::invalid("dataset '" + std::string(dataset) +
                           "' was not declared; declare it in declare()");
  }
  Status toStatus(es_status code) const {
    return code == ES_OK ? Status::ok() : Status(static_cast<Code>(code), call_.lastError());
  }

  detail::Call call_;
  const Schema* schema_;
  std::unordered_map<std::string, Prepared> prepared_;
};

/// Durable key-value state of this plugin (cursors, checkpoints). Writes belong to the current
/// collect run's transaction: they are kept only if the run succeeds.
class State {
 public:
  explicit State(detail::Call call) : call_(call) {}
  std::optional<std::string> get(std::string_view key) const {
    const char* v = nullptr;
    size_t len = 0;
    if (call_.host->state_get(call_.ctx, key.data(), key.size(), &v, &len) == 0) {
      return std::nullopt;
    }
    return std::string(v, len);
  }
  [[nodiscard]] Status put(std::string_view key, std::string_view value) {
    return check(
        call_.host->state_put(call_.ctx, key.data(), key.size(), value.data(), value.size()));
  }
  [[nodiscard]] Status erase(std::string_view key) {
    return check(call_.host->state_erase(call_.ctx, key.data(), key.size()));
  }

 private:
  Status check(es_status code) const {
    return code == ES_OK ? Status::ok() : Status(static_cast<Code>(code), call_.lastError());
  }
  detail::Call call_;
};

/// Everything a collect run has: config, logger, sink, state, region and cancellation.
class CollectContext {
 public:
  CollectContext(detail::Call call, const Schema& schema, std::string plugin)
      : call_(call),
        config_(call, std::move(plugin)),
        log_(call),
        sink_(call, schema),
        state_(call) {}

  const Config& config() const { return config_; }
  const Logger& log() const { return log_; }
  Sink& sink() { return sink_; }
  State& state() { return state_; }
  /// The office's region code, "MA-01" … "MA-12".
  std::string region() const {
    const char* code = nullptr;
    size_t len = 0;
    call_.host->region(call_.ctx, &code, &len);
    return std::string(code, len);
  }
  /// True once the agent asked the run to stop (shutdown or time limit); return soon.
  bool cancelled() const { return call_.host->cancelled(call_.ctx) != 0; }
  /// Throws Error(Code::Cancelled) when cancelled(): the run is rolled back.
  void throwIfCancelled() const {
    if (cancelled()) {
      throw Error("run cancelled by the agent", Code::Cancelled);
    }
  }
  /// Renames `from` to `to` once the run's transaction has committed; not at all if it fails.
  [[nodiscard]] Status renameAfterCommit(const std::string& from, const std::string& to) {
    const es_status code =
        call_.host->rename_after_commit(call_.ctx, from.data(), from.size(), to.data(), to.size());
    return code == ES_OK ? Status::ok() : Status(static_cast<Code>(code), call_.lastError());
  }

 private:
  detail::Call call_;
  Config config_;
  Logger log_;
  Sink sink_;
  State state_;
};

/// Base class of every plugin. One instance lives for one agent process step (describe or one
/// collect run); keep durable progress in State, not in members.
class Plugin {
 public:
  virtual ~Plugin() = default;
  /// Declares the datasets the plugin writes.
  virtual void declare(Schema& schema) = 0;
  /// Reads and checks configuration; throw ConfigError to refuse it.
  virtual void configure(const Config& config) { (void)config; }
  /// Collects data into ctx.sink(). The whole call is one transaction.
  virtual void collect(CollectContext& ctx) = 0;
};

namespace detail {

template <typename T>
struct Instance {
  std::unique_ptr<T> plugin;
  Schema schema;
  bool declared = false;
};

inline es_status fail(const es_host_api* host, es_host_ptr ctx, es_status code,
                      std::string_view msg) {
  host->set_error(ctx, msg.data(), msg.size());
  return code;
}

// Runs `body`, turning every exception into a code and a message for the host.
template <typename F>
es_status guard(const es_host_api* host, es_host_ptr ctx, F&& body) {
  try {
    body();
    return ES_OK;
  } catch (const Error& e) {
    return fail(host, ctx, static_cast<es_status>(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(host, ctx, ES_ERR_INTERNAL, "out of memory (std::bad_alloc)");
  } catch (const std::exception& e) {
    return fail(host, ctx, ES_ERR_INTERNAL, std::string("unhandled exception: ") + e.what());
  } catch (...) {
    return fail(host, ctx, ES_ERR_INTERNAL, "unhandled exception of unknown type");
  }
}

template <typename T>
es_status declareInto(Instance<T>& inst, const es_host_api* host, es_host_ptr ctx) {
  inst.schema = Schema();
  inst.plugin->declare(inst.schema);
  for (const auto& d : inst.schema.datasets()) {
    std::vector<es_column_decl> cols;
    cols.reserve(d.columns.size());
    for (const auto& c : d.columns) {
      cols.push_back({c.name.c_str(), static_cast<es_type>(c.type),
                      (c.key ? ES_COLUMN_KEY : 0u) | (c.nullable ? ES_COLUMN_NULLABLE : 0u)});
    }
    const es_dataset_decl decl{sizeof(es_dataset_decl), d.version, d.name.c_str(), cols.data(),
                               cols.size()};
    const es_status st = host->declare_dataset(ctx, &decl);
    if (st != ES_OK) {
      Call call{host, ctx};
      throw Error(call.lastError(), static_cast<Code>(st));
    }
  }
  inst.declared = true;
  return ES_OK;
}

template <typename T>
const es_plugin_v1* entry(uint32_t host_abi_major) {
  if (host_abi_major != ES_ABI_MAJOR) {
    return nullptr;
  }
  static const es_plugin_v1 descriptor = [] {
    const PluginInfo info = T::info();
    es_plugin_v1 d{};
    d.abi_major = ES_ABI_MAJOR;
    d.abi_minor = ES_ABI_MINOR;
    d.struct_size = sizeof(es_plugin_v1);
    d.name = info.name;
    d.version = info.version;
    d.description = info.description;
    d.create = [](const es_host_api* host, es_host_ptr ctx) -> es_plugin_ptr {
      Instance<T>* inst = nullptr;
      const es_status st = guard(host, ctx, [&] {
        auto owned = std::make_unique<Instance<T>>();
        owned->plugin = std::make_unique<T>();
        inst = owned.release();
      });
      return st == ES_OK ? reinterpret_cast<es_plugin_ptr>(inst) : nullptr;
    };
    d.declare = [](es_plugin_ptr self, const es_host_api* host, es_host_ptr ctx) -> es_status {
      auto& inst = *reinterpret_cast<Instance<T>*>(self);
      return guard(host, ctx, [&] { (void)declareInto(inst, host, ctx); });
    };
    d.configure = [](es_plugin_ptr self, const es_host_api* host, es_host_ptr ctx) -> es_status {
      auto& inst = *reinterpret_cast<Instance<T>*>(self);
      return guard(host, ctx, [&] {
        const Config config(Call{host, ctx}, T::info().name);
        inst.plugin->configure(config);
      });
    };
    d.collect = [](es_plugin_ptr self, const es_host_api* host, es_host_ptr ctx) -> es_status {
      auto& inst = *reinterpret_cast<Instance<T>*>(self);
      return guard(host, ctx, [&] {
        if (!inst.declared) {
          (void)declareInto(inst, host, ctx);
        }
        CollectContext context(Call{host, ctx}, inst.schema, T::info().name);
        inst.plugin->collect(context);
      });
    };
    d.destroy = [](es_plugin_ptr self) {
      // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): created by create() above
      delete reinterpret_cast<Instance<T>*>(self);
    };
    return d;
  }();
  return &descriptor;
}

}  // namespace detail
}  // namespace exportsync

/// Registers PluginClass as this library's plugin: emits the one exported entry symbol.
/// Use exactly once per shared library.
#define ES_PLUGIN(PluginClass)                                                            \
  extern "C" ES_EXPORT const es_plugin_v1* exportsync_plugin_entry(uint32_t host_major);  \
  extern "C" ES_EXPORT const es_plugin_v1* exportsync_plugin_entry(uint32_t host_major) { \
    return ::exportsync::detail::entry<PluginClass>(host_major);                          \
  }
