#include "exportsync/agent/report.hpp"

#include <sstream>

namespace exportsync::agent {

std::string formatPluginList(const std::vector<PluginRecord>& plugins) {
  std::ostringstream out;
  if (plugins.empty()) {
    out << "no plugin files found\n";
  }
  for (const auto& p : plugins) {
    out << (p.name.empty() ? "?" : p.name);
    if (!p.version.empty()) {
      out << " " << p.version;
    }
    if (p.loaded) {
      out << (p.enabled ? "  loaded, enabled" : "  loaded, not enabled");
      out << "  datasets:";
      for (const auto& d : p.datasets) {
        out << " " << d.name << "(v" << d.version << ", " << d.columns.size() << " columns)";
      }
      out << "  [" << p.file << "]";
    } else {
      out << "  REFUSED: " << p.refusal;
    }
    out << "\n";
  }
  return out.str();
}

std::string formatRunSummary(const std::vector<RunOutcome>& outcomes, Store& store) {
  std::ostringstream out;
  for (const auto& o : outcomes) {
    out << (o.status ? "ok      " : (o.skipped ? "skipped " : "FAILED  ")) << o.plugin;
    if (o.status) {
      out << ": " << o.stats.upserted << " upserted, " << o.stats.removed << " removed, "
          << o.stats.rejected << " rejected in " << o.duration.count() << " ms";
    } else {
      out << ": " << o.status.message();
    }
    out << "\n";
    for (const auto& r : o.stats.first_rejections) {
      out << "        rejected " << r << "\n";
    }
  }
  if (auto sets = store.datasets()) {
    out << "store " << store.path() << ":\n";
    for (const auto& d : *sets) {
      auto n = store.rowCount(d);
      out << "  " << d.plugin << "/" << d.spec.name << ": "
          << (n ? std::to_string(*n) : n.status().message()) << " rows\n";
    }
    if (auto c = store.changeCount()) {
      out << "  change log: " << *c << " changes waiting to be synced\n";
    }
  }
  return out.str();
}

}  // namespace exportsync::agent
