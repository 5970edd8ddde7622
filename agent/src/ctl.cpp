#include "exportsync/agent/ctl.hpp"

#include <ctime>

#include "exportsync/agent/config.hpp"
#include "exportsync/agent/store.hpp"

namespace exportsync::agent {
namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;
constexpr const char* kDefaultConfig = "/etc/exportsync/agent.properties";

constexpr const char* kUsage =
    "usage: exportsyncctl [--config FILE] COMMAND\n"
    "  plugins                 each enabled plugin's health: last run, rows, failures, "
    "quarantine\n"
    "  clear-quarantine NAME   let a quarantined plugin run again\n"
    "  --config FILE           agent config (default /etc/exportsync/agent.properties)\n";

std::string age(int64_t at) {
  if (at == 0) {
    return "never";
  }
  const int64_t secs = static_cast<int64_t>(std::time(nullptr)) - at;
  if (secs < 120) {
    return std::to_string(secs) + " s ago";
  }
  if (secs < 7200) {
    return std::to_string(secs / 60) + " min ago";
  }
  return std::to_string(secs / 3600) + " h ago";
}

int plugins(const AgentConfig& cfg, Store& store, std::ostream& out, std::ostream& err) {
  if (cfg.enabled.empty()) {
    out << "no plugin is enabled (plugins.enabled in " << cfg.source << ")\n";
  }
  for (const auto& name : cfg.enabled) {
    auto h = store.health(name);
    if (!h) {
      err << "exportsyncctl: " << h.status().message() << "\n";
      return 1;
    }
    out << name << ": ";
    if (!h->has_value() || (*h)->last_result.empty()) {
      out << "has not run yet\n";
      continue;
    }
    const auto& p = **h;
    out << "last run " << age(p.last_run_at) << " " << p.last_result << " ("
        << p.last_upserted << " upserted, " << p.last_removed << " removed, " << p.last_rejected
        << " rejected)";
    if (p.quarantined) {
      out << "; QUARANTINED after " << p.consecutive_failures
          << " consecutive failures; fix the cause, then: exportsyncctl clear-quarantine "
          << name;
    } else if (p.consecutive_failures > 0) {
      out << "; " << p.consecutive_failures << " consecutive failures";
    }
    if (!p.last_error.empty()) {
      out << "\n  last error: " << p.last_error;
    }
    out << "\n";
  }
  return 0;
}

}  // namespace

int runCtl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string config_path = kDefaultConfig;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" || args[i] == "-c") {
      if (i + 1 >= args.size()) {
        err << "exportsyncctl: --config needs a file\n" << kUsage;
        return kExitUsage;
      }
      config_path = args[++i];
    } else if (args[i] == "--help" || args[i] == "-h") {
      out << kUsage;
      return 0;
    } else {
      rest.push_back(args[i]);
    }
  }
  if (rest.empty()) {
    err << "exportsyncctl: no command given\n" << kUsage;
    return kExitUsage;
  }
  const std::string& cmd = rest[0];
  if (cmd != "plugins" && cmd != "clear-quarantine") {
    err << "exportsyncctl: unknown command '" << cmd << "'\n" << kUsage;
    return kExitUsage;
  }
  if (cmd == "clear-quarantine" && rest.size() != 2) {
    err << "exportsyncctl: clear-quarantine takes one plugin name\n" << kUsage;
    return kExitUsage;
  }
  auto cfg = loadAgentConfig(config_path);
  if (!cfg) {
    err << "exportsyncctl: " << cfg.status().message() << "\n";
    return kExitConfig;
  }
  auto store = Store::open(cfg->storePath(), /*migrate=*/false);
  if (!store) {
    err << "exportsyncctl: " << store.status().message() << "\n";
    return 1;
  }
  if (cmd == "plugins") {
    return plugins(*cfg, **store, out, err);
  }
  auto cleared = (*store)->clearQuarantine(rest[1]);
  if (!cleared) {
    err << "exportsyncctl: " << cleared.status().message() << "\n";
    return 1;
  }
  if (!*cleared) {
    err << "exportsyncctl: plugin '" << rest[1] << "' has no run record; nothing to clear "
        << "(see exportsyncctl plugins)\n";
    return 1;
  }
  out << "plugin '" << rest[1] << "': quarantine cleared; it runs at its next interval, or "
      << "now with: systemctl kill -s USR1 exportsync-agent\n";
  return 0;
}

}  // namespace exportsync::agent
