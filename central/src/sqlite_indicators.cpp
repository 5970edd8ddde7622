#include "sqlite_indicators.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "exportsync/core_datasets.hpp"
#include "exportsync/validate.hpp"

namespace exportsync::central {
namespace {

constexpr const char* kDropTemp =
    "DROP TABLE IF EXISTS temp.ind_flows; DROP TABLE IF EXISTS temp.ind_exp; "
    "DROP TABLE IF EXISTS temp.ind_who; DROP TABLE IF EXISTS temp.ind_w;";

// Value per key (heading or country) → the top `n` by value (ties: key order), with shares.
std::vector<IndicatorRow::Top> topOf(const std::map<std::string, int64_t>& values, int64_t total,
                                     size_t n) {
  std::vector<IndicatorRow::Top> all;
  for (const auto& [k, v] : values) {
    all.push_back({k, v, total > 0 ? static_cast<double>(v) / static_cast<double>(total) : 0.0});
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.value_centimes > b.value_centimes;
  });
  if (all.size() > n) {
    all.resize(n);
  }
  return all;
}

double hhiOf(const std::map<std::string, int64_t>& values, int64_t total) {
  if (total <= 0) {
    return 0;
  }
  double h = 0;
  for (const auto& [k, v] : values) {
    const double s = static_cast<double>(v) / static_cast<double>(total);
    h += s * s;
  }
  return h;
}

}  // namespace

const std::vector<Column>* coreColumns(const std::string& dataset) {
  static const std::vector<Column> kExporters = core::exportersSpec().columns;
  static const std::vector<Column> kFlows = core::exportFlowsSpec().columns;
  if (dataset == core::kExporters) {
    return &kExporters;
  }
  if (dataset == core::kExportFlows) {
    return &kFlows;
  }
  return nullptr;
}

bool hasCoreColumns(const DatasetInfo& d, const std::vector<Column>& core) {
  for (const auto& c : core) {
    const auto it = std::find_if(d.columns.begin(), d.columns.end(),
                                 [&c](const Column& x) { return x.name == c.name; });
    if (it == d.columns.end() || it->type != c.type) {
      return false;
    }
  }
  return true;
}

