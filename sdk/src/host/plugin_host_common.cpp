// The loading checks and call wrappers shared by the agent's plugin runtime and the SDK's test
// harness (see plugin_host_common.hpp). The refusal wording is asserted on by tests: keep it.
#include "host/plugin_host_common.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <utility>

namespace exportsync::sdk::internal {

namespace {

constexpr size_t kMaxColumns = 256;  // one more is read, so checkDatasetSpec() names the limit

bool looksLikeElf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 4> magic{};
  in.read(magic.data(), magic.size());
  return in.gcount() == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' &&
         magic[3] == 'F';
}

}  // namespace

// --- Loading checks ---------------------------------------------------------------------------

std::string refusedPrefix(const std::string& path) {
  return "plugin file '" + path + "' refused: ";
}

bool isValidPluginName(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

Status checkElfFile(const std::string& path, const std::string& where) {
  if (!looksLikeElf(path)) {
    return Status::invalid(where +
                           "not a shared library (no ELF header); remove it from the "
                           "plugin folder");
  }
  return Status::ok();
}

Status cannotLoad(const std::string& where, const std::string& why) {
  return Status::invalid(where + "cannot be loaded: " + why +
                         "; rebuild it against this SDK with all its libraries installed");
}

Status noEntrySymbol(const std::string& where) {
  return Status::invalid(where + "no entry symbol '" ES_PLUGIN_ENTRY_SYMBOL
                                 "'; a plugin must use ES_PLUGIN(YourClass) once");
}

Status checkDescriptor(const es_plugin_v1* d, const std::string& where) {
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
    return Status::invalid(where + "plugin name '" +
                           std::string(d->name != nullptr ? d->name : "(null)") +
                           "' must match [a-z][a-z0-9-]{0,31}");
  }
  if (d->create == nullptr || d->declare == nullptr || d->configure == nullptr ||
      d->collect == nullptr || d->destroy == nullptr) {
    return Status::invalid(where + "descriptor of '" + d->name +
                           "' lacks a callback; rebuild it with ES_PLUGIN()");
  }
  return Status::ok();
}

// --- Call sequence ----------------------------------------------------------------------------

es_status failCall(CallState& c, es_status code, std::string msg) {
  c.error = std::move(msg);
  return code;
}

const DatasetSpec* findDeclared(const CallState& c, std::string_view name) {
  for (const auto& d : c.declared) {
    if (d.name == name) {
      return &d;
    }
  }
  return nullptr;
}

es_status declareDataset(CallState& c, const es_dataset_decl* decl) {
  if (decl == nullptr || decl->struct_size < sizeof(es_dataset_decl) || decl->name == nullptr ||
      (decl->columns == nullptr && decl->column_count != 0)) {
    return failCall(c, ES_ERR_SCHEMA, "malformed dataset declaration");
  }
  DatasetSpec spec;
  spec.name = decl->name;
  spec.version = decl->version;
  for (size_t i = 0; i < decl->column_count && i <= kMaxColumns; ++i) {
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
  if (auto reason = checkDatasetSpec(spec); !reason.empty()) {
    return failCall(c, ES_ERR_SCHEMA, reason);
  }
  if (findDeclared(c, spec.name) != nullptr) {
    return failCall(c, ES_ERR_SCHEMA, "dataset '" + spec.name + "' is declared twice");
  }
  c.declared.push_back(std::move(spec));
  return ES_OK;
}

Status callFailed(const CallState& c, es_status code, const char* step) {
  const std::string msg = c.error.empty() ? "(no reason given)" : c.error;
  return {
      static_cast<Code>(code >= ES_ERR_INVALID && code <= ES_ERR_INTERNAL ? code : ES_ERR_INTERNAL),
      std::string(step) + " failed: " + msg};
}

PluginInstance::PluginInstance(const es_plugin_v1& d, const es_host_api& api, es_host_ptr host,
                               CallState& state)
    : d_(d), api_(api), host_(host), state_(state) {
  state_.phase = Phase::Create;
  self_ = d_.create(&api_, host_);
}

PluginInstance::~PluginInstance() {
  if (self_ != nullptr) {
    d_.destroy(self_);
  }
}

Status PluginInstance::created() const {
  return self_ != nullptr ? Status::ok() : callFailed(state_, ES_ERR_INTERNAL, "create()");
}

Status PluginInstance::declareAll() {
  state_.phase = Phase::Declare;
  state_.declared.clear();
  const es_status st = d_.declare(self_, &api_, host_);
  if (st != ES_OK) {
    return callFailed(state_, st, "declare()");
  }
  if (state_.declared.empty()) {
    return Status::schema("declare() declared no dataset; declare at least one");
  }
  return Status::ok();
}

Status PluginInstance::configure() {
  state_.phase = Phase::Configure;
  const es_status st = d_.configure(self_, &api_, host_);
  return st == ES_OK ? Status::ok() : callFailed(state_, st, "configure()");
}

Status PluginInstance::collect() {
  state_.phase = Phase::Collect;
  const es_status st = d_.collect(self_, &api_, host_);
  return st == ES_OK ? Status::ok() : callFailed(state_, st, "collect()");
}

}  // namespace exportsync::sdk::internal
