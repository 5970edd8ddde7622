// The plugin test harness: its own loader (dlopen) and its own in-memory es_host_api. It links
// nothing of the agent (a plugin author has only the SDK); the loading checks, refusal wording and
// call wrappers come from sdk/src/host/plugin_host_common.hpp, which the agent's plugin runtime
// uses too, so a plugin the harness accepts is one the agent accepts.
#include "exportsync/testing/harness.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "host/plugin_host_common.hpp"

namespace exportsync::testing {
namespace {

namespace fs = std::filesystem;
namespace host = sdk::internal;

using host::failCall;
using host::Phase;

constexpr size_t kMaxLogLine = 8192;  // as the agent: a runaway plugin must not flood the log

std::string str(const char* s, size_t len) {
  return s == nullptr ? std::string() : std::string(s, len);
}

const char* phaseCall(Phase p) {
  switch (p) {
    case Phase::Create: return "create()";
    case Phase::Declare: return "declare()";
    case Phase::Configure: return "configure()";
    case Phase::Collect: return "collect()";
  }
  return "?";
}

}  // namespace

// --- Harness state ----------------------------------------------------------------------------

namespace internal {
struct HarnessImpl {
  void* handle = nullptr;  // never dlclose'd: code may still be referenced (STYLE.md §2)
  const es_plugin_v1* d = nullptr;
  std::string file;
  std::map<std::string, std::string> config;
  std::string region = "MA-06";
  bool cancel = false;
  uint64_t cancel_after = 0;
  // Committed by successful runs.
  std::map<std::string, std::string> state;
  std::map<std::string, DatasetRows, std::less<>> store;
  std::string temp_dir;
  bool inbox_named = false;  // inbox() has set a config key to the inbox folder