Result<Indicators> computeIndicators(sql::Db& db, const std::vector<DatasetInfo>& datasets,
                                     const IndicatorQuery& q) {
  Indicators out;
  std::string flows_union;
  std::string exporters_union;
  std::map<std::string, IndicatorSource> sources;
  for (const auto& d : datasets) {
    const auto* core = coreColumns(d.name);
    if (core == nullptr) {
      continue;
    }
    auto& src = sources[d.plugin];
    src.plugin = d.plugin;
    if (!hasCoreColumns(d, *core)) {
      src.skipped += (src.skipped.empty() ? "" : "; ") + d.name +
                     ": its columns differ from the core dataset of docs/datasets.md";
      continue;
    }
    const std::string t = sql::quoteIdent(d.table);
    if (d.name == core::kExportFlows) {
      src.export_flows = true;
      flows_union += std::string(flows_union.empty() ? "" : " UNION ALL ") +
                     "SELECT exporter_id, hs_code, destination, period, value_mad, _region FROM " +
                     t + " WHERE period <= ?1";
    } else {
      src.exporters = true;
      exporters_union += std::string(exporters_union.empty() ? "" : " UNION ALL ") +
                         "SELECT exporter_id, region, first_export_year FROM " + t;
    }
  }
  for (auto& [name, src] : sources) {
    out.sources.push_back(src);
  }
  out.national.region = "national";
  for (const auto& r : validate::kRegions) {
    IndicatorRow row;
    row.region = std::string(r.code);
    out.regions.push_back(std::move(row));
  }
  if (flows_union.empty()) {
    return out;
  }
  if (exporters_union.empty()) {
    exporters_union =
        "SELECT NULL AS exporter_id, NULL AS region, NULL AS first_export_year WHERE 0";
  }

  // One snapshot for every statement; the temporary tables live on this connection only.
  if (auto st = db.exec(std::string("BEGIN;") + kDropTemp); !st) {
    return st;
  }
  struct Finish {
    sql::Db& db;
    ~Finish() { (void)db.exec(std::string(kDropTemp) + "COMMIT;"); }
  } finish{db};

  // Flows de-duplicated by key across plugins and agents (largest value, smallest office
  // region), zero values dropped, nothing after the window.
  {
    auto s = db.prepare(
        "CREATE TEMP TABLE ind_flows AS SELECT exporter_id, hs_code, destination, period, "
        "MAX(value_mad) AS v, MIN(_region) AS office FROM (" +
        flows_union +
        ") GROUP BY exporter_id, hs_code, destination, period HAVING MAX(value_mad) > 0");
    if (!s) {
      return s.status();
    }
    s->bind(1, q.window_to);
    if (s->step() != SQLITE_DONE) {
      return db.error("computing indicators (flows)");
    }
  }
  // Each exporter's region: its seat (exporters.region; the smallest code when rows disagree),
  // else the smallest office region among its flows.
  const std::string setup =
      "CREATE TEMP TABLE ind_exp AS SELECT exporter_id, MIN(region) AS region, "
      "MIN(first_export_year) AS fey FROM (" +
      exporters_union +
      ") GROUP BY exporter_id;"
      "CREATE TEMP TABLE ind_who(exporter_id TEXT PRIMARY KEY, region TEXT, first_period TEXT, "
      "fey INTEGER) WITHOUT ROWID;"
      "INSERT INTO ind_who SELECT f.exporter_id, COALESCE(e.region, MIN(f.office)), "
      "MIN(f.period), e.fey FROM ind_flows f LEFT JOIN ind_exp e ON e.exporter_id = f.exporter_id "
      "GROUP BY f.exporter_id;";
  if (auto st = db.exec(setup); !st) {
    return st.withContext("computing indicators (exporters)");
  }
  {
    auto s = db.prepare(
        "CREATE TEMP TABLE ind_w AS SELECT w.region AS region, f.exporter_id AS exporter_id, "
        "substr(f.hs_code, 1, 4) AS heading, f.destination AS destination, f.v AS v "
        "FROM ind_flows f JOIN ind_who w ON w.exporter_id = f.exporter_id WHERE f.period >= ?1");
    if (!s) {
      return s.status();
    }
    s->bind(1, q.window_from);
    if (s->step() != SQLITE_DONE) {
      return db.error("computing indicators (window)");
    }
  }

  std::map<std::string, IndicatorRow*> by_region;
  for (auto& r : out.regions) {
    by_region[r.region] = &r;
  }
  auto rowOf = [&](const std::string& region) -> IndicatorRow* {
    auto it = by_region.find(region);
    return it == by_region.end() ? nullptr : it->second;
  };
  IndicatorRow& nat = out.national;

  // Active exporters, mono-product and mono-market, value.
  {
    auto s = db.prepare(
        "SELECT region, COUNT(*), SUM(headings = 1), SUM(markets = 1), SUM(value) FROM ("
        "SELECT region, exporter_id, COUNT(DISTINCT heading) AS headings, "
        "COUNT(DISTINCT destination) AS markets, SUM(v) AS value FROM ind_w "
        "GROUP BY region, exporter_id) GROUP BY region");
    if (!s) {
      return s.status();
    }
    while (s->step() == SQLITE_ROW) {
      IndicatorRow* r = rowOf(s->text(0));
      for (IndicatorRow* x : {r, &nat}) {
        if (x == nullptr) {
          continue;
        }
        x->active_exporters += s->int64(1);
        x->mono_product_exporters += s->int64(2);
        x->mono_market_exporters += s->int64(3);
        x->export_value_centimes += s->int64(4);
      }
    }
  }
  // Destinations and headings: HHI and tops.
  for (const bool products : {false, true}) {
    auto s = db.prepare(std::string("SELECT region, ") + (products ? "heading" : "destination") +
                        ", SUM(v) FROM ind_w GROUP BY 1, 2");
    if (!s) {
      return s.status();
    }
    std::map<std::string, std::map<std::string, int64_t>> per_region;
    std::map<std::string, int64_t> national;
    while (s->step() == SQLITE_ROW) {
      per_region[s->text(0)][s->text(1)] += s->int64(2);
      national[s->text(1)] += s->int64(2);
    }
    auto fill = [&](IndicatorRow& r, const std::map<std::string, int64_t>& values) {
      if (products) {
        r.top_products = topOf(values, r.export_value_centimes, q.top);
      } else {
        r.top_destinations = topOf(values, r.export_value_centimes, q.top);
        r.hhi_destinations = hhiOf(values, r.export_value_centimes);
      }
    };
    for (auto& r : out.regions) {
      fill(r, per_region[r.region]);
    }
    fill(nat, national);
  }
  // New exporters of the year.
  {
    auto s = db.prepare(
        "SELECT region, COUNT(*) FROM ind_who WHERE first_period >= ?1 "
        "AND (fey IS NULL OR fey >= ?2) GROUP BY region");
    if (!s) {
      return s.status();
    }
    char start[48];
    std::snprintf(start, sizeof start, "%04d-01", q.year);
    s->bind(1, std::string_view(start));
    s->bind(2, static_cast<int64_t>(q.year));
    while (s->step() == SQLITE_ROW) {
      if (IndicatorRow* r = rowOf(s->text(0))) {
        r->new_exporters += s->int64(1);
      }
      nat.new_exporters += s->int64(1);
    }
  }
  for (auto& r : out.regions) {
    r.share_of_national_value = nat.export_value_centimes > 0
                                    ? static_cast<double>(r.export_value_centimes) /
                                          static_cast<double>(nat.export_value_centimes)
                                    : 0.0;
  }
  nat.share_of_national_value = nat.export_value_centimes > 0 ? 1.0 : 0.0;
  return out;
}

}  // namespace exportsync::central
