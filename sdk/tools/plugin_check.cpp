// exportsync-plugin-check: checks a plugin's .so the way the agent will see it, before it is
// installed on an office machine. Built on the SDK's test harness (ExportSync::testing).
//
//   exportsync-plugin-check build/my-plugin.so --sample samples/exportateurs.csv
//
// Checks, in order: the file loads as the agent loads it (ELF, dlopen, entry symbol, ABI major,
// descriptor size, name, callbacks); declare() succeeds, declares valid datasets and gives the
// same answer twice; core datasets (exporters, export_flows) match the SDK's declaration; with
// --sample (or --run): configure() and collect() succeed, and rows come out of the samples.
// Prints what the plugin is and what it produced; each problem is one line on stderr.
// Exit status: 0 every check passed, 1 the plugin has a problem, 2 bad usage.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "exportsync/core_datasets.hpp"
#include "exportsync/dataset.hpp"
#include "exportsync/plugin_abi.h"
#include "exportsync/testing/harness.hpp"

namespace {

namespace testing = exportsync::testing;
using exportsync::DatasetSpec;

constexpr int kExitOk = 0;
constexpr int kExitProblem = 1;
constexpr int kExitUsage = 2;
constexpr const char* kTool = "exportsync-plugin-check";

constexpr const char* kUsage =
    "usage: exportsync-plugin-check PLUGIN.so [--sample FILE]... [--config KEY=VALUE]...\n"
    "                               [--region MA-NN] [--inbox-key KEY] [--rows N] [--run]\n"
    "\n"
    "Checks an ExportSync plugin as the agent will load it: its ABI, its declared datasets\n"
    "and, with --sample, what it collects from sample files.\n"
    "\n"
    "  --sample FILE       copy FILE into a temporary inbox, set the plugin's config key\n"
    "                      'inbox' to it (see --inbox-key) and run collect; repeatable\n"
    "  --config KEY=VALUE  a plugin setting, short key (plugin.<name>.KEY); repeatable\n"
    "  --region MA-NN      the office region the plugin sees (default MA-06)\n"
    "  --inbox-key KEY     config key that names the inbox folder (default inbox)\n"
    "  --rows N            rows shown per dataset (default 5)\n"
    "  --run               run collect even without a sample (a plugin that reads no files)\n"
    "\n"
    "Exit status: 0 every check passed; 1 the plugin has a problem (one 'problem:' line\n"
    "each on stderr); 2 bad usage.\n";

struct Options {
  std::string plugin;
  std::vector<std::string> samples;
  std::map<std::string, std::string> config;
  std::string region = "MA-06";
  std::string inbox_key = "inbox";
  size_t rows = 5;
  bool run = false;
};

int usageError(const std::string& msg) {
  std::cerr << kTool << ": " << msg << "; run " << kTool << " --help for usage\n";
  return kExitUsage;
}

bool isReadableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), R_OK) == 0;
}

// Parses argv into `out`; returns an error message, empty when fine.
std::string parse(int argc, char** argv, Options& out, bool& help) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&](std::string& v) {
      if (i + 1 >= argc) {
        return false;
      }
      v = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "-h" || arg == "--help") {
      help = true;
    } else if (arg == "--run") {
      out.run = true;
    } else if (arg == "--sample" || arg == "--config" || arg == "--region" ||
               arg == "--inbox-key" || arg == "--rows") {
      if (!value(v)) {
        return arg + " needs a value";
      }
      if (arg == "--sample") {
        if (!isReadableFile(v)) {
          return "--sample '" + v + "': no such readable file";
        }
        out.samples.push_back(v);
      } else if (arg == "--config") {
        const auto eq = v.find('=');
        if (eq == std::string::npos || eq == 0) {
          return "--config '" + v + "': write KEY=VALUE, e.g. --config encoding=windows-1252";
        }
        out.config[v.substr(0, eq)] = v.substr(eq + 1);
      } else if (arg == "--region") {
        out.region = v;
      } else if (arg == "--inbox-key") {
        out.inbox_key = v;
      } else {
        char* end = nullptr;
        const long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < 0 || n > 1000) {
          return "--rows '" + v + "': give a number from 0 to 1000";
        }
        out.rows = static_cast<size_t>(n);
      }
    } else if (!arg.empty() && arg[0] == '-') {
      return "unknown option '" + arg + "'";
    } else if (out.plugin.empty()) {
      out.plugin = arg;
    } else {
      return "one plugin file at a time; '" + arg + "' is a second one";
    }
  }
  if (!help && out.plugin.empty()) {
    return "give the plugin's .so file";
  }
  return {};
}

