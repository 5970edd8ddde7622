// Helpers for the regional plugin tests (tests/integration/plugins): a plugin loaded through the
// agent runtime (es_agent_core: loadPluginFile, collectPlugin) and run in-process against a
// temporary Store with an inbox, and readers for what a run left behind: the stored rows (read
// with plain SQLite), the inbox's done/ and rejected/ folders and their reports. Also what the
// plugin tests build their cases from: an office's samples and settings, CSV files, today's
// date, the core datasets' queries.
//
//   PluginRig rig("industrie", "MA-07");
//   rig.useSamples("MA-07");  // config/samples/industrie/MA-07/: its file and its settings
//   const auto stats = rig.runOk();
//   EXPECT_EQ(rig.query(exportersSql("industrie")), (Rows{{"001534908000047", ...}}));
//   EXPECT_EQ(rig.errors("industrie-marrakech-safi-2024.csv")[0].reason, "...");
//
// THREAD: test thread only. OWNERSHIP: a PluginRig owns its temporary folder and removes it.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "exportsync/agent/plugin_runtime.hpp"
#include "exportsync/agent/store.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

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

using test_support::readFile;
using test_support::writeFile;

/// A source-tree file, e.g. "config/samples/industrie/MA-06/x.csv".
inline std::string sourcePath(const std::string& relative) {
  return std::string(ES_SOURCE_DIR) + "/" + relative;
}

/// Today as the plugins see it (local time), "YYYY-MM-DD", for the messages about future dates.
inline std::string todayIso() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  std::array<char, 16> buf{};
  return std::string(buf.data(), std::strftime(buf.data(), buf.size(), "%Y-%m-%d", &local));
}

/// Lines (a header, then records) as a UTF-8 CSV file with CRLF line ends, as Excel saves it.
inline std::string csv(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l + "\r\n";
  }
  return out;
}

/// The SQL table of one of `plugin`'s datasets in the agent store, e.g. csv_generic__exporters.
inline std::string tableOf(const std::string& plugin, const std::string& dataset) {
  std::string table = plugin;
  std::replace(table.begin(), table.end(), '-', '_');
  return table + "__" + dataset;
}

/// Every column of `plugin`'s core exporters dataset, ordered by exporter.
inline std::string exportersSql(const std::string& plugin) {
  return "SELECT exporter_id, id_kind, name, name_ar, legal_form, region, city, sector, "
         "size_class, employees, first_export_year FROM " +
         tableOf(plugin, "exporters") + " ORDER BY exporter_id";
}

/// Every column of `plugin`'s core export_flows dataset, in key order.
inline std::string exportFlowsSql(const std::string& plugin) {
  return "SELECT exporter_id, hs_code, destination, period, value_mad, quantity, quantity_unit "
         "FROM " +
         tableOf(plugin, "export_flows") + " ORDER BY exporter_id, hs_code, destination, period";
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
      : plugin_(std::move(plugin)), inbox_(dir_.sub("inbox")) {
    auto s = agent::Store::open(dir_.file("agent.db"));
    EXPECT_TRUE(s.isOk()) << s.status().message();
    if (s) {
      store_ = std::move(s).value();
    }
    settings_.region = std::move(region);
    settings_.values["inbox"] = inbox_;
    hooks_.log = [this](int level, const std::string& line) { logs_.emplace_back(level, line); };
    hooks_.cancel = &cancel_;
  }
  PluginRig(const PluginRig&) = delete;
  PluginRig& operator=(const PluginRig&) = delete;

  const std::string& dir() const { return dir_.path(); }
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
  /// The settings of a source-tree properties file for this plugin (its `plugin.<name>.` keys,
  /// `@INBOX@` replaced by the inbox), as installer/demo.sh appends them.
  std::map<std::string, std::string> sampleSettings(const std::string& relative) const {
    return readPluginProperties(sourcePath(relative), "plugin." + plugin_ + ".", inbox_);
  }
  /// Adds those settings to the current ones.
  void useSettings(const std::string& relative) {
    for (const auto& [key, value] : sampleSettings(relative)) {
      settings_.values[key] = value;
    }
  }
  /// An office's samples: every file of config/samples/<plugin>/<region>/ copied into the inbox,
  /// and the settings of its <plugin>.properties in use.
  void useSamples(const std::string& region) {
    const std::string folder = "config/samples/" + plugin_ + "/" + region;
    for (const auto& entry : fs::directory_iterator(sourcePath(folder))) {
      const std::string relative = folder + "/" + entry.path().filename().string();
      if (entry.path().extension() == ".properties") {
        useSettings(relative);
      } else {
        copySample(relative);
      }
    }
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
  // First, so that it goes last: the store is closed before its folder is removed.
  test_support::TempDir dir_{"es-plugin"};
  std::string plugin_;
  std::string inbox_;
  std::unique_ptr<agent::Store> store_;
  agent::PluginSettings settings_;
  agent::RuntimeHooks hooks_;
  std::atomic<bool> cancel_{false};
  std::vector<std::pair<int, std::string>> logs_;
};

}  // namespace exportsync::testing::plugins
