// exportsync-industrie-bench: parsing and validating an industrie office file through the
// plugin into the store, and where the time goes.
//
// A CSV of N lines of the industrie kind (`;`, French amounts, ~2,000 firms, realistic HS codes
// and destinations, ~3 % of lines sharing a key with another line, 1 line in 1,000 bad) is
// written once. Then, R times each:
//   parse     read the file and split it into records (ExportSync::files: decode, CSV);
//   validate  parse + what the plugin does before the sink: header aliases, every field
//             validated, lines summed per key, core rows built (industrie::readRecords, toRow);
//   hash      SHA-256 of the file (the inbox's exactly-once key);
//   collect   the whole plugin run: industrie.so loaded in this process and run by
//             collectPlugin() against a fresh Store (WAL, change capture) with the file in its
//             inbox: listing, reading, hashing, parsing, validating, sink upserts, commit
//             (fsync), errors report, move to done/.
// Medians (and min/max) of wall and CPU time are printed, rows/s end to end, and the shares of
// the collect run: parse, validation, hash, and the rest (sink, SQLite with triggers, commit,
// inbox bookkeeping) — stage differences of medians, so they are estimates on a noisy machine.
//
// Numbers only mean something in a release build. No timed asserts: the process fails only when
// something did not run or stored the wrong number of rows.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "exportsync/agent/plugin_runtime.hpp"
#include "exportsync/agent/store.hpp"
#include "exportsync/files/inbox.hpp"
#include "exportsync/files/table.hpp"
#include "industrie_table.hpp"
#include "support/files.hpp"

namespace exportsync::bench {
namespace {

namespace fs = std::filesystem;
using test_support::readFile;

constexpr double kTargetRate = 100'000.0;  // rows/s end to end (issue: industrie benchmark)
const char* const kFileName = "industrie-bench.csv";

struct Options {
  int64_t rows = 100'000;
  int reps = 5;
  bool smoke = false;
  bool keep = false;
  std::string only;  // run one stage (for profiling): parse, validate, hash or collect
  std::string dir;
  std::string plugin = ES_INDUSTRIE_PLUGIN;
};

void usage() {
  std::printf(
      "usage: exportsync-industrie-bench [--rows N] [--reps R] [--smoke] [--dir PARENT] "
      "[--keep] [--only parse|validate|hash|collect] [--plugin industrie.so]\n");
}

Options parseOptions(int argc, char** argv) {
  Options o;
  for (ArgReader args(argc, argv); args.next();) {
    const std::string& a = args.flag();
    if (a == "--rows") {
      o.rows = std::max<int64_t>(10, std::atoll(args.value()));
    } else if (a == "--reps") {
      o.reps = std::max(1, std::atoi(args.value()));
    } else if (a == "--smoke") {
      o.smoke = true;
      o.rows = 2000;
      o.reps = 1;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--only") {
      o.only = args.value();
      if (o.only != "parse" && o.only != "validate" && o.only != "hash" && o.only != "collect") {
        die("--only takes parse, validate, hash or collect");
      }
    } else if (a == "--dir") {
      o.dir = args.value();
    } else if (a == "--plugin") {
      o.plugin = args.value();
    } else {
      args.unknown(usage);
    }
  }
  return o;
}

// --- Timing ------------------------------------------------------------------------------

struct Stage {
  const char* name;
  std::vector<double> wall;
  std::vector<double> cpu;
  void add(Timing t) {
    wall.push_back(t.wall);
    cpu.push_back(t.cpu);
  }
};

// --- The file ----------------------------------------------------------------------------

struct SectorData {
  const char* label;
  std::vector<const char*> hs;
};

// Deterministic pseudo-random numbers (a 64-bit LCG; quality is not the point).
class Random {
 public:
  uint64_t next(uint64_t bound) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state_ >> 33) % bound;
  }

 private:
  uint64_t state_ = 42;
};

struct Generated {
  std::string text;
  int64_t bad_lines = 0;
};

