// A fake agent for ExportSync::files tests: the es_host_api a CollectContext talks to, with a run
// transaction like the agent's (agent/src/plugin_runtime.cpp): upserts and state writes are kept
// only on commit(), and renameAfterCommit() requests run, in order, with std::rename after it.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exportsync/plugin.hpp"

namespace exportsync::files::testing {

class FakeHost {
 public:
  explicit FakeHost(std::string plugin = "souss") : plugin_(std::move(plugin)) {
    schema_.dataset("exporters", 1)
        .key("ice", ColumnType::Text)
        .column("name", ColumnType::Text)
        .nullable("city", ColumnType::Text);
  }

  /// A CollectContext for one run; begin a new one after commit() or rollback().
  CollectContext& context() {
    context_ = std::make_unique<CollectContext>(detail::Call{&api(), ctx()}, schema_, plugin_);
    return *context_;
  }

  /// Ends the run like the agent after a successful collect: keeps rows and state, then renames.
  void commit() {
    for (auto& [k, v] : pending_rows_) {
      rows[k] = std::move(v);
    }
    for (auto& [k, v] : pending_state_) {
      state[k] = std::move(v);
    }
    for (const auto& [from, to] : pending_renames_) {
      if (std::rename(from.c_str(), to.c_str()) != 0) {
        failed_renames.emplace_back(from, to);
      }
    }
    clearPending();
  }
  /// Ends the run like the agent after a failed collect: nothing is kept, nothing renamed.
  void rollback() { clearPending(); }

  // Observations.
  std::map<std::string, std::string> config;       // short keys
  std::map<std::string, std::string> state;        // committed
  std::map<std::string, std::vector<Value>> rows;  // committed, by key
  std::vector<Rejection> rejections;               // reported in the current and past runs
  std::vector<std::pair<std::string, std::string>> failed_renames;
  std::vector<std::string> logs;
  bool cancel = false;
  /// Upserts whose key equals this are refused like a store would refuse them.
  std::string refuse_key = "REFUSE";
  size_t pendingRenames() const { return pending_renames_.size(); }
  const std::vector<std::pair<std::string, std::string>>& renames() const {
    return pending_renames_;
  }

 private:
  es_host_ptr ctx() { return reinterpret_cast<es_host_ptr>(this); }
  static FakeHost& of(es_host_ptr p) { return *reinterpret_cast<FakeHost*>(p); }
  es_status fail(es_status code, std::string msg) {
    error_ = std::move(msg);
    return code;
  }
  void clearPending() {
    pending_rows_.clear();
    pending_state_.clear();
    pending_renames_.clear();
  }

  static const es_host_api& api() {
    static const es_host_api kApi = [] {
      es_host_api a{};
      a.abi_major = ES_ABI_MAJOR;
      a.abi_minor = ES_ABI_MINOR;
      a.struct_size = sizeof(es_host_api);
      a.set_error = [](es_host_ptr p, const char* msg, size_t len) {
        of(p).error_.assign(msg, len);
      };
      a.last_error = [](es_host_ptr p, const char** msg, size_t* len) {
        *msg = of(p).error_.c_str();
        *len = of(p).error_.size();
      };
      a.log = [](es_host_ptr p, es_log_level, const char* msg, size_t len) {
        of(p).logs.emplace_back(msg, len);
      };
      a.config_get = [](es_host_ptr p, const char* key, size_t key_len, const char** value,
                        size_t* value_len) -> int32_t {
        auto& h = of(p);
        auto it = h.config.find(std::string(key, key_len));
        if (it == h.config.end()) {
          return 0;
        }
        *value = it->second.data();
        *value_len = it->second.size();
        return 1;
      };
      a.config_key_at = [](es_host_ptr, size_t, const char**, size_t*) -> int32_t { return 0; };
      a.region = [](es_host_ptr, const char** code, size_t* len) {
        *code = "MA-09";
        *len = 5;
      };
      a.sink_upsert = [](es_host_ptr p, const char* dataset, size_t dataset_len,
                         const es_value* values, size_t count) -> es_status {
        auto& h = of(p);
        if (std::string(dataset, dataset_len) != "exporters" || count != 3) {
          return h.fail(ES_ERR_INVALID, "unexpected upsert");
        }
        std::vector<Value> row;
        for (size_t i = 0; i < count; ++i) {
          row.push_back(Value::fromAbi(values[i]));
        }
        const auto& key = std::get<std::string>(row[0].storage());
        if (key == h.refuse_key) {
          return h.fail(ES_ERR_INVALID, "dataset 'exporters': column 'ice' refused by the store");
        }
        h.pending_rows_[key] = std::move(row);
        return ES_OK;
      };
      a.reject = [](es_host_ptr p, const char* source, size_t source_len, uint64_t line,
                    const char* column, size_t column_len, const char* value, size_t value_len,
                    const char* reason, size_t reason_len) -> es_status {
        of(p).rejections.push_back({std::string(source, source_len), line,
                                    std::string(column, column_len), std::string(value, value_len),
                                    std::string(reason, reason_len)});
        return ES_OK;
      };
      a.state_get = [](es_host_ptr p, const char* key, size_t key_len, const char** value,
                       size_t* value_len) -> int32_t {
        auto& h = of(p);
        const std::string k(key, key_len);
        auto it = h.pending_state_.find(k);
        if (it == h.pending_state_.end()) {
          it = h.state.find(k);
          if (it == h.state.end()) {
            return 0;
          }
        }
        h.scratch_ = it->second;
        *value = h.scratch_.data();
        *value_len = h.scratch_.size();
        return 1;
      };
      a.state_put = [](es_host_ptr p, const char* key, size_t key_len, const char* value,
                       size_t value_len) -> es_status {
        of(p).pending_state_[std::string(key, key_len)] = std::string(value, value_len);
        return ES_OK;
      };
      a.cancelled = [](es_host_ptr p) -> int32_t { return of(p).cancel ? 1 : 0; };
      a.rename_after_commit = [](es_host_ptr p, const char* from, size_t from_len, const char* to,
                                 size_t to_len) -> es_status {
        auto& h = of(p);
        if (from_len == 0 || to_len == 0 || from[0] != '/' || to[0] != '/') {
          return h.fail(ES_ERR_INVALID, "rename_after_commit takes absolute paths");
        }
        h.pending_renames_.emplace_back(std::string(from, from_len), std::string(to, to_len));
        return ES_OK;
      };
      return a;
    }();
    return kApi;
  }

  std::string plugin_;
  Schema schema_;
  std::unique_ptr<CollectContext> context_;
  std::string error_;
  std::string scratch_;
  std::map<std::string, std::vector<Value>> pending_rows_;
  std::map<std::string, std::string> pending_state_;
  std::vector<std::pair<std::string, std::string>> pending_renames_;
};

}  // namespace exportsync::files::testing