class Checker {
 public:
  explicit Checker(Options options) : o_(std::move(options)) {}

  int run() {
    std::cout << kTool << ": " << o_.plugin << "\n";
    auto loaded = testing::Harness::load(o_.plugin);
    if (!loaded) {
      problem(loaded.status().message());
      return finish("");
    }
    testing::Harness& h = *loaded;
    std::cout << "plugin      " << h.name() << " " << h.version() << ": " << h.description()
              << "\n";
    std::cout << "ABI         " << h.abiMajor() << "." << h.abiMinor() << ", descriptor "
              << h.descriptorSize() << " bytes (this SDK: ABI " << ES_ABI_MAJOR << "."
              << ES_ABI_MINOR << ", " << sizeof(es_plugin_v1) << " bytes)\n";
    if (h.abiMinor() > ES_ABI_MINOR) {
      note("built against a newer SDK (ABI " + std::to_string(h.abiMajor()) + "." +
           std::to_string(h.abiMinor()) + "); agents of ABI " + std::to_string(ES_ABI_MAJOR) + "." +
           std::to_string(ES_ABI_MINOR) + " load it but ignore what the newer minor adds");
    }
    h.config(o_.config).region(o_.region);
    if (checkDeclare(h) && problems_ == 0 && (!o_.samples.empty() || o_.run)) {
      checkRun(h);
    }
    return finish(h.name());
  }

 private:
  bool checkDeclare(testing::Harness& h) {
    auto first = h.describe();
    if (!first) {
      problem("plugin '" + h.name() + "': " + first.status().message());
      return false;
    }
    auto second = h.describe();
    bool same = second.isOk() && second->size() == first->size();
    for (size_t i = 0; same && i < first->size(); ++i) {
      same = sameSpec((*first)[i], (*second)[i]);
    }
    std::cout << "datasets    " << first->size() << " declared"
              << (same ? ", declare() repeatable" : "") << "\n";
    if (!same) {
      problem("declare() gave another answer the second time (" +
              (second ? std::to_string(second->size()) + " datasets" : second.status().message()) +
              "); it must declare the same datasets every time, from code alone");
    }
    for (const auto& spec : *first) {
      printSpec(spec);
      checkCore(spec);
    }
    return true;
  }

  void printSpec(const DatasetSpec& spec) {
    std::string key;
    for (size_t i : spec.keyIndexes()) {
      key += (key.empty() ? "" : ", ") + spec.columns[i].name;
    }
    std::cout << "  " << spec.name << " v" << spec.version << " (" << spec.columns.size()
              << " columns, key " << key << ")\n";
    for (const auto& c : spec.columns) {
      std::cout << "    " << std::left << std::setw(24) << c.name << std::setw(10)
                << exportsync::typeName(c.type)
                << (c.key ? "key" : (c.nullable ? "nullable" : "required")) << "\n";
    }
  }

  static bool sameSpec(const DatasetSpec& a, const DatasetSpec& b) {
    if (a.name != b.name || a.version != b.version || a.columns.size() != b.columns.size()) {
      return false;
    }
    for (size_t i = 0; i < a.columns.size(); ++i) {
      const auto& x = a.columns[i];
      const auto& y = b.columns[i];
      if (x.name != y.name || x.type != y.type || x.key != y.key || x.nullable != y.nullable) {
        return false;
      }
    }
    return true;
  }

  // A dataset named like a core dataset must be the core dataset: the hub reads them together.
  void checkCore(const DatasetSpec& spec) {
    DatasetSpec core;
    std::string how;
    if (spec.name == exportsync::core::kExporters) {
      core = exportsync::core::exportersSpec();
      how = "exportsync::core::declareExporters(schema)";
    } else if (spec.name == exportsync::core::kExportFlows) {
      core = exportsync::core::exportFlowsSpec();
      how = "exportsync::core::declareExportFlows(schema)";
    } else {
      return;
    }
    if (spec.version > core.version) {
      note("dataset '" + spec.name + "' v" + std::to_string(spec.version) +
           " is newer than this SDK's core declaration (v" + std::to_string(core.version) +
           "); not compared");
    } else if (!sameSpec(spec, core)) {
      problem("dataset '" + spec.name + "' is a core dataset but is not declared as the SDK " +
              "declares it (v" + std::to_string(core.version) + ", " +
              std::to_string(core.columns.size()) + " columns); declare it with " + how);
    }
  }

