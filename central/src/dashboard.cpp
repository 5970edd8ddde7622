#include "exportsync/central/dashboard.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>

#include "exportsync/validate.hpp"

namespace exportsync::central {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

constexpr size_t kMaxRegionReasons = 50;

int64_t intOf(const Object& o, const std::string& key, int64_t def = 0) {
  try {
    return o.has(key) && !o.isNull(key) ? o.getValue<int64_t>(key) : def;
  } catch (const Poco::Exception&) {
    return def;
  }
}
bool boolOf(const Object& o, const std::string& key) {
  try {
    return o.has(key) && !o.isNull(key) && o.getValue<bool>(key);
  } catch (const Poco::Exception&) {
    return false;
  }
}
std::string textOf(const Object& o, const std::string& key) {
  try {
    return o.has(key) && !o.isNull(key) ? o.getValue<std::string>(key) : std::string();
  } catch (const Poco::Exception&) {
    return {};
  }
}

Object::Ptr parseObject(const std::string& text) {
  if (text.empty()) {
    return nullptr;
  }
  try {
    Poco::JSON::Parser parser;
    return parser.parse(text).extract<Object::Ptr>();
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

// A plugin entry of a heartbeat as the monitor sees it.
struct PluginState {
  std::string name;
  bool failing = false;
  bool quarantined = false;
  std::string error;  // why it fails
};

std::vector<PluginState> pluginStates(const Object& status) {
  std::vector<PluginState> out;
  auto plugins = status.getArray("plugins");
  if (!plugins) {
    return out;
  }
  for (size_t i = 0; i < plugins->size(); ++i) {
    auto p = plugins->getObject(static_cast<unsigned>(i));
    if (!p) {
      continue;
    }
    PluginState s;
    s.name = textOf(*p, "name").substr(0, 64);
    const std::string refused = textOf(*p, "refused");
    if (boolOf(*p, "enabled") && !boolOf(*p, "loaded") && !refused.empty()) {
      s.failing = true;
      s.error = "refusé au chargement : " + refused;
    }
    if (textOf(*p, "last_result") == "failed") {
      s.failing = true;
      s.error = "échec de la dernière exécution : " + textOf(*p, "last_error");
    }
    s.quarantined = boolOf(*p, "quarantined");
    out.push_back(std::move(s));
  }
  return out;
}

std::string cut(const std::string& text, size_t n = 300) {
  if (text.size() <= n) {
    return text;
  }
  // Do not cut inside a UTF-8 sequence.
  size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return text.substr(0, end) + "…";
}

std::string who(const AgentRecord& a) {
  return "l'agent " + a.id + (a.hostname.empty() ? "" : " (" + a.hostname + ")");
}

int severityRank(const std::string& s) { return s == "critical" ? 2 : (s == "warning" ? 1 : 0); }

Health healthOfRank(int rank) {
  return rank >= 2 ? Health::Red : (rank == 1 ? Health::Amber : Health::Green);
}

Object::Ptr reasonJson(const Reason& r, const std::string& agent_id, bool with_message) {
  Object::Ptr o = new Object;
  o->set("code", r.code);
  o->set("severity", r.severity);
  if (!agent_id.empty()) {
    o->set("agent_id", agent_id);
  }
  if (!r.subject.empty()) {
    o->set("subject", r.subject);
  }
  if (with_message) {
    o->set("message", r.message);
  }
  return o;
}

struct Totals {
  int64_t total = 0, active = 0, revoked = 0, green = 0, amber = 0, red = 0, never_synced = 0;
  int64_t backlog_rows = 0, backlog_bytes = 0, oldest = 0, last_sync_at = 0;
  int64_t rows_received = 0, bytes_received = 0;
  int64_t critical = 0, warning = 0, info = 0;
  int worst = -1;  // -1: no active agent
  Array::Ptr reasons = new Array;
};

Object::Ptr totalsJson(const Totals& t) {
  Object::Ptr o = new Object;
  o->set("health", t.worst < 0 ? "none" : healthName(healthOfRank(t.worst)));
  Object::Ptr agents = new Object;
  agents->set("total", t.total);
  agents->set("active", t.active);
  agents->set("revoked", t.revoked);
  agents->set("green", t.green);
  agents->set("amber", t.amber);
  agents->set("red", t.red);
  agents->set("never_synced", t.never_synced);
  o->set("agents", agents);
  o->set("backlog_rows", t.backlog_rows);
  o->set("backlog_bytes", t.backlog_bytes);
  o->set("oldest_unacked_age_s", t.oldest);
  o->set("last_sync_at", t.last_sync_at);
  o->set("rows_received", t.rows_received);
  o->set("bytes_received", t.bytes_received);
  Object::Ptr alerts = new Object;
  alerts->set("critical", t.critical);
  alerts->set("warning", t.warning);
  alerts->set("info", t.info);
  o->set("alerts_open", alerts);
  return o;
}

std::vector<AlertRecord> alertsOf(const MonitorInput& in, const std::string& agent_id) {
  std::vector<AlertRecord> out;
  for (const auto& a : in.open_alerts) {
    if (a.agent_id == agent_id) {
      out.push_back(a);
    }
  }
  return out;
}

int64_t setAsideOf(const MonitorInput& in, const std::string& agent_id) {
  auto it = in.set_aside_24h.find(agent_id);
  return it == in.set_aside_24h.end() ? 0 : it->second;
}

}  // namespace

const char* healthName(Health h) {
  switch (h) {
    case Health::Green: return "green";
    case Health::Amber: return "amber";
    case Health::Red: return "red";
    case Health::None: break;
  }
  return "none";
}

std::string frenchDuration(int64_t s) {
  s = std::max<int64_t>(0, s);
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lld min", static_cast<long long>(s / 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lld h %02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld j %lld h", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buf;
}

std::string regionName(const std::string& code) {
  const auto* r = validate::findRegion(code);
  return r != nullptr ? std::string(r->name_fr) : code;
}

int64_t lagOf(const AgentRecord& a, int64_t now) {
  if (a.backlog_rows <= 0 || a.heartbeat_at == 0) {
    return 0;
  }
  return a.oldest_unacked_age_s + std::max<int64_t>(0, now - a.heartbeat_at);
}

Assessment assessAgent(const AgentRecord& a, const MonitorConfig& cfg, int64_t now,
                       int64_t set_aside_24h, const std::vector<AlertRecord>& open_alerts) {
  Assessment out;
  out.lag_s = lagOf(a, now);
  auto add = [&out](std::string code, const char* severity, std::string subject,
                    std::string message) {
    out.reasons.push_back({std::move(code), severity, std::move(subject), std::move(message)});
  };
  const int64_t heard = std::max(a.last_seen, a.created_at);
  if (now - heard > cfg.silent_after_s) {
    add("agent-silent", "critical", "",
        "Aucune nouvelle de " + who(a) + " depuis " + frenchDuration(now - heard) +
            " (seuil : " + frenchDuration(cfg.silent_after_s) +
            ") ; vérifier la machine et le lien réseau du bureau.");
  }
  if (a.backlog_rows > 0 && a.last_seen != 0 && now - a.last_seen < cfg.stall_after_s &&
      now - std::max(a.mark_changed_at, a.created_at) > cfg.stall_after_s) {
    add("sync-stalled", "critical", "",
        "Synchronisation bloquée : " + who(a) + " a " + std::to_string(a.backlog_rows) +
            " modifications en attente et le hub n'en a accepté aucune depuis " +
            frenchDuration(now - std::max(a.mark_changed_at, a.created_at)) +
            " ; consulter ses dernières erreurs.");
  }
  if (a.backlog_full) {
    add("backlog-full", "critical", "",
        "Les modifications non envoyées de " + who(a) +
            " ont atteint leur limite sur disque : la collecte est suspendue ; rétablir le lien "
            "avec le hub.");
  }
  std::vector<PluginState> plugins;
  if (a.plugins_failing + a.plugins_quarantined > 0) {
    if (auto status = parseObject(a.status_json)) {
      plugins = pluginStates(*status);
    }
  }
  if (a.plugins_quarantined > 0) {
    bool named = false;
    for (const auto& p : plugins) {
      if (p.quarantined) {
        named = true;
        add("plugin-quarantined", "critical", p.name,
            "Le plugin « " + p.name + " » de " + who(a) +
                " est en quarantaine après des échecs répétés ; corriger la cause puis lancer "
                "exportsyncctl clear-quarantine " +
                p.name + ".");
      }
    }
    if (!named) {
      add("plugin-quarantined", "critical", "",
          std::to_string(a.plugins_quarantined) + " plugin(s) de " + who(a) +
              " en quarantaine après des échecs répétés.");
    }
  }
  if (out.lag_s > cfg.late_after_s) {
    add("sync-late", "warning", "",
        "Retard de synchronisation : la plus ancienne modification non acquittée de " + who(a) +
            " date de " + frenchDuration(out.lag_s) +
            " (seuil : " + frenchDuration(cfg.late_after_s) + ").");
  }
  if (a.backlog_rows > 0 && a.backlog_since != 0 &&
      now - a.backlog_since >= cfg.backlog_growing_s && a.backlog_rows > a.backlog_at_since) {
    add("backlog-growing", "warning", "",
        "Les modifications en attente de " + who(a) + " augmentent depuis " +
            frenchDuration(now - a.backlog_since) + " (de " + std::to_string(a.backlog_at_since) +
            " à " + std::to_string(a.backlog_rows) + ") ; vérifier le débit du lien.");
  }
  if (a.plugins_failing > 0) {
    bool named = false;
    for (const auto& p : plugins) {
      if (p.failing && !p.quarantined) {
        named = true;
        add("plugin-failing", "warning", p.name,
            "Le plugin « " + p.name + " » de " + who(a) + " : " + cut(p.error) + ".");
      }
    }
    if (!named && plugins.empty()) {
      add("plugin-failing", "warning", "",
          std::to_string(a.plugins_failing) + " plugin(s) de " + who(a) + " en échec.");
    }
  }
  if (a.rows_rejected >= cfg.rejected_rows || set_aside_24h >= cfg.rejected_rows) {
    std::string m;
    if (a.rows_rejected >= cfg.rejected_rows) {
      m = std::to_string(a.rows_rejected) + " lignes rejetées par les plugins de " + who(a) +
          " à leurs dernières exécutions (seuil : " + std::to_string(cfg.rejected_rows) +
          ") ; consulter les rapports du dossier rejected/.";
    }
    if (set_aside_24h >= cfg.rejected_rows) {
      m += std::string(m.empty() ? "" : " ") + std::to_string(set_aside_24h) + " lignes de " +
           who(a) +
           " mises de côté par le hub en 24 h (seuil : " + std::to_string(cfg.rejected_rows) +
           ") ; voir la liste des lignes mises de côté.";
    }
    add("rows-rejected", "warning", "", m);
  }
  if (cfg.disk_low_bytes > 0 && a.disk_free_bytes >= 0 && a.disk_free_bytes < cfg.disk_low_bytes) {
    add("disk-low", "warning", "",
        "Espace disque faible sur " + who(a) + " : " + std::to_string(a.disk_free_bytes >> 20) +
            " Mo libres (seuil : " + std::to_string(cfg.disk_low_bytes >> 20) +
            " Mo) ; libérer de la place.");
  }
  for (const auto& al : open_alerts) {
    if (al.code == "schema-refused" || al.code == "revoked-credential-used") {
      add(al.code, al.severity == "critical" ? "critical" : "warning", al.subject, al.message);
    }
  }
  int worst = 0;
  for (const auto& r : out.reasons) {
    worst = std::max(worst, severityRank(r.severity));
  }
  out.health = healthOfRank(worst);
  return out;
}

const std::vector<std::string>& stateAlertCodes() {
  static const std::vector<std::string> kCodes = {
      "agent-silent",       "sync-stalled",  "backlog-full",
      "plugin-quarantined", "sync-late",     "backlog-growing",
      "plugin-failing",     "rows-rejected", "disk-low"};
  return kCodes;
}

AlertRecord revokedCredentialAlert(const AgentRecord& a, const std::string& from_ip) {
  AlertRecord r;
  r.code = "revoked-credential-used";
  r.severity = "critical";
  r.agent_id = a.id;
  r.region = a.region;
  r.message = "L'identifiant révoqué de " + who(a) + " (" + a.region + ") a été présenté depuis " +
              from_ip +
              " ; vérifier que cette machine n'est plus en service, ou l'inscrire à nouveau avec "
              "un nouveau code.";
  return r;
}

AlertRecord schemaRefusedAlert(const AgentRecord& a, const std::string& refusal) {
  AlertRecord r;
  r.code = "schema-refused";
  r.severity = "critical";
  r.agent_id = a.id;
  r.region = a.region;
  r.message = "Lot de " + who(a) + " refusé pour un changement de schéma incompatible (" +
              cut(refusal) +
              ") ; mettre à jour le plugin de l'agent ou déclarer un nouveau jeu de données.";
  return r;
}

Object::Ptr thresholdsJson(const MonitorConfig& cfg) {
  Object::Ptr t = new Object;
  t->set("late_after_s", cfg.late_after_s);
  t->set("silent_after_s", cfg.silent_after_s);
  t->set("stall_after_s", cfg.stall_after_s);
  t->set("backlog_growing_s", cfg.backlog_growing_s);
  t->set("rejected_rows", cfg.rejected_rows);
  t->set("disk_low_bytes", cfg.disk_low_bytes);
  return t;
}

Object::Ptr overviewJson(const MonitorInput& in, const MonitorConfig& cfg, int64_t now) {
  std::map<std::string, Totals> regions;
  for (const auto& r : validate::kRegions) {
    regions[std::string(r.code)];
  }
  Totals national;
  std::map<std::string, std::vector<AlertRecord>> alerts_by_agent;
  for (const auto& al : in.open_alerts) {
    alerts_by_agent[al.agent_id].push_back(al);
    for (Totals* t : {&regions[al.region], &national}) {
      (al.severity == "critical" ? t->critical
                                 : (al.severity == "warning" ? t->warning : t->info))++;
    }
  }
  static const std::vector<AlertRecord> kNone;
  for (const auto& a : in.agents) {
    Totals* ts[] = {&regions[a.region], &national};
    for (Totals* t : ts) {
      ++t->total;
      t->rows_received += a.rows_received;
      t->bytes_received += a.bytes_received;
      t->last_sync_at = std::max(t->last_sync_at, a.last_sync_at);
    }
    if (a.revoked_at != 0) {
      for (Totals* t : ts) {
        ++t->revoked;
      }
      // Its credential used again still concerns the region (docs/dashboard-api.md §4).
      auto it = alerts_by_agent.find(a.id);
      for (const auto& al : it == alerts_by_agent.end() ? kNone : it->second) {
        if (al.code != "revoked-credential-used") {
          continue;
        }
        for (Totals* t : ts) {
          t->worst = std::max(t->worst, severityRank(al.severity));
        }
        Totals& reg = regions[a.region];
        if (reg.reasons->size() < kMaxRegionReasons) {
          reg.reasons->add(reasonJson({al.code, al.severity, al.subject, al.message}, a.id, false));
        }
      }
      continue;
    }
    auto it = alerts_by_agent.find(a.id);
    const auto as = assessAgent(a, cfg, now, setAsideOf(in, a.id),
                                it == alerts_by_agent.end() ? kNone : it->second);
    const int rank = static_cast<int>(as.health);
    for (Totals* t : ts) {
      ++t->active;
      (as.health == Health::Red ? t->red : (as.health == Health::Amber ? t->amber : t->green))++;
      t->never_synced += a.last_sync_at == 0 ? 1 : 0;
      t->backlog_rows += a.backlog_rows;
      t->backlog_bytes += a.backlog_bytes;
      t->oldest = std::max(t->oldest, as.lag_s);
      t->worst = std::max(t->worst, rank);
    }
    Totals& reg = regions[a.region];
    for (const auto& r : as.reasons) {
      if (reg.reasons->size() < kMaxRegionReasons) {
        reg.reasons->add(reasonJson(r, a.id, false));
      }
    }
  }
  Object::Ptr o = new Object;
  o->set("generated_at", now);
  o->set("thresholds", thresholdsJson(cfg));
  o->set("national", totalsJson(national));
  Array::Ptr list = new Array;
  for (const auto& r : validate::kRegions) {
    const Totals& t = regions[std::string(r.code)];
    Object::Ptr j = totalsJson(t);
    j->set("region", std::string(r.code));
    j->set("region_name", std::string(r.name_fr));
    j->set("reasons", t.reasons);
    list->add(j);
  }
  o->set("regions", list);
  return o;
}

Object::Ptr alertJson(const AlertRecord& a) {
  Object::Ptr o = new Object;
  o->set("id", a.id);
  o->set("code", a.code);
  o->set("severity", a.severity);
  o->set("region", a.region);
  o->set("region_name", regionName(a.region));
  o->set("agent_id", a.agent_id);
  o->set("subject", a.subject);
  o->set("message", a.message);
  o->set("since", a.since);
  o->set("at", a.at);
  o->set("count", a.count);
  o->set("resolved_at", a.resolved_at);
  o->set("resolved_by", a.resolved_by);
  return o;
}

void addHealth(Object& o, const AgentRecord& a, const MonitorInput& in, const MonitorConfig& cfg,
               int64_t now) {
  Array::Ptr reasons = new Array;
  if (a.revoked_at != 0) {
    o.set("health", "none");
    o.set("lag_s", 0);
    o.set("reasons", reasons);
    return;
  }
  const auto as = assessAgent(a, cfg, now, setAsideOf(in, a.id), alertsOf(in, a.id));
  for (const auto& r : as.reasons) {
    reasons->add(reasonJson(r, "", true));
  }
  o.set("health", healthName(as.health));
  o.set("lag_s", as.lag_s);
  o.set("reasons", reasons);
}

Object::Ptr agentDetailJson(const AgentRecord& a, const MonitorInput& in,
                            const std::vector<AgentError>& errors, const MonitorConfig& cfg,
                            int64_t now) {
  Object::Ptr o = new Object;
  o->set("id", a.id);
  o->set("region", a.region);
  o->set("region_name", regionName(a.region));
  o->set("hostname", a.hostname);
  o->set("created_at", a.created_at);
  o->set("revoked_at", a.revoked_at);
  addHealth(*o, a, in, cfg, now);
  auto status = parseObject(a.status_json);
  o->set("version", status ? textOf(*status, "version") : std::string());
  o->set("heartbeat_at", a.heartbeat_at);
  o->set("last_seen", a.last_seen);
  o->set("last_sync_at", a.last_sync_at);
  o->set("mark", a.mark);
  o->set("applied_seq", a.applied_seq);
  o->set("incarnation", a.incarnation);
  o->set("rows_received", a.rows_received);
  o->set("bytes_received", a.bytes_received);
  o->set("batches_received", a.batches_received);
  o->set("errors", a.errors);
  o->set("backlog_rows", a.backlog_rows);
  o->set("backlog_bytes", a.backlog_bytes);
  o->set("oldest_unacked_age_s", a.oldest_unacked_age_s);
  o->set("disk_free_bytes", a.disk_free_bytes);
  Object::Ptr sync = new Object;
  Array::Ptr plugins = new Array;
  if (status) {
    if (auto s = status->getObject("sync")) {
      for (const char* k : {"state", "last_result", "last_error"}) {
        sync->set(k, textOf(*s, k));
      }
      sync->set("hub_reachable", boolOf(*s, "hub_reachable"));
      for (const char* k : {"last_sync_ok_at", "last_error_at", "batch_rows", "acked_seq",
                            "rows_sent", "bytes_sent"}) {
        sync->set(k, intOf(*s, k));
      }
      sync->set("backlog_warning", boolOf(*s, "backlog_warning"));
      sync->set("backlog_full", boolOf(*s, "backlog_full"));
    }
    if (auto list = status->getArray("plugins")) {
      for (size_t i = 0; i < list->size(); ++i) {
        auto p = list->getObject(static_cast<unsigned>(i));
        if (!p) {
          continue;
        }
        Object::Ptr q = new Object;
        for (const char* k : {"name", "version", "last_result", "last_error", "refused"}) {
          q->set(k, textOf(*p, k));
        }
        for (const char* k : {"enabled", "loaded", "quarantined"}) {
          q->set(k, boolOf(*p, k));
        }
        for (const char* k : {"rows_upserted", "rows_removed", "rows_rejected", "last_run_at",
                              "last_duration_ms"}) {
          q->set(k, intOf(*p, k));
        }
        plugins->add(q);
      }
    }
  }
  o->set("sync", sync);
  o->set("plugins", plugins);
  o->set("last_error", a.last_error);
  Array::Ptr errs = new Array;
  for (const auto& e : errors) {
    Object::Ptr j = new Object;
    j->set("at", e.at);
    j->set("message", e.message);
    errs->add(j);
  }
  o->set("errors_recent", errs);
  o->set("set_aside_rows", setAsideOf(in, a.id));
  Array::Ptr alerts = new Array;
  for (const auto& al : alertsOf(in, a.id)) {
    alerts->add(alertJson(al));
  }
  o->set("alerts", alerts);
  return o;
}

HeartbeatSummary summariseHeartbeat(const Object& status) {
  HeartbeatSummary h;
  h.backlog_rows = std::max<int64_t>(0, intOf(status, "backlog_rows"));
  h.backlog_bytes = std::max<int64_t>(0, intOf(status, "backlog_bytes"));
  h.oldest_unacked_age_s = std::max<int64_t>(0, intOf(status, "oldest_unacked_age_s"));
  h.disk_free_bytes = intOf(status, "disk_free_bytes", -1);
  if (auto s = status.getObject("sync")) {
    h.backlog_warning = boolOf(*s, "backlog_warning");
    h.backlog_full = boolOf(*s, "backlog_full");
  }
  for (const auto& p : pluginStates(status)) {
    h.plugins_failing += p.failing && !p.quarantined ? 1 : 0;
    h.plugins_quarantined += p.quarantined ? 1 : 0;
  }
  if (auto plugins = status.getArray("plugins")) {
    for (size_t i = 0; i < plugins->size(); ++i) {
      if (auto p = plugins->getObject(static_cast<unsigned>(i))) {
        h.rows_rejected += std::max<int64_t>(0, intOf(*p, "rows_rejected"));
      }
    }
  }
  return h;
}

}  // namespace exportsync::central