  ~HarnessImpl() {
    if (!temp_dir.empty() && std::getenv("ES_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      fs::remove_all(temp_dir, ec);
    }
  }
};
}  // namespace internal

namespace {

// One create → … → destroy sequence: what the host callbacks see through es_host_ptr (phase,
// error and declared datasets in host::CallState).
struct HostCtx : host::CallState {
  internal::HarnessImpl* h = nullptr;
  std::string scratch;  // out-parameter storage (state_get)
  std::vector<std::shared_ptr<const std::vector<std::string>>> names;  // per declared dataset
  bool describing = false;
  // Collect only: the run's writes, kept if it commits.
  RunResult* out = nullptr;
  std::map<std::string, std::string> state;
  std::map<std::string, DatasetRows, std::less<>> tables;
  uint64_t sink_calls = 0;
};

HostCtx& ctxOf(es_host_ptr p) { return *reinterpret_cast<HostCtx*>(p); }
es_host_ptr handleOf(HostCtx& c) { return reinterpret_cast<es_host_ptr>(&c); }

es_status notNow(HostCtx& c, const char* what, const char* when) {
  return failCall(c, ES_ERR_INVALID,
                  std::string(what) + " may only be called during " + when + ", not during " +
                      phaseCall(c.phase));
}

// A value as the store keeps it: an integer written to a real column reads back as a real.
Value storedValue(const Column& col, const es_value& v) {
  if (col.type == ColumnType::Real && v.type == ES_TYPE_INTEGER) {
    return Value(static_cast<double>(v.i64));
  }
  return valueFromAbi(v);
}

// Checks and records one sink call; `remove` takes the key columns only.
es_status sinkCall(HostCtx& c, bool remove, const char* dataset, size_t dataset_len,
                   const es_value* values, size_t count) {
  const char* what = remove ? "sink_remove" : "sink_upsert";
  if (c.phase != Phase::Collect) {
    return notNow(c, what, "collect()");
  }
  ++c.sink_calls;
  const std::string name = str(dataset, dataset_len);
  SinkCall call;
  call.op = remove ? SinkCall::Op::Remove : SinkCall::Op::Upsert;
  call.dataset = name;
  const auto refuse = [&](std::string msg) {
    call.status = Status::invalid(msg);
    c.out->calls.push_back(std::move(call));
    ++c.out->refused;
    return failCall(c, ES_ERR_INVALID, std::move(msg));
  };
  const DatasetSpec* declared = host::findDeclared(c, name);
  if (declared == nullptr) {
    return refuse("dataset '" + name + "' was not declared");
  }
  const DatasetSpec& spec = *declared;
  const auto idx = static_cast<size_t>(declared - c.declared.data());
  const std::string where = "dataset '" + spec.name + "': ";
  std::vector<size_t> positions;  // declared position of each value
  if (remove) {
    positions = spec.keyIndexes();
  } else {
    for (size_t i = 0; i < spec.columns.size(); ++i) {
      positions.push_back(i);
    }
  }
  if (count != positions.size()) {
    return refuse(where + (remove ? "key has " : "row has ") + std::to_string(count) +
                  " values, expected " + std::to_string(positions.size()));
  }
  if (values == nullptr && count != 0) {
    return refuse(where + "values are NULL");
  }
  std::vector<Value> row;
  row.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const Column& col = spec.columns[positions[i]];
    if (auto reason = checkValue(col, values[i]); !reason.empty()) {
      return refuse(where + reason);
    }
    row.push_back(storedValue(col, values[i]));
  }
  auto& table = c.tables.at(spec.name);
  if (remove) {
    std::vector<std::string> key_names;
    key_names.reserve(positions.size());
    for (size_t p : positions) {
      key_names.push_back(spec.columns[p].name);
    }
    table.remove(row);
    call.row = RowValues(std::make_shared<const std::vector<std::string>>(std::move(key_names)),
                         std::move(row));
    ++c.out->removed;
  } else {
    call.row = RowValues(c.names[idx], std::move(row));
    table.upsert(call.row);
    ++c.out->upserted;
  }
  c.out->calls.push_back(std::move(call));
  return ES_OK;
}

const es_host_api kHostApi = [] {
  es_host_api api{};
  api.abi_major = ES_ABI_MAJOR;
  api.abi_minor = ES_ABI_MINOR;
  api.struct_size = sizeof(es_host_api);
  api.set_error = [](es_host_ptr p, const char* msg, size_t len) {
    ctxOf(p).error = str(msg, len);
  };
  api.last_error = [](es_host_ptr p, const char** msg, size_t* len) {
    *msg = ctxOf(p).error.c_str();
    *len = ctxOf(p).error.size();
  };
  api.log = [](es_host_ptr p, es_log_level level, const char* msg, size_t len) {
    auto& c = ctxOf(p);
    if (c.out == nullptr) {
      return;  // describing: the agent logs these, the harness has no run to attach them to
    }
    std::string line = str(msg, std::min(len, kMaxLogLine));
    if (len > kMaxLogLine) {
      line += " [truncated]";
    }
    c.out->logs.push_back({level, std::move(line)});
  };
  api.config_get = [](es_host_ptr p, const char* key, size_t key_len, const char** value,
                      size_t* value_len) -> int32_t {
    const auto& config = ctxOf(p).h->config;
    const auto it = config.find(str(key, key_len));
    if (it == config.end()) {
      return 0;
    }
    *value = it->second.data();
    *value_len = it->second.size();
    return 1;
  };
  api.config_key_at = [](es_host_ptr p, size_t index, const char** key,
                         size_t* key_len) -> int32_t {
    const auto& config = ctxOf(p).h->config;
    if (index >= config.size()) {
      return 0;
    }
    auto it = config.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(index));
    *key = it->first.data();
    *key_len = it->first.size();
    return 1;
  };
  api.region = [](es_host_ptr p, const char** code, size_t* len) {
    const auto& region = ctxOf(p).h->region;
    *code = region.data();
    *len = region.size();
  };
  api.declare_dataset = [](es_host_ptr p, const es_dataset_decl* decl) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Declare) {
      return notNow(c, "declare_dataset", "declare()");
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
                  const char* column, size_t column_len, const char* value, size_t value_len,
                  const char* reason, size_t reason_len) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "reject", "collect()");
    }
    c.out->rejections.push_back({str(source, source_len), line, str(column, column_len),
                                 str(value, value_len), str(reason, reason_len)});
    return ES_OK;
  };
  api.state_get = [](es_host_ptr p, const char* key, size_t key_len, const char** value,
                     size_t* value_len) -> int32_t {
    auto& c = ctxOf(p);
    if (c.describing) {
      return 0;  // as the agent: no store while describing
    }
    // During collect the run's own writes are visible; before it, the committed state.
    const auto& state = c.phase == Phase::Collect ? c.state : c.h->state;
    const auto it = state.find(str(key, key_len));
    if (it == state.end()) {
      return 0;
    }
    c.scratch = it->second;
    *value = c.scratch.data();
    *value_len = c.scratch.size();
    return 1;
  };
  api.state_put = [](es_host_ptr p, const char* key, size_t key_len, const char* value,
                     size_t value_len) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "state_put", "collect()");
    }
    c.state[str(key, key_len)] = str(value, value_len);
    return ES_OK;
  };
  api.state_erase = [](es_host_ptr p, const char* key, size_t key_len) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "state_erase", "collect()");
    }
    c.state.erase(str(key, key_len));
    return ES_OK;
  };
  api.cancelled = [](es_host_ptr p) -> int32_t {
    const auto& c = ctxOf(p);
    const bool after = c.h->cancel_after != 0 && c.sink_calls >= c.h->cancel_after;
    return c.h->cancel || after ? 1 : 0;
  };
  api.rename_after_commit = [](es_host_ptr p, const char* from, size_t from_len, const char* to,
                               size_t to_len) -> es_status {
    auto& c = ctxOf(p);
    if (c.phase != Phase::Collect) {
      return notNow(c, "rename_after_commit", "collect()");
    }
    if (from == nullptr || to == nullptr || from_len == 0 || to_len == 0 || from[0] != '/' ||
        to[0] != '/') {
      return failCall(c, ES_ERR_INVALID, "rename_after_commit takes absolute paths");
    }
    c.out->renames.push_back({str(from, from_len), str(to, to_len), false, {}});
    return ES_OK;
  };
  return api;
}();