Generated makeFile(int64_t rows) {
  const std::vector<SectorData> sectors = {
      {"Câblage automobile", {"8544300000", "8708299000", "8708999000"}},
      {"Aéronautique", {"8803300000", "8411910000"}},
      {"Textile et habillement", {"6204620000", "6109100000", "6203420000", "6110200000"}},
      {"Agroalimentaire", {"1509200000", "2008999000", "2005700000"}},
      {"Industrie pharmaceutique", {"3004900000", "3004200000"}},
      {"Électronique", {"8536690000", "8542310000"}},
      {"Chimie et parachimie", {"3105300000", "2809201000"}},
      {"Conserves de poisson", {"1604131000", "0303530000", "0307430000"}},
      {"Agrumes", {"0805102000", "0805211000", "0702000000"}},
  };
  const std::vector<const char*> destinations = {"FR", "ES", "DE", "IT", "US", "GB", "NL",
                                                 "BE", "PT", "SN", "CI", "MR", "BR", "IN",
                                                 "CA", "RU", "TR", "CN", "EG", "AE"};
  const std::vector<const char*> cities = {"Casablanca", "Mohammedia", "Berrechid", "Settat",
                                           "Nouaceur",   "El Jadida",  "Safi",      "Agadir"};
  const int64_t firms = std::max<int64_t>(10, std::min<int64_t>(2000, rows / 50));
  Random rnd;
  Generated out;
  out.text.reserve(static_cast<size_t>(rows) * 120);
  out.text +=
      "ICE;Raison sociale;Secteur;Effectif;Ville;Code SH;Pays de destination;Mois;Valeur FOB "
      "(MAD);Poids net (kg)\r\n";
  char line[512];
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t firm = static_cast<int64_t>(rnd.next(static_cast<uint64_t>(firms)));
    const SectorData& sector = sectors[static_cast<size_t>(firm) % sectors.size()];
    const char* hs = sector.hs[rnd.next(sector.hs.size())];
    const char* dest = destinations[rnd.next(destinations.size())];
    const int month = 1 + static_cast<int>(rnd.next(12));
    const auto dirhams = static_cast<long long>(1000 + rnd.next(50'000'000));
    const auto centimes = static_cast<int>(rnd.next(100));
    const auto kg = static_cast<long long>(10 + rnd.next(2'000'000));
    char ice[32];
    std::snprintf(ice, sizeof ice, "%015lld",
                  static_cast<long long>(1'000'000'000'000LL + firm * 7'919'000LL + firm % 89));
    char name[96];
    if (firm % 2 == 0) {
      std::snprintf(name, sizeof name, "Société Industrielle Atlas %lld SARL",
                    static_cast<long long>(firm));
    } else {
      std::snprintf(name, sizeof name, "Maghreb Export Industries %lld SA",
                    static_cast<long long>(firm));
    }
    char mois[32];
    std::snprintf(mois, sizeof mois, "%02d/2024", month);
    char value[48];
    std::snprintf(value, sizeof value, "%lld,%02d", dirhams, centimes);
    if (i % 1000 == 999) {  // one bad line in 1,000, of the kinds offices make
      ++out.bad_lines;
      switch ((i / 1000) % 5) {
        case 0: std::snprintf(ice, sizeof ice, "%014lld", 1'234'567'890'123LL); break;
        case 1: hs = "7708990000"; break;
        case 2: dest = "UK"; break;
        case 3: std::snprintf(value, sizeof value, "12,5,0"); break;
        default: std::snprintf(mois, sizeof mois, "13/2024"); break;
      }
    }
    const int n = std::snprintf(line, sizeof line, "%s;%s;%s;%lld;%s;%s;%s;%s;%s;%lld%s\r\n", ice,
                                name, sector.label, static_cast<long long>(20 + firm % 900),
                                cities[static_cast<size_t>(firm) % cities.size()], hs, dest, mois,
                                value, kg, i % 7 == 0 ? ",5" : "");
    out.text.append(line, static_cast<size_t>(n));
  }
  return out;
}

// --- Stages ------------------------------------------------------------------------------

struct Parsed {
  files::Header header;
  std::vector<files::Record> records;
};

Parsed parse(const std::string& path) {
  auto table = files::openTableFromBytes(readFile(path), files::TableFormat::Csv, kFileName, {});
  check(table.isOk(), "open: " + table.status().message());
  auto records = files::readAll(**table);
  check(records.isOk(), "read: " + records.status().message());
  return {(*table)->header(), std::move(*records)};
}

struct Validated {
  size_t exporters = 0;
  size_t flows = 0;
  size_t rejected = 0;  // bad cells
};

Validated validate(const Parsed& p) {
  industrie::ParseOptions options;
  options.office_region = "MA-06";
  industrie::Batch batch;
  Validated v;
  const auto st = industrie::readRecords(p.header, p.records, options, batch,
                                         [&v](size_t, industrie::Problem&&) { ++v.rejected; });
  check(st.isOk(), "readRecords: " + st.message());
  for (const auto& e : batch.exporters()) {
    check(e.row.toRow().isOk(), "exporter row");
  }
  for (const industrie::Batch::Flow* f : batch.flowsInKeyOrder()) {
    check(!industrie::Batch::flowRow(*f).fields().empty(), "flow row");
  }
  v.exporters = batch.exporters().size();
  v.flows = batch.flows().size();
  return v;
}

void printStage(const Stage& s, int64_t rows) {
  const Summary w = summarize(s.wall);
  const Summary c = summarize(s.cpu);
  std::printf("  %-9s wall %8.1f ms (min %7.1f, max %7.1f)  cpu %8.1f ms   %10.0f rows/s\n", s.name,
              w.median * 1e3, w.min * 1e3, w.max * 1e3, c.median * 1e3,
              static_cast<double>(rows) / w.median);
}

