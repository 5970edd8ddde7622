// Helpers for the regional plugin tests (tests/integration/plugins): a plugin loaded through the
// agent runtime (es_agent_core: loadPluginFile, collectPlugin) and run in-process against a
// temporary Store with an inbox, and readers for what a run left behind: the stored rows (read
// with plain SQLite), the inbox's done/ and rejected/ folders and their reports.
//
//   PluginRig rig("industrie", "MA-06");
//   rig.copySample("config/samples/industrie/MA-06/ventes.csv");
//   const auto stats = rig.runOk();
//   EXPECT_EQ(rig.query("SELECT name FROM industrie__exporters"), (Rows{{"Atlas"}}));
//   EXPECT_EQ(rig.errors("ventes.csv")[0].reason, "...");
//
// THREAD: test thread only. OWNERSHIP: a PluginRig owns its temporary folder and removes it.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "exportsync/agent/plugin_runtime.hpp"
#include "exportsync/agent/store.hpp"

namespace exportsync::testing::plugins {

namespace fs = std::filesystem;

/// Rows of a query, every value as text ("NULL" for null; reals as SQLite prints them).
using Rows = std::vector<std::vector<std::string>>;

/// One line of a rejected/<file>.errors.csv report.
struct ErrorLine {
  std::string line;
  std::string column;
  std::string value;
  std::string reason;
  bool operator==(const ErrorLine& o) const {
    return line == o.line && column == o.column && value == o.value && reason == o.reason;
  }
};
inline std::ostream& operator<<(std::ostream& out, const ErrorLine& e) {
  return out << "{" << e.line << " | " << e.column << " | " << e.value << " | " << e.reason << "}";
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// A source-tree file, e.g. "config/samples/industrie/MA-06/x.csv".
inline std::string sourcePath(const std::string& relative) {
  return std::string(ES_SOURCE_DIR) + "/" + relative;
}

/// Parses `;`-separated CSV with RFC 4180 quotes (as the inbox writes its reports); a leading
/// UTF-8 BOM is dropped.
inline std::vector<std::vector<std::string>> parseSemicolonCsv(std::string text) {
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) {
    text.erase(0, 3);
  }
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ';') {
      record.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      if (any || !field.empty()) {
        record.push_back(std::move(field));
        out.push_back(std::move(record));
      }
      record.clear();
      field.clear();
      any = false;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || !field.empty()) {
    record.push_back(std::move(field));
    out.push_back(std::move(record));
  }
  return out;
}

/// Reads `key = value` lines of a properties file (comments and blank lines skipped) whose key
/// starts with `prefix`, with the prefix removed and every `@INBOX@` replaced by `inbox`, as
/// installer/demo.sh appends config/samples/<plugin>/<MA-NN>/<plugin>.properties.
inline std::map<std::string, std::string> readPluginProperties(const std::string& path,
                                                               const std::string& prefix,
                                                               const std::string& inbox) {
  std::map<std::string, std::string> out;
  std::istringstream in(readFile(path));
  std::string line;
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t\r");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') {
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    const std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    for (size_t at = value.find("@INBOX@"); at != std::string::npos; at = value.find("@INBOX@")) {
      value.replace(at, 7, inbox);
    }
    if (key.rfind(prefix, 0) == 0) {
      out[key.substr(prefix.size())] = value;
    }
  }
  return out;
}

/// <build>/plugins/<name>.so, loaded once per process: libraries are never unloaded
/// (STYLE.md §2). Fails the test when it cannot be loaded.
inline const agent::LoadedPlugin& loadedPlugin(const std::string& name) {
  static auto* cache = new std::map<std::string, std::unique_ptr<agent::LoadedPlugin>>();
  auto it = cache->find(name);
  if (it == cache->end()) {
    auto p = agent::loadPluginFile(std::string(ES_PLUGIN_DIR) + "/" + name + ".so");
    if (!p) {
      ADD_FAILURE() << p.status().message();
      std::abort();
    }
    it = cache->emplace(name, std::make_unique<agent::LoadedPlugin>(std::move(p).value())).first;
  }
  return *it->second;
}