// declare() through the shared wrapper, then the column names of each declared dataset (shared
// by the rows the run records).
Status declareAll(host::PluginInstance& inst, HostCtx& c) {
  c.names.clear();
  if (auto st = inst.declareAll(); !st) {
    return st;
  }
  for (const auto& spec : c.declared) {
    std::vector<std::string> names;
    for (const auto& col : spec.columns) {
      names.push_back(col.name);
    }
    c.names.push_back(std::make_shared<const std::vector<std::string>>(std::move(names)));
  }
  return Status::ok();
}

Error fileError(const std::string& what, const std::string& path, const std::string& why) {
  return Error("test harness: cannot " + what + " '" + path + "': " + why +
                   "; check the temporary folder (TMPDIR) and its free space",
               Code::Io);
}

}  // namespace

// --- Loading ----------------------------------------------------------------------------------

Result<Harness> Harness::load(const std::string& path) {
  const std::string where = host::refusedPrefix(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::invalid(where + "cannot be read: " + std::strerror(errno) +
                           "; give the path of the built .so");
  }
  if (auto elf = host::checkElfFile(path, where); !elf) {
    return elf;
  }
  // An absolute path, so dlopen does not search the library path for a bare file name.
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).string();
  void* handle = ::dlopen(ec ? path.c_str() : abs.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return host::cannotLoad(where, why != nullptr ? why : "dlopen failed");
  }
  ::dlerror();  // clear, so a NULL from dlsym is told apart from an error
  void* sym = ::dlsym(handle, ES_PLUGIN_ENTRY_SYMBOL);
  if (sym == nullptr) {
    return host::noEntrySymbol(where);
  }
  es_plugin_entry_fn entry = nullptr;
  static_assert(sizeof(entry) == sizeof(sym), "function and object pointers differ in size");
  std::memcpy(&entry, &sym, sizeof entry);  // POSIX: dlsym results may hold function pointers
  const es_plugin_v1* d = entry(ES_ABI_MAJOR);
  if (auto checked = host::checkDescriptor(d, where); !checked) {
    return checked;
  }
  auto impl = std::make_unique<internal::HarnessImpl>();
  impl->handle = handle;
  impl->d = d;
  impl->file = path;
  return Harness(std::move(impl));
}

Harness::Harness(std::unique_ptr<internal::HarnessImpl> impl) : impl_(std::move(impl)) {}
Harness::Harness(Harness&&) noexcept = default;
Harness& Harness::operator=(Harness&&) noexcept = default;
Harness::~Harness() = default;

const std::string& Harness::file() const { return impl_->file; }
std::string Harness::name() const { return impl_->d->name; }
std::string Harness::version() const {
  return impl_->d->version == nullptr ? "" : impl_->d->version;
}
std::string Harness::description() const {
  return impl_->d->description == nullptr ? "" : impl_->d->description;
}
uint32_t Harness::abiMajor() const { return impl_->d->abi_major; }
uint32_t Harness::abiMinor() const { return impl_->d->abi_minor; }
uint32_t Harness::descriptorSize() const { return impl_->d->struct_size; }

// --- Setup ------------------------------------------------------------------------------------

Harness& Harness::config(std::map<std::string, std::string> values) {
  impl_->config = std::move(values);
  return *this;
}
Harness& Harness::set(const std::string& key, const std::string& value) {
  impl_->config[key] = value;
  return *this;
}
Harness& Harness::unset(const std::string& key) {
  impl_->config.erase(key);
  return *this;
}
const std::map<std::string, std::string>& Harness::config() const { return impl_->config; }
Harness& Harness::region(std::string code) {
  impl_->region = std::move(code);
  return *this;
}
Harness& Harness::cancel(bool on) {
  impl_->cancel = on;
  return *this;
}
Harness& Harness::cancelAfter(uint64_t sink_calls) {
  impl_->cancel_after = sink_calls;
  return *this;
}

// --- Files ------------------------------------------------------------------------------------

