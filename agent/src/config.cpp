#include "exportsync/agent/config.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "exportsync/agent/plugin_runtime.hpp"
#include "exportsync/schema_sql.hpp"

namespace exportsync::agent {
namespace {

using Poco::Util::AbstractConfiguration;

// Keys the agent knows in its own sections; anything else there is a typo.
const std::set<std::string> kKnownKeys = {"include",
                                          "agent.region",
                                          "agent.region_name_fr",
                                          "agent.region_name_ar",
                                          "agent.state_dir",
                                          "plugins.dir",
                                          "plugins.enabled",
                                          "plugins.max_failures",
                                          "plugins.timeout_s",
                                          "plugins.memory_limit_mb",
                                          "plugins.cpu_limit_s",
                                          "log.target",
                                          "log.file",
                                          "log.level",
                                          "sync.hub_url",
                                          "sync.ca_file",
                                          "sync.enrol_code",
                                          "sync.zstd_level",
                                          "sync.batch_rows",
                                          "sync.min_batch_rows",
                                          "sync.max_batch_rows",
                                          "sync.timeout_s",
                                          "sync.backoff_max_s",
                                          "sync.heartbeat_s",
                                          "sync.stall_after_s",
                                          "sync.backlog_warn_mb",
                                          "sync.backlog_max_mb",
                                          "status.listen"};
const std::set<std::string> kOwnSections = {"include", "agent", "plugins", "log", "sync", "status"};
const std::set<std::string> kLevels = {"fatal",  "critical",    "error", "warning",
                                       "notice", "information", "debug", "trace"};

// One file of the configuration: the main file or one it includes.
struct ConfigFile {
  std::string path;
  Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg;
};

class Reader {
 public:
  // `files` in the order they override each other: the last one that sets a key wins.
  Reader(const AbstractConfiguration& cfg, std::vector<ConfigFile> files)
      : cfg_(cfg), files_(std::move(files)) {}

  // Names the file that sets `key` (the main file when none does).
  Status error(const std::string& key, const std::string& problem) const {
    std::string file = files_.front().path;
    for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
      if (it->cfg->has(key)) {
        file = it->path;
        break;
      }
    }
    return Status::config("config: " + file + " key '" + key + "': " + problem);
  }
  Result<std::string> required(const std::string& key, const std::string& hint) const {
    const std::string v = Poco::trim(cfg_.getString(key, ""));
    if (v.empty()) {
      return error(key, "is missing; " + hint);
    }
    return v;
  }
  std::string optional(const std::string& key, const std::string& fallback) const {
    return cfg_.has(key) ? Poco::trim(cfg_.getString(key)) : fallback;
  }
  Result<int64_t> integer(const std::string& key, int64_t fallback, int64_t min,
                          int64_t max) const {
    if (!cfg_.has(key)) {
      return fallback;
    }
    const std::string v = Poco::trim(cfg_.getString(key));
    Poco::Int64 n = 0;
    if (!Poco::NumberParser::tryParse64(v, n)) {
      return error(key, "'" + v + "' is not an integer; write a whole number from " +
                            std::to_string(min) + " to " + std::to_string(max));
    }
    if (n < min || n > max) {
      return error(key, std::to_string(n) + " is out of range; write a whole number from " +
                            std::to_string(min) + " to " + std::to_string(max));
    }
    return static_cast<int64_t>(n);
  }

