// What the agent's plugin runtime (agent/src/plugin_runtime.cpp) and the SDK's test harness
// (sdk/testing/harness.cpp) share, so that both refuse a plugin file with the same checks and the
// same words and drive a plugin instance the same way: the loading checks made before anything in
// the plugin is called, the translation of a dataset declaration, and the call wrappers. Each
// side keeps its own loader (Boost.DLL / dlopen) and its own es_host_api.
//
// Internal: built as the OBJECT library es_plugin_host_common, whose objects go into
// es_agent_core and into the ExportSync::testing archive. Never installed; no installed header
// includes it, so an out-of-tree plugin never sees it.
//
// THREAD: no shared state; a CallState and a PluginInstance belong to one call sequence on one
// thread. OWNERSHIP: nothing here loads or unloads a library; the caller keeps it loaded while
// its descriptor and instances are in use.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/plugin_abi.h"
#include "exportsync/status.hpp"

namespace exportsync::sdk::internal {

// --- Loading checks (docs/plugin-guide.md, "How the agent loads a plugin") -----------------------

/// The 1.0 descriptor ends with `destroy`: a smaller struct_size cannot be a 1.x plugin.
inline constexpr size_t kMinDescriptorSize = offsetof(es_plugin_v1, destroy) + sizeof(void (*)());

/// "plugin file '<path>' refused: ", the start of every refusal of a plugin file.
std::string refusedPrefix(const std::string& path);

/// Checks a plugin name against [a-z][a-z0-9-]{0,31}.
bool isValidPluginName(std::string_view name);

/// OK when `path` starts with the ELF magic number; else the refusal. `where` is refusedPrefix().
Status checkElfFile(const std::string& path, const std::string& where);

/// The refusal of a file the dynamic loader would not load, `why` being the loader's reason.
Status cannotLoad(const std::string& where, const std::string& why);

/// The refusal of a library without the entry symbol ES_PLUGIN_ENTRY_SYMBOL.
Status noEntrySymbol(const std::string& where);

/// Checks what the entry symbol returned (nullptr: no descriptor for this ABI major) before
/// anything else in it is read or called: ABI major, descriptor size, then name and callbacks.
/// @return OK, or Code::Invalid with a one-line reason starting with `where`.
Status checkDescriptor(const es_plugin_v1* d, const std::string& where);

// --- One call sequence: create → declare → configure → collect → destroy ------------------------

/// The step of a call sequence the host is in; host callbacks refuse calls out of their step.
enum class Phase { Create, Declare, Configure, Collect };

/// What every host keeps for one call sequence; a host's own context derives from it and is what
/// its es_host_ptr points to.
struct CallState {
  Phase phase = Phase::Create;
  std::string error;                  // set by set_error or by a refused callback
  std::vector<DatasetSpec> declared;  // by declare(), in order
};

/// Records `msg` as the reason of a refused callback and returns `code`.
es_status failCall(CallState& c, es_status code, std::string msg);

/// The declared dataset named `name`, or nullptr.
const DatasetSpec* findDeclared(const CallState& c, std::string_view name);

/// es_host_api.declare_dataset once its phase is checked: translates `decl`, checks it
/// (checkDatasetSpec(), declared twice) and records it in c.declared. ES_OK or ES_ERR_SCHEMA.
es_status declareDataset(CallState& c, const es_dataset_decl* decl);

/// A plugin call that returned `code`: "<step> failed: <c.error or (no reason given)>", with the
/// code kept when it is a known error code and Code::Internal otherwise.
Status callFailed(const CallState& c, es_status code, const char* step);

/// Owns one plugin instance for the length of a call sequence: calls create() on construction
/// and destroy() exactly once on destruction when create() returned an instance.
class PluginInstance {
 public:
  /// `host` is what the callbacks receive: the address of the host's context, which is (or
  /// derives from) `state`. `d`, `api` and `state` must outlive the instance.
  PluginInstance(const es_plugin_v1& d, const es_host_api& api, es_host_ptr host, CallState& state);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  /// OK, or "create() failed: …" when create() returned no instance.
  Status created() const;
  /// declare() in Phase::Declare, into a cleared state.declared; fails when the plugin fails or
  /// declares no dataset.
  Status declareAll();
  /// configure() in Phase::Configure.
  Status configure();
  /// collect() in Phase::Collect.
  Status collect();

 private:
  const es_plugin_v1& d_;
  const es_host_api& api_;
  es_host_ptr host_;
  CallState& state_;
  es_plugin_ptr self_ = nullptr;
};

}  // namespace exportsync::sdk::internal