const std::string& Harness::tempDir() {
  if (impl_->temp_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/es-harness-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw fileError("create a temporary folder", tmpl, std::strerror(errno));
    }
    std::error_code ec;
    const auto abs = fs::absolute(tmpl, ec);
    impl_->temp_dir = ec ? tmpl : abs.string();
  }
  return impl_->temp_dir;
}

std::string Harness::inbox(const std::string& config_key) {
  std::string dir = tempDir() + "/inbox";
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    throw fileError("create the inbox", dir, std::strerror(errno));
  }
  impl_->config[config_key] = dir;
  impl_->inbox_named = true;
  return dir;
}

// The inbox folder for the file helpers: keeps the config key an earlier inbox(key) chose.
std::string Harness::inboxForFiles() {
  if (impl_->inbox_named) {
    std::string dir = tempDir() + "/inbox";
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
      throw fileError("create the inbox", dir, std::strerror(errno));
    }
    return dir;
  }
  return inbox();
}

std::string Harness::addInboxFile(const std::string& name, std::string_view contents) {
  std::string path = inboxForFiles() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) {
    throw fileError("write", path, "write failed");
  }
  return path;
}

std::string Harness::copyToInbox(const std::string& path) {
  std::string to = inboxForFiles() + "/" + fs::path(path).filename().string();
  std::error_code ec;
  fs::copy_file(path, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    throw fileError("copy into the inbox", path, ec.message());
  }
  return to;
}

// --- Runs -------------------------------------------------------------------------------------

Result<std::vector<DatasetSpec>> Harness::describe() {
  HostCtx c;
  c.h = impl_.get();
  c.describing = true;
  host::PluginInstance inst(*impl_->d, kHostApi, handleOf(c), c);
  if (auto st = inst.created(); !st) {
    return st;
  }
  if (auto st = declareAll(inst, c); !st) {
    return st;
  }
  return std::move(c.declared);
}

RunResult Harness::run() {
  RunResult out;
  HostCtx c;
  c.h = impl_.get();
  c.out = &out;
  c.state = impl_->state;
  const auto& d = *impl_->d;
  const auto finish = [&](Status st) {
    out.status = std::move(st);
    // Committed rows of every declared dataset, after the commit or as they were.
    for (const auto& spec : out.datasets) {
      const auto it = impl_->store.find(spec.name);
      out.tables.insert_or_assign(spec.name,
                                  it != impl_->store.end() ? it->second : DatasetRows(spec));
    }
    out.state = impl_->state;
    return std::move(out);
  };
  host::PluginInstance inst(d, kHostApi, handleOf(c), c);
  if (auto st = inst.created(); !st) {
    return finish(st);
  }
  if (auto st = declareAll(inst, c); !st) {
    return finish(st);
  }
  out.datasets = c.declared;
  for (const auto& spec : c.declared) {
    // Rows already committed stay (the agent's tables outlive runs); a new declaration of the
    // dataset replaces the spec the rows are checked against.
    const auto it = impl_->store.find(spec.name);
    DatasetRows rows(spec);
    if (it != impl_->store.end()) {
      for (auto& row : it->second.all()) {
        if (row.columns().size() == spec.columns.size()) {
          rows.upsert(std::move(row));
        }
      }
    }
    c.tables.insert_or_assign(spec.name, std::move(rows));
  }
  if (auto st = inst.configure(); !st) {
    return finish(st);
  }
  c.error.clear();  // a reason left over from configure() is not collect()'s
  if (auto st = inst.collect(); !st) {
    return finish(st);
  }
  if (kHostApi.cancelled(handleOf(c)) != 0) {
    return finish(Status::cancelled("collect() was cancelled; the run was rolled back"));
  }
  // Commit, then the renames, in the order they were asked for.
  impl_->state = std::move(c.state);
  for (auto& [name, rows] : c.tables) {
    impl_->store.insert_or_assign(name, std::move(rows));
  }
  for (auto& r : out.renames) {
    if (std::rename(r.from.c_str(), r.to.c_str()) == 0) {
      r.done = true;
    } else {
      r.error = std::strerror(errno);
    }
  }
  return finish(Status::ok());
}

// --- Durable state ----------------------------------------------------------------------------

const std::map<std::string, std::string>& Harness::state() const { return impl_->state; }

Harness& Harness::putState(const std::string& key, const std::string& value) {
  impl_->state[key] = value;
  return *this;
}

const DatasetRows* Harness::stored(std::string_view dataset) const {
  const auto it = impl_->store.find(dataset);
  return it == impl_->store.end() ? nullptr : &it->second;
}

void Harness::reset() {
  impl_->state.clear();
  impl_->store.clear();
}

}  // namespace exportsync::testing