// The program; main() calls it.
int run(int argc, char** argv) {
  setProgramName("exportsync-industrie-bench");
  const Options o = parseOptions(argc, argv);
  ScratchDir scratch(o.dir.empty() ? test_support::tempParent() : o.dir, "es-industrie-bench",
                     o.keep);
  std::printf("industrie bench: %" PRId64 " lines, %d repetitions%s; load average %s\n", o.rows,
              o.reps, o.smoke ? " (smoke: sizes too small to judge)" : "", loadAverage().c_str());

  const Generated gen = makeFile(o.rows);
  const std::string source = scratch.path() + "/" + kFileName;
  writeFile(source, gen.text);
  std::printf("  file: %zu bytes, %.0f bytes/line, %" PRId64 " bad lines\n", gen.text.size(),
              static_cast<double>(gen.text.size()) / static_cast<double>(o.rows), gen.bad_lines);

  auto plugin = agent::loadPluginFile(o.plugin);
  check(plugin.isOk(), "load " + o.plugin + ": " + plugin.status().message());

  Stage parse_stage{"parse", {}, {}};
  Stage validate_stage{"validate", {}, {}};
  Stage hash_stage{"hash", {}, {}};
  Stage collect_stage{"collect", {}, {}};
  Validated expected;
  for (int rep = 0; rep < o.reps; ++rep) {
    auto runs = [&o](const char* stage) { return o.only.empty() || o.only == stage; };
    if (runs("parse")) {
      const Stopwatch sw;
      const Parsed p = parse(source);
      parse_stage.add(sw.elapsed());
      check(p.records.size() == static_cast<size_t>(o.rows), "record count");
    }
    if (runs("validate") || runs("collect")) {
      const Stopwatch sw;
      const Parsed p = parse(source);
      expected = validate(p);
      validate_stage.add(sw.elapsed());
    }
    if (runs("hash")) {
      const std::string bytes = readFile(source);
      const Stopwatch sw;
      const std::string hash = files::sha256Hex(bytes);
      hash_stage.add(sw.elapsed());
      check(hash.size() == 64, "sha256");
    }
    if (runs("collect")) {
      const std::string run = scratch.path() + "/run" + std::to_string(rep);
      const std::string inbox = run + "/inbox";
      fs::create_directories(inbox);
      fs::copy_file(source, inbox + "/" + kFileName);
      auto store = agent::Store::open(run + "/agent.db");
      check(store.isOk(), "store: " + store.status().message());
      agent::PluginSettings settings;
      settings.region = "MA-06";
      settings.values = {{"inbox", inbox}};
      agent::RuntimeHooks hooks;
      hooks.log = [](int level, const std::string& msg) {
        if (level <= 4) {
          std::fprintf(stderr, "plugin: %s\n", msg.c_str());
        }
      };
      agent::RunStats stats;
      const Stopwatch sw;
      const auto st = agent::collectPlugin(*plugin, **store, settings, hooks, stats);
      collect_stage.add(sw.elapsed());
      check(st.isOk(), "collect: " + st.message());
      check(stats.upserted == static_cast<int64_t>(expected.exporters + expected.flows),
            "rows written: " + std::to_string(stats.upserted));
      check(stats.rejected == static_cast<int64_t>(expected.rejected),
            "rows rejected: " + std::to_string(stats.rejected));
      check(expected.rejected == static_cast<size_t>(gen.bad_lines), "bad lines found");
      auto flows = (*store)->dataset("industrie", "export_flows");
      check(flows.isOk() && flows->has_value() &&
                (*store)->rowCount(**flows).value() == static_cast<int64_t>(expected.flows),
            "stored flows");
      check(fs::exists(inbox + "/done/" + kFileName), "file moved to done/");
      store->reset();
      if (!o.keep) {
        fs::remove_all(run);
      }
    }
  }
  std::printf("  %zu exporters, %zu export flows (lines of one key summed), %zu lines rejected\n",
              expected.exporters, expected.flows, expected.rejected);
  for (const Stage* s : {&parse_stage, &validate_stage, &hash_stage, &collect_stage}) {
    if (!s->wall.empty()) {
      printStage(*s, o.rows);
    }
  }
  if (!o.only.empty()) {
    return 0;
  }

  const double t_parse = summarize(parse_stage.wall).median;
  const double t_validated = summarize(validate_stage.wall).median;
  const double t_hash = summarize(hash_stage.wall).median;
  const double total = summarize(collect_stage.wall).median;
  const double rate = static_cast<double>(o.rows) / total;
  const double cpu_rate = static_cast<double>(o.rows) / summarize(collect_stage.cpu).median;
  auto pct = [total](double part) { return std::max(0.0, part) / total * 100.0; };
  std::printf(
      "end to end: %.0f rows/s (wall), %.0f rows/s (CPU); target %.0f rows/s: %s\n"
      "share of the collect run (medians): parse %.0f %%, validation %.0f %%, hash %.0f %%, "
      "store+commit+inbox %.0f %%\n",
      rate, cpu_rate, kTargetRate,
      o.smoke               ? "not judged (smoke)"
      : rate >= kTargetRate ? "met"
                            : "MISSED",
      pct(t_parse), pct(t_validated - t_parse), pct(t_hash), pct(total - t_validated - t_hash));
  std::printf("load average after: %s\n", loadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace exportsync::bench

int main(int argc, char** argv) { return exportsync::bench::run(argc, argv); }
