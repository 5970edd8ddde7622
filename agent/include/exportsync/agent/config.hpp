// The agent's configuration, loaded from a Poco properties file and checked as a whole before
// anything starts. Every error names the key, the bad value and what to write instead.
//
// THREAD: plain values. OWNERSHIP: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exportsync/status.hpp"

namespace exportsync::agent {

/// Per-plugin settings: host keys (interval, limits) and the plugin's own keys.
struct PluginConfig {
  std::string name;
  std::chrono::seconds interval{3600};
  std::chrono::seconds timeout{600};
  int64_t memory_limit_mb = 1024;
  int64_t cpu_limit_s = 0;
  std::map<std::string, std::string> values;  ///< every `plugin.<name>.*` key, short form
};

/// Sync to the hub (`sync.*` keys). Sync is off while hub_url is empty.
struct SyncSettings {
  std::string hub_url;     ///< https://host[:port] (http:// only on a loopback address)
  std::string ca_file;     ///< PEM bundle to verify the hub; empty: the system store
  std::string enrol_code;  ///< one-time code used at start when not enrolled yet
  int zstd_level = 3;
  int64_t batch_rows = 10000;  ///< first batch size; adapts between min and max
  int64_t min_batch_rows = 100;
  int64_t max_batch_rows = 100000;
  std::chrono::seconds timeout{60};  ///< one HTTP exchange
  std::chrono::seconds backoff_max{300};
  std::chrono::seconds heartbeat{60};
  std::chrono::seconds stall_after{300};
  int64_t backlog_warn_mb = 400;
  int64_t backlog_max_mb = 500;
};

struct AgentConfig {
  std::string source;          ///< the file it was read from
  std::string region;          ///< MA-01 … MA-12
  std::string region_name_fr;  ///< optional, shown in status (agent.region_name_fr)
  std::string region_name_ar;  ///< optional, shown in status (agent.region_name_ar)
  std::string state_dir;       ///< holds agent.db and credentials
  std::string plugin_dir;
  std::vector<std::string> enabled;             ///< plugin names, in config order
  int64_t max_failures = 3;                     ///< consecutive failures before quarantine
  std::map<std::string, PluginConfig> plugins;  ///< one per enabled plugin

  SyncSettings sync;
  std::string status_listen = "127.0.0.1:7711";  ///< loopback status API; "off" disables it

  std::string log_target = "console";  ///< console | file | syslog
  std::string log_file;
  std::string log_level = "information";

  std::string storePath() const { return state_dir + "/agent.db"; }
};

/// Loads and checks `path`. Unknown keys in the agent's own sections are errors (typos).
Result<AgentConfig> loadAgentConfig(const std::string& path);

/// Region codes MA-01 … MA-12 (ISO 3166-2:MA).
bool isValidRegion(const std::string& code);

/// A stable 64-bit FNV-1a hash of a plugin's settings, in hex: quarantine ends when it changes.
std::string configHash(const PluginConfig& plugin);

}  // namespace exportsync::agent
