#include "exportsync/agent/ctl.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <ctime>
#include <fstream>

#include "exportsync/agent/config.hpp"
#include "exportsync/agent/store.hpp"
#include "exportsync/agent/sync_client.hpp"

namespace exportsync::agent {
namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;
constexpr const char* kDefaultConfig = "/etc/exportsync/agent.properties";

constexpr const char* kUsage =
    "usage: exportsyncctl [--config FILE] COMMAND\n"
    "  status                  is it synced, how far behind, what failed and what to do\n"
    "  enroll --hub URL --code CODE   trade a one-time code for this agent's credential\n"
    "  run [PLUGIN]            run a plugin (all when omitted) now\n"
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
    out << "last run " << age(p.last_run_at) << " " << p.last_result << " (" << p.last_upserted
        << " upserted, " << p.last_removed << " removed, " << p.last_rejected << " rejected)";
    if (p.quarantined) {
      out << "; QUARANTINED after " << p.consecutive_failures
          << " consecutive failures; fix the cause, then: exportsyncctl clear-quarantine " << name;
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

std::string ageOf(int64_t seconds) {
  if (seconds < 120) {
    return std::to_string(seconds) + " s";
  }
  if (seconds < 7200) {
    return std::to_string(seconds / 60) + " min";
  }
  if (seconds < 172800) {
    return std::to_string(seconds / 3600) + " h";
  }
  return std::to_string(seconds / 86400) + " days";
}

// Asks the running agent (loopback status API).
Result<std::string> askAgent(const AgentConfig& cfg, const std::string& method,
                             const std::string& path) {
  if (cfg.status_listen == "off") {
    return Status::config("status.listen is off in " + cfg.source +
                          "; enable it to talk to the running agent");
  }
  std::string listen = cfg.status_listen;
  if (listen.size() > 2 && listen.compare(listen.size() - 2, 2, ":0") == 0) {
    std::ifstream in(cfg.state_dir + "/status.port");
    std::string port;
    if (!(in >> port)) {
      return Status::io("the agent has not published its status port in " + cfg.state_dir +
                        "/status.port (is it running?)");
    }
    listen = listen.substr(0, listen.size() - 1) + port;
  }
  HubClient client("http://" + listen, "", std::chrono::seconds(5));
  auto reply = method == "GET" ? client.get(path, "") : client.post(path, "", "text/plain", "");
  if (!reply) {
    return Status::io(
        "the agent is not answering on " + cfg.status_listen +
        " (is it running? systemctl status exportsync-agent): " + reply.status().message());
  }
  if (reply->status != 200) {
    return Status::io("the agent answered HTTP " + std::to_string(reply->status));
  }
  return reply->body;
}

int status(const AgentConfig& cfg, std::ostream& out, std::ostream& err) {
  auto body = askAgent(cfg, "GET", "/status");
  if (!body) {
    err << "exportsyncctl: " << body.status().message() << "\n";
    return 1;
  }
  Poco::JSON::Object::Ptr s;
  try {
    Poco::JSON::Parser parser;
    s = parser.parse(*body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    err << "exportsyncctl: the agent's status is not understood: " << e.displayText() << "\n";
    return 1;
  }
  int rc = 0;
  out << "ExportSync agent " << s->optValue<std::string>("version", "?") << ", region "
      << s->optValue<std::string>("region", "?") << "\n";
  if (auto sync = s->getObject("sync")) {
    const auto state = sync->optValue<std::string>("state", "?");
    const auto rows = s->optValue<int64_t>("backlog_rows", 0);
    const auto bytes = s->optValue<int64_t>("backlog_bytes", 0);
    const auto age = s->optValue<int64_t>("oldest_unacked_age_s", 0);
    out << "sync:    " << state << " (agent " << sync->optValue<std::string>("agent_id", "-")
        << ", hub " << sync->optValue<std::string>("hub_url", "-") << ")\n";
    if (rows == 0) {
      out << "         up to date: every change is at the hub (mark "
          << sync->optValue<int64_t>("acked_seq", 0) << ")\n";
    } else {
      out << "         behind: " << rows << " changes (" << (bytes >> 10)
          << " KiB) wait; the oldest for " << ageOf(age) << "\n";
    }
    const auto error = sync->optValue<std::string>("last_error", "");
    if (!error.empty()) {
      out << "         last error: " << error << "\n";
      rc = 1;
    }
    if (state == "not-enrolled") {
      out << "         what to do: exportsyncctl enroll --hub https://HUB --code CODE\n";
    } else if (state == "backoff") {
      out << "         what to do: the hub is unreachable; check the network link (the agent "
             "retries by itself, nothing is lost)\n";
    } else if (state == "stalled" || state == "error") {
      out << "         what to do: read the last error; if it names the credential or a schema, "
             "contact the Secretariat\n";
    }
    if (sync->optValue<bool>("backlog_full", false)) {
      out << "         WARNING: backlog over sync.backlog_max_mb: collection is paused\n";
    } else if (sync->optValue<bool>("backlog_warning", false)) {
      out << "         WARNING: backlog over sync.backlog_warn_mb\n";
    }
  } else {
    out << "sync:    off (sync.hub_url is not set)\n";
  }
  if (auto plugins = s->getArray("plugins")) {
    for (size_t i = 0; i < plugins->size(); ++i) {
      auto p = plugins->getObject(static_cast<unsigned>(i));
      out << "plugin:  " << p->optValue<std::string>("name", "?") << " ";
      if (!p->optValue<bool>("loaded", false)) {
        out << "REFUSED: " << p->optValue<std::string>("refused", "") << "\n";
        rc = p->optValue<bool>("enabled", false) ? 1 : rc;
        continue;
      }
      if (!p->optValue<bool>("enabled", false)) {
        out << "(not enabled)\n";
        continue;
      }
      out << p->optValue<std::string>("last_result", "not run yet");
      if (p->has("rows_upserted")) {
        out << ", " << p->optValue<int64_t>("rows_upserted", 0) << " rows, "
            << p->optValue<int64_t>("rows_rejected", 0) << " rejected";
      }
      const auto error = p->optValue<std::string>("last_error", "");
      if (!error.empty()) {
        out << "\n         " << error;
      }
      out << "\n";
    }
  }
  out << "disk:    " << (s->optValue<int64_t>("disk_free_bytes", 0) >> 20) << " MiB free\n";
  return rc;
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
  if (cmd != "plugins" && cmd != "clear-quarantine" && cmd != "status" && cmd != "enroll" &&
      cmd != "run") {
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
  if (cmd == "status") {
    return status(*cfg, out, err);
  }
  if (cmd == "run") {
    auto body = askAgent(*cfg, "POST", rest.size() > 1 ? "/run?plugin=" + rest[1] : "/run");
    if (!body) {
      err << "exportsyncctl: " << body.status().message() << "\n";
      return 1;
    }
    out << "run requested" << (rest.size() > 1 ? " for plugin '" + rest[1] + "'" : "") << "\n";
    return 0;
  }
  if (cmd == "enroll") {
    std::string hub = cfg->sync.hub_url;
    std::string code;
    for (size_t i = 1; i + 1 < rest.size(); i += 2) {
      if (rest[i] == "--hub") {
        hub = rest[i + 1];
      } else if (rest[i] == "--code") {
        code = rest[i + 1];
      }
    }
    if (hub.empty() || code.empty()) {
      err << "exportsyncctl: enroll needs --hub URL (or sync.hub_url) and --code CODE\n" << kUsage;
      return kExitUsage;
    }
    auto creds = enrol(hub, code, cfg->sync.ca_file, cfg->region, cfg->state_dir);
    if (!creds) {
      err << "exportsyncctl: " << creds.status().message() << "\n";
      return 1;
    }
    out << "enrolled as agent '" << creds->agent_id << "' for region " << creds->region
        << "; credential stored in " << credentialsPath(cfg->state_dir) << " (mode 0600)\n";
    if (cfg->sync.hub_url != hub) {
      out << "set sync.hub_url = " << hub << " in " << cfg->source << " so the agent syncs\n";
    }
    return 0;
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