  void checkRun(testing::Harness& h) {
    std::vector<std::string> copied;
    try {
      if (!o_.samples.empty()) {
        (void)h.inbox(o_.inbox_key);
      }
      for (const auto& s : o_.samples) {
        copied.push_back(h.copyToInbox(s));
      }
    } catch (const exportsync::Error& e) {
      problem(e.what());
      return;
    }
    std::cout << "run         region " << o_.region << "; config:";
    for (const auto& [k, v] : h.config()) {
      std::cout << " " << k << "=" << v;
    }
    std::cout << (h.config().empty() ? " (none)" : "") << "\n";
    for (const auto& s : o_.samples) {
      std::cout << "  sample    " << s << "\n";
    }
    const testing::RunResult r = h.run();
    for (const auto& l : r.logs) {
      std::cout << "  log       " << levelName(l.level) << ": " << l.message << "\n";
    }
    if (!r.ok()) {
      std::cout << "  collect run FAILED, rolled back (" << r.upserted << " upserts, " << r.removed
                << " removes undone): " << r.status.message() << "\n";
      problem("plugin '" + h.name() + "' run: " + r.status.message());
      printCalls(r);
      return;
    }
    std::cout << "  collect run ok: " << r.upserted << " upserted, " << r.removed << " removed, "
              << r.rejections.size() << " rejected, " << r.refused << " refused by the sink\n";
    for (const auto& spec : r.datasets) {  // in declared order
      const auto& rows = r.rows(spec.name);
      std::cout << "  " << spec.name << ": " << rows.size() << " rows\n";
      size_t shown = 0;
      for (const auto& row : rows.all()) {
        if (shown++ == o_.rows) {
          std::cout << "    ...\n";
          break;
        }
        std::cout << "    " << row.toString() << "\n";
      }
    }
    for (const auto& rej : r.rejections) {
      std::cout << "  rejected  " << rej.toString() << "\n";
    }
    printCalls(r);
    for (const auto& rn : r.renames) {
      std::cout << "  renamed   " << rn.from << " -> " << rn.to
                << (rn.done ? "" : " FAILED: " + rn.error) << "\n";
      if (!rn.done) {
        note("rename after commit failed: '" + rn.from + "' -> '" + rn.to + "': " + rn.error +
             "; the agent would log a warning and leave the file");
      }
    }
    if (!o_.samples.empty() && r.upserted + r.removed == 0) {
      problem("plugin '" + h.name() + "' wrote no row from the sample file(s) (" +
              std::to_string(r.rejections.size()) + " rejected, " + std::to_string(r.refused) +
              " refused by the sink); check the file format and the config keys (--config, "
              "--inbox-key)");
    }
    for (const auto& path : copied) {
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0) {
        note("sample '" + path +
             "' is still in the inbox after a successful run; a plugin "
             "built on ExportSync::files moves it to done/ or rejected/");
      }
    }
  }

  void printCalls(const testing::RunResult& r) {
    size_t shown = 0;
    for (const auto& c : r.calls) {
      if (!c.status.isOk() && shown++ < 20) {
        std::cout << "  refused   " << (c.op == testing::SinkCall::Op::Upsert ? "upsert" : "remove")
                  << " into '" << c.dataset << "': " << c.status.message() << "\n";
      }
    }
  }

  static const char* levelName(es_log_level level) {
    switch (level) {
      case ES_LOG_ERROR: return "error";
      case ES_LOG_WARNING: return "warning";
      case ES_LOG_NOTICE: return "notice";
      case ES_LOG_INFO: return "info";
      case ES_LOG_DEBUG: return "debug";
      default: return "log";
    }
  }

  void problem(const std::string& msg) {
    std::cerr << "problem: " << msg << "\n";
    ++problems_;
  }
  static void note(const std::string& msg) { std::cout << "note: " << msg << "\n"; }

  int finish(const std::string& name) const {
    const std::string who = name.empty() ? o_.plugin : name;
    if (problems_ == 0) {
      std::cout << "OK: " << who << " passed every check\n";
      return kExitOk;
    }
    std::cout << "FAILED: " << who << ": " << problems_ << " problem" << (problems_ == 1 ? "" : "s")
              << " (see stderr)\n";
    return kExitProblem;
  }

  Options o_;
  int problems_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool help = false;
  if (auto err = parse(argc, argv, options, help); !err.empty()) {
    return usageError(err);
  }
  if (help) {
    std::cout << kUsage;
    return kExitOk;
  }
  try {
    return Checker(std::move(options)).run();
  } catch (const std::exception& e) {
    std::cerr << "problem: " << kTool << " failed: " << e.what() << "\n";
    return kExitProblem;
  }
}
