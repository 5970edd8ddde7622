// Monitoring for the dashboard (docs/dashboard-api.md §4-§5): each agent's health (green,
// amber, red) and the reasons for it, the alerts those reasons open, and the JSON of the
// overview and agent pages. Pure functions over store records, so they are unit-tested
// without a server.
//
// THREAD: pure functions; safe from any thread. OWNERSHIP: values (Poco JSON pointers are
// reference counted).
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exportsync/central/central_store.hpp"

namespace exportsync::central {

struct MonitorConfig {
  int64_t late_after_s = 900;
  int64_t silent_after_s = 1800;
  int64_t stall_after_s = 300;
  int64_t backlog_growing_s = 3600;
  int64_t rejected_rows = 100;
  int64_t disk_low_bytes = 1ll << 30;  ///< 0: off
};

enum class Health { Green = 0, Amber = 1, Red = 2, None = 3 };
const char* healthName(Health h);

struct Reason {
  std::string code;      ///< as the alert codes of docs/dashboard-api.md §5
  std::string severity;  ///< "critical" (red) or "warning" (amber)
  std::string subject;   ///< plugin name for plugin reasons
  std::string message;   ///< French
};

struct Assessment {
  Health health = Health::Green;
  std::vector<Reason> reasons;
  int64_t lag_s = 0;
};

/// Age of the agent's oldest unacknowledged change now (0 with an empty backlog).
int64_t lagOf(const AgentRecord& a, int64_t now);

/// The health of an active agent. `set_aside_24h`: the hub's set-aside rows of this agent in
/// the last 24 h. `open_alerts`: its open alerts (event alerts count towards the health).
/// Plugin reasons name the plugin when `a.status_json` is present, else they are summed.
Assessment assessAgent(const AgentRecord& a, const MonitorConfig& cfg, int64_t now,
                       int64_t set_aside_24h, const std::vector<AlertRecord>& open_alerts);

/// The alert codes whose state the monitor reconciles (every code but the event ones).
const std::vector<std::string>& stateAlertCodes();

/// Event alerts, opened when a request is refused.
AlertRecord revokedCredentialAlert(const AgentRecord& a, const std::string& from_ip);
AlertRecord schemaRefusedAlert(const AgentRecord& a, const std::string& refusal);

/// "42 min", "2 h 05", "3 j 4 h": a French duration for messages.
std::string frenchDuration(int64_t seconds);

/// What one overview / agent page needs, gathered from the store by the caller.
struct MonitorInput {
  std::vector<AgentRecord> agents;  ///< status_json may be empty
  std::vector<AlertRecord> open_alerts;
  std::map<std::string, int64_t> set_aside_24h;
};

Poco::JSON::Object::Ptr thresholdsJson(const MonitorConfig& cfg);
Poco::JSON::Object::Ptr overviewJson(const MonitorInput& in, const MonitorConfig& cfg, int64_t now);
Poco::JSON::Object::Ptr alertJson(const AlertRecord& a);
/// Health, reasons and lag added to an agent object of GET admin/agents.
void addHealth(Poco::JSON::Object& o, const AgentRecord& a, const MonitorInput& in,
               const MonitorConfig& cfg, int64_t now);
/// The agent page (GET admin/agents/{id}); `a.status_json` must be loaded.
Poco::JSON::Object::Ptr agentDetailJson(const AgentRecord& a, const MonitorInput& in,
                                        const std::vector<AgentError>& errors,
                                        const MonitorConfig& cfg, int64_t now);

/// The French name of a region code ("Casablanca-Settat"), the code itself when unknown.
std::string regionName(const std::string& code);

/// Reads what the hub monitors out of a heartbeat object (docs/dashboard-api.md §4).
HeartbeatSummary summariseHeartbeat(const Poco::JSON::Object& status);

}  // namespace exportsync::central