 private:
  const AbstractConfiguration& cfg_;
  std::vector<ConfigFile> files_;
};

Result<Poco::AutoPtr<Poco::Util::PropertyFileConfiguration>> readFile(const std::string& path,
                                                                      const std::string& hint) {
  try {
    return Poco::AutoPtr<Poco::Util::PropertyFileConfiguration>(
        new Poco::Util::PropertyFileConfiguration(path));
  } catch (const Poco::FileNotFoundException&) {
    return Status::config("config: file '" + path + "' does not exist; " + hint);
  } catch (const Poco::Exception& e) {
    return Status::config("config: cannot read '" + path + "': " + e.displayText());
  }
}

void collectKeys(const AbstractConfiguration& cfg, const std::string& prefix,
                 std::vector<std::string>& out) {
  AbstractConfiguration::Keys keys;
  cfg.keys(prefix, keys);
  if (keys.empty() && !prefix.empty()) {
    out.push_back(prefix);
    return;
  }
  for (const auto& k : keys) {
    collectKeys(cfg, prefix.empty() ? k : prefix + "." + k, out);
  }
}

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

bool isValidRegion(const std::string& code) { return schema::isValidRegion(code); }

std::string configHash(const PluginConfig& plugin) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h = (h ^ c) * 1099511628211ULL;
    }
    h = (h ^ 0xff) * 1099511628211ULL;
  };
  for (const auto& [k, v] : plugin.values) {
    mix(k);
    mix(v);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Result<AgentConfig> loadAgentConfig(const std::string& path) {
  auto main_file = readFile(path, "pass --config with the path of agent.properties");
  if (!main_file) {
    return main_file.status();
  }
  // `include = a.properties, b.properties`: overlays (e.g. the office's region file), read
  // after the main file and relative to its folder; a key they set replaces the main file's.
  std::vector<ConfigFile> files{{path, *main_file}};
  Poco::AutoPtr<Poco::Util::LayeredConfiguration> layered(new Poco::Util::LayeredConfiguration);
  layered->add(*main_file, 0, false);
  Poco::StringTokenizer includes(
      (*main_file)->getString("include", ""), ",",
      Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
  const auto slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  int priority = 0;
  for (const auto& inc : includes) {
    const std::string inc_path = inc.front() == '/' ? inc : folder + inc;
    auto f = readFile(inc_path, "fix 'include' in " + path);
    if (!f) {
      return f.status();
    }
    if ((*f)->has("include")) {
      return Status::config("config: " + inc_path +
                            " key 'include': included files may not include others; list "
                            "every file in the 'include' of " +
                            path);
    }
    layered->add(*f, --priority, false);  // a lower number is searched first
    files.push_back({inc_path, *f});
  }
  const AbstractConfiguration& cfg_ref = *layered;
  const auto* cfg = &cfg_ref;
  const Reader r(*cfg, files);
  AgentConfig c;
  c.source = path;

  std::vector<std::string> all;
  collectKeys(*cfg, "", all);
  for (const auto& key : all) {
    const auto dot = key.find('.');
    const std::string section = key.substr(0, dot);
    if (kOwnSections.count(section) != 0 && kKnownKeys.count(key) == 0) {
      return r.error(key,
                     "is not a known setting; check the spelling against "
                     "config/agent.properties");
    }
  }

  auto region = r.required("agent.region", "set it to the office's region code, MA-01 to MA-12");
  if (!region) {
    return region.status();
  }
  if (!isValidRegion(*region)) {
    return r.error("agent.region", "'" + *region + "' is not a region code; write MA-01 to MA-12");
  }
  c.region = *region;
  c.region_name_fr = r.optional("agent.region_name_fr", "");
  c.region_name_ar = r.optional("agent.region_name_ar", "");

  auto state = r.required("agent.state_dir",
                          "set it to a writable folder, e.g. "
                          "/var/lib/exportsync");
  if (!state) {
    return state.status();
  }
  if (!isDirectory(*state)) {
    return r.error("agent.state_dir", "'" + *state +
                                          "' is not an existing folder; create it "
                                          "(owned by the agent's user) or fix the path");
  }
  c.state_dir = *state;

  auto dir = r.required("plugins.dir", "set it to the folder holding the plugin .so files");
  if (!dir) {
    return dir.status();
  }
  if (!isDirectory(*dir)) {
    return r.error("plugins.dir", "'" + *dir + "' is not an existing folder; fix the path");
  }
  c.plugin_dir = *dir;

  Poco::StringTokenizer names(
      r.optional("plugins.enabled", ""), ",",
      Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
  for (const auto& n : names) {
    if (!isValidPluginName(n)) {
      return r.error("plugins.enabled", "'" + n + "' is not a plugin name ([a-z][a-z0-9-]*)");
    }
    for (const auto& e : c.enabled) {
      if (e == n) {
        return r.error("plugins.enabled", "'" + n + "' is listed twice");
      }
    }
    c.enabled.push_back(n);
  }

  auto max_failures = r.integer("plugins.max_failures", 3, 1, 1000);
  auto timeout = r.integer("plugins.timeout_s", 600, 1, 86400);
  auto memory = r.integer("plugins.memory_limit_mb", 1024, 0, 1 << 20);
  auto cpu = r.integer("plugins.cpu_limit_s", 0, 0, 86400);
  for (const auto* v : {&max_failures, &timeout, &memory, &cpu}) {
    if (!*v) {
      return v->status();
    }
  }
  c.max_failures = *max_failures;

  for (const auto& name : c.enabled) {
    PluginConfig p;
    p.name = name;
    const std::string prefix = "plugin." + name + ".";
    auto interval = r.integer(prefix + "interval_s", 3600, 1, 30 * 86400);
    auto ptimeout = r.integer(prefix + "timeout_s", *timeout, 1, 86400);
    auto pmemory = r.integer(prefix + "memory_limit_mb", *memory, 0, 1 << 20);
    auto pcpu = r.integer(prefix + "cpu_limit_s", *cpu, 0, 86400);
    for (const auto* v : {&interval, &ptimeout, &pmemory, &pcpu}) {
      if (!*v) {
        return v->status();
      }
    }
    p.interval = std::chrono::seconds(*interval);
    p.timeout = std::chrono::seconds(*ptimeout);
    p.memory_limit_mb = *pmemory;
    p.cpu_limit_s = *pcpu;
    for (const auto& key : all) {
      if (key.compare(0, prefix.size(), prefix) == 0) {
        p.values[key.substr(prefix.size())] = Poco::trim(cfg->getString(key));
      }
    }
    c.plugins.emplace(name, std::move(p));
  }

  auto& sy = c.sync;
  sy.hub_url = r.optional("sync.hub_url", "");
  if (!sy.hub_url.empty()) {
    const bool https = sy.hub_url.rfind("https://", 0) == 0;
    const bool http = sy.hub_url.rfind("http://", 0) == 0;
    if (!https && !http) {
      return r.error("sync.hub_url", "'" + sy.hub_url +
                                         "' is not an http(s) URL; set it to "
                                         "https://host[:port]");
    }
    if (http) {
      const std::string rest = sy.hub_url.substr(7);
      const std::string host = rest.substr(0, rest.find_first_of(":/"));
      if (host != "127.0.0.1" && host != "localhost" && host != "[::1]" &&
          host.rfind("127.", 0) != 0) {
        return r.error("sync.hub_url",
                       "plain http:// is allowed only to a loopback address; "
                       "use https://" +
                           rest);
      }
    }
  }
  sy.ca_file = r.optional("sync.ca_file", "");
  sy.enrol_code = r.optional("sync.enrol_code", "");
  auto level = r.integer("sync.zstd_level", 3, 1, 19);
  auto batch = r.integer("sync.batch_rows", 10000, 1, 1000000);
  auto min_batch = r.integer("sync.min_batch_rows", 100, 1, 1000000);
  auto max_batch = r.integer("sync.max_batch_rows", 100000, 1, 1000000);
  auto sync_timeout = r.integer("sync.timeout_s", 60, 1, 3600);
  auto backoff = r.integer("sync.backoff_max_s", 300, 1, 86400);
  auto heartbeat = r.integer("sync.heartbeat_s", 60, 1, 86400);
  auto stall = r.integer("sync.stall_after_s", 300, 1, 30 * 86400);
  auto warn_mb = r.integer("sync.backlog_warn_mb", 400, 1, 1 << 20);
  auto max_mb = r.integer("sync.backlog_max_mb", 500, 1, 1 << 20);
  for (const auto* v : {&level, &batch, &min_batch, &max_batch, &sync_timeout, &backoff, &heartbeat,
                        &stall, &warn_mb, &max_mb}) {
    if (!*v) {
      return v->status();
    }
  }
  if (*min_batch > *max_batch) {
    return r.error("sync.min_batch_rows", "is larger than sync.max_batch_rows");
  }
  if (*warn_mb > *max_mb) {
    return r.error("sync.backlog_warn_mb",
                   "is larger than sync.backlog_max_mb; the warning "
                   "must come before the limit");
  }
  sy.zstd_level = static_cast<int>(*level);
  sy.batch_rows = std::min(std::max(*batch, *min_batch), *max_batch);
  sy.min_batch_rows = *min_batch;
  sy.max_batch_rows = *max_batch;
  sy.timeout = std::chrono::seconds(*sync_timeout);
  sy.backoff_max = std::chrono::seconds(*backoff);
  sy.heartbeat = std::chrono::seconds(*heartbeat);
  sy.stall_after = std::chrono::seconds(*stall);
  sy.backlog_warn_mb = *warn_mb;
  sy.backlog_max_mb = *max_mb;
  c.status_listen = r.optional("status.listen", "127.0.0.1:7711");
  if (c.status_listen != "off") {
    const auto colon = c.status_listen.rfind(':');
    const std::string host = colon == std::string::npos ? "" : c.status_listen.substr(0, colon);
    if (host != "127.0.0.1" && host != "localhost" && host != "[::1]" && host != "::1") {
      return r.error("status.listen", "'" + c.status_listen +
                                          "' must be a loopback "
                                          "host:port such as 127.0.0.1:7711 (or off)");
    }
  }

  c.log_target = r.optional("log.target", "console");
  if (c.log_target != "console" && c.log_target != "file" && c.log_target != "syslog") {
    return r.error("log.target", "'" + c.log_target + "' is not one of console, file, syslog");
  }
  c.log_file = r.optional("log.file", "");
  if (c.log_target == "file" && c.log_file.empty()) {
    return r.error("log.file", "is missing; log.target is 'file', so name the log file");
  }
  c.log_level = r.optional("log.level", "information");
  if (kLevels.count(c.log_level) == 0) {
    return r.error("log.level", "'" + c.log_level +
                                    "' is not a level; write one of error, "
                                    "warning, notice, information, debug");
  }
  return c;
}

}  // namespace exportsync::agent