/// A temporary folder with an agent store (agent.db) and an inbox, and the collect runs of one
/// plugin against them. `settings()["inbox"]` is preset to the inbox.
class PluginRig {
 public:
  explicit PluginRig(std::string plugin, std::string region = "MA-06")
      : plugin_(std::move(plugin)) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/es-plugin-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << tmpl;
    }
    dir_ = tmpl;
    inbox_ = dir_ + "/inbox";
    fs::create_directories(inbox_);
    auto s = agent::Store::open(dir_ + "/agent.db");
    EXPECT_TRUE(s.isOk()) << s.status().message();
    if (s) {
      store_ = std::move(s).value();
    }
    settings_.region = std::move(region);
    settings_.values["inbox"] = inbox_;
    hooks_.log = [this](int level, const std::string& line) { logs_.emplace_back(level, line); };
    hooks_.cancel = &cancel_;
  }
  ~PluginRig() {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  PluginRig(const PluginRig&) = delete;
  PluginRig& operator=(const PluginRig&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& inbox() const { return inbox_; }
  std::map<std::string, std::string>& settings() { return settings_.values; }
  agent::Store& store() { return *store_; }
  const std::vector<std::pair<int, std::string>>& logs() const { return logs_; }
  std::atomic<bool>& cancel() { return cancel_; }

  /// Puts a file in the inbox.
  void dropFile(const std::string& name, const std::string& bytes) {
    writeFile(inbox_ + "/" + name, bytes);
  }
  /// Copies a source-tree file (e.g. a sample) into the inbox under its own name.
  void copySample(const std::string& relative) {
    const fs::path from = sourcePath(relative);
    fs::copy_file(from, fs::path(inbox_) / from.filename(), fs::copy_options::overwrite_existing);
  }

  /// One collect run: create → declare → configure → collect → commit or roll back.
  Status run(agent::RunStats& stats) {
    return agent::collectPlugin(loadedPlugin(plugin_), *store_, settings_, hooks_, stats);
  }
  /// A run that must succeed.
  agent::RunStats runOk() {
    agent::RunStats stats;
    const Status st = run(stats);
    EXPECT_TRUE(st.isOk()) << st.message();
    return stats;
  }
  /// describe: create → declare → destroy.
  Result<agent::Description> describe() {
    return agent::describePlugin(loadedPlugin(plugin_), settings_, hooks_);
  }

  /// Rows of `sql` on the store's database, through a separate read-only connection.
  Rows query(const std::string& sql) const {
    Rows out;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(store_->path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << store_->path();
      sqlite3_close(db);
      return out;
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
      sqlite3_close(db);
      return out;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const auto* text = sqlite3_column_text(stmt, i);
        row.emplace_back(text == nullptr ? "NULL" : reinterpret_cast<const char*>(text));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }
  /// Number of entries in the change log.
  int64_t changes() const { return store_->changeCount().value(); }

  /// File names in a folder of the inbox ("" for the inbox itself, "done", "rejected"), sorted;
  /// hidden files included.
  std::vector<std::string> files(const std::string& sub = "") const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(sub.empty() ? inbox_ : inbox_ + "/" + sub, ec)) {
      if (e.is_regular_file()) {
        out.push_back(e.path().filename().string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  /// rejected/<file>.errors.csv, without its header line.
  std::vector<ErrorLine> errors(const std::string& file) const {
    std::vector<ErrorLine> out;
    const auto rows = parseSemicolonCsv(readFile(inbox_ + "/rejected/" + file + ".errors.csv"));
    for (size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      out.push_back({r.size() > 0 ? r[0] : "", r.size() > 1 ? r[1] : "", r.size() > 2 ? r[2] : "",
                     r.size() > 3 ? r[3] : ""});
    }
    return out;
  }
  /// rejected/<file>.reason.txt, without its BOM and line end.
  std::string reason(const std::string& file) const {
    std::string text = readFile(inbox_ + "/rejected/" + file + ".reason.txt");
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) {
      text.erase(0, 3);
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    return text;
  }

 private:
  std::string plugin_;
  std::string dir_;
  std::string inbox_;
  std::unique_ptr<agent::Store> store_;
  agent::PluginSettings settings_;
  agent::RuntimeHooks hooks_;
  std::atomic<bool> cancel_{false};
  std::vector<std::pair<int, std::string>> logs_;
};

}  // namespace exportsync::testing::plugins
