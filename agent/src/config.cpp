#include "exportsync/agent/config.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <set>

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "exportsync/agent/plugin_runtime.hpp"

namespace exportsync::agent {
namespace {

using Poco::Util::AbstractConfiguration;

// Keys the agent knows in its own sections; anything else there is a typo.
const std::set<std::string> kKnownKeys = {
    "agent.region", "agent.state_dir", "plugins.dir",  "plugins.enabled", "plugins.max_failures",
    "plugins.timeout_s", "plugins.memory_limit_mb", "plugins.cpu_limit_s", "log.target",
    "log.file", "log.level"};
const std::set<std::string> kOwnSections = {"agent", "plugins", "log"};
const std::set<std::string> kLevels = {"fatal",  "critical",    "error", "warning",
                                       "notice", "information", "debug", "trace"};

class Reader {
 public:
  Reader(const AbstractConfiguration& cfg, std::string file) : cfg_(cfg), file_(std::move(file)) {}

  Status error(const std::string& key, const std::string& problem) const {
    return Status::config("config: " + file_ + " key '" + key + "': " + problem);
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
  std::string file_;
};

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

bool isValidRegion(const std::string& code) {
  if (code.size() != 5 || code.compare(0, 3, "MA-") != 0 || code[3] < '0' || code[3] > '1' ||
      code[4] < '0' || code[4] > '9') {
    return false;
  }
  const int n = (code[3] - '0') * 10 + (code[4] - '0');
  return n >= 1 && n <= 12;
}

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
  Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg;
  try {
    cfg = new Poco::Util::PropertyFileConfiguration(path);
  } catch (const Poco::FileNotFoundException&) {
    return Status::config("config: file '" + path + "' does not exist; pass --config with the "
                          "path of agent.properties");
  } catch (const Poco::Exception& e) {
    return Status::config("config: cannot read '" + path + "': " + e.displayText());
  }
  const Reader r(*cfg, path);
  AgentConfig c;
  c.source = path;

  std::vector<std::string> all;
  collectKeys(*cfg, "", all);
  for (const auto& key : all) {
    const auto dot = key.find('.');
    const std::string section = key.substr(0, dot);
    if (kOwnSections.count(section) != 0 && kKnownKeys.count(key) == 0) {
      return r.error(key, "is not a known setting; check the spelling against "
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

  auto state = r.required("agent.state_dir", "set it to a writable folder, e.g. "
                                             "/var/lib/exportsync");
  if (!state) {
    return state.status();
  }
  if (!isDirectory(*state)) {
    return r.error("agent.state_dir", "'" + *state + "' is not an existing folder; create it "
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

  Poco::StringTokenizer names(r.optional("plugins.enabled", ""), ",",
                              Poco::StringTokenizer::TOK_TRIM |
                                  Poco::StringTokenizer::TOK_IGNORE_EMPTY);
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
    return r.error("log.level", "'" + c.log_level + "' is not a level; write one of error, "
                                "warning, notice, information, debug");
  }
  return c;
}

}  // namespace exportsync::agent
