#include "exportsync/agent/plugin_host.hpp"

#include <Poco/Logger.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>

namespace exportsync::agent {
namespace {

void logAt(Poco::Logger& logger, int level, const std::string& msg) {
  switch (level) {
    case ES_LOG_ERROR: logger.error(msg); break;
    case ES_LOG_WARNING: logger.warning(msg); break;
    case ES_LOG_NOTICE: logger.notice(msg); break;
    case ES_LOG_DEBUG: logger.debug(msg); break;
    default: logger.information(msg); break;
  }
}

// A plugin file or folder that another user may write is a way into the agent: refuse it.
// Trusted are root and the agent's own user (owner) and group (group write); everyone else is
// another user.
std::string unsafePermissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return "cannot be read";
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if ((st.st_mode & S_IWOTH) != 0) {
    return std::string("is writable by every user (mode ") + mode + "); run chmod o-w on it";
  }
  if ((st.st_mode & S_IWGRP) != 0 && st.st_gid != 0 && st.st_gid != ::getegid()) {
    return "is writable by group " + std::to_string(st.st_gid) + " (mode " + mode +
           "), which is neither root's nor the agent's; run chmod g-w on it";
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return "belongs to user " + std::to_string(st.st_uid) +
           ", who is neither root nor the agent's user; run chown root on it";
  }
  return {};
}

}  // namespace

PluginHost::PluginHost(const AgentConfig& config, Store& store, WorkerLauncher launcher,
                       Poco::Logger& logger)
    : config_(config), store_(store), launcher_(std::move(launcher)), logger_(logger) {}

void PluginHost::scan() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config_.plugin_dir, ec)) {
    if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) {
      files.push_back(entry.path().string());
    }
  }
  if (ec) {
    logger_.error("plugins: cannot list plugins.dir '" + config_.plugin_dir + "': " + ec.message());
  }
  std::sort(files.begin(), files.end());

  // Every enabled plugin's settings, prefixed with its name: a plugin's declare() may depend on
  // its configuration (csv-generic), and its name is known only once the worker loaded it.
  WorkerRequest req;
  req.mode = WorkerRequest::Mode::Describe;
  req.settings.region = config_.region;
  for (const auto& [name, p] : config_.plugins) {
    for (const auto& [k, v] : p.values) {
      req.settings.values[name + "." + k] = v;
    }
  }
  const auto log = [this](int level, const std::string& msg) {
    logAt(logger_, level, "plugin describe: " + msg);
  };

  std::vector<PluginRecord> records;
  const std::string dir_problem = unsafePermissions(config_.plugin_dir);
  for (const auto& file : files) {
    PluginRecord rec;
    rec.file = file;
    std::string problem = dir_problem.empty() ? unsafePermissions(file) : "";
    if (!dir_problem.empty()) {
      problem = "is in folder '" + config_.plugin_dir + "', which " + dir_problem;
    }
    if (!problem.empty()) {
      rec.refusal = "plugin file '" + file + "' refused: it " + problem;
      records.push_back(std::move(rec));
      continue;
    }
    req.file = file;
    req.memory_limit_mb = 1024;
    auto out = launcher_.run(req, std::chrono::seconds(30), log);
    if (!out.status) {
      const auto& m = out.status.message();
      rec.refusal = m.rfind("plugin file", 0) == 0 ? m : "plugin file '" + file + "' refused: " + m;
      // Known when the file is a plugin that failed later (e.g. in declare()): an enabled
      // plugin is then reported with this reason, not as missing.
      rec.name = out.description.name;
      rec.version = out.description.version;
      rec.enabled = !rec.name.empty() && config_.plugins.count(rec.name) != 0;
      records.push_back(std::move(rec));
      continue;
    }
    rec.name = out.description.name;
    rec.version = out.description.version;
    rec.description = out.description.description;
    rec.datasets = std::move(out.description.datasets);
    rec.enabled = config_.plugins.count(rec.name) != 0;
    rec.loaded = true;
    for (const auto& other : records) {
      if (other.loaded && other.name == rec.name) {
        rec.loaded = false;
        rec.refusal = "plugin file '" + file + "' refused: plugin name '" + rec.name +
                      "' is already used by '" + other.file + "'; remove one of the two files";
      }
    }
    records.push_back(std::move(rec));
  }

  for (auto& rec : records) {
    if (rec.loaded && rec.enabled) {
      for (const auto& spec : rec.datasets) {
        if (auto st = store_.applySchema(rec.name, spec); !st) {
          rec.loaded = false;
          rec.refusal = "plugin '" + rec.name + "' (" + rec.file + ") refused: " + st.message();
          break;
        }
      }
    }
  }
  for (const auto& name : config_.enabled) {
    const bool found = std::any_of(records.begin(), records.end(), [&](const PluginRecord& r) {
      return r.loaded && r.name == name;
    });
    const bool refused_with_name =
        std::any_of(records.begin(), records.end(),
                    [&](const PluginRecord& r) { return !r.loaded && r.name == name; });
    if (!found && !refused_with_name) {
      PluginRecord rec;
      rec.name = name;
      rec.enabled = true;
      rec.refusal = "plugin '" + name + "' is enabled in plugins.enabled but no file in '" +
                    config_.plugin_dir + "' provides it; install it or remove it from the list";
      // A file refused before its plugin name was known may be the one: say why.
      const auto refused_unnamed = [](const PluginRecord& r) {
        return !r.loaded && r.name.empty() && !r.file.empty();
      };
      const auto unnamed = std::count_if(records.begin(), records.end(), refused_unnamed);
      if (unnamed > 0) {
        const auto first = std::find_if(records.begin(), records.end(), refused_unnamed);
        rec.refusal += " (" + std::to_string(unnamed) +
                       " file(s) there were refused; first: " + first->refusal + ")";
      }
      records.push_back(std::move(rec));
    }
  }
  for (const auto& rec : records) {
    if (!rec.refusal.empty()) {
      logger_.warning(rec.refusal);
    } else {
      logger_.information("plugin '" + rec.name + "' " + rec.version + " found in " + rec.file +
                          (rec.enabled ? " (enabled)" : " (not enabled)"));
    }
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  records_ = std::move(records);
}

std::vector<PluginRecord> PluginHost::plugins() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return records_;
}

std::vector<std::string> PluginHost::runnable() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& name : config_.enabled) {
    for (const auto& r : records_) {
      if (r.loaded && r.enabled && r.name == name) {
        out.push_back(name);
        break;
      }
    }
  }
  return out;
}

RunOutcome PluginHost::run(const std::string& name, const std::atomic<bool>* stop) {
  RunOutcome out;
  out.plugin = name;
  std::string file;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& r : records_) {
      if (r.loaded && r.enabled && r.name == name) {
        file = r.file;
      }
    }
  }
  auto cfg_it = config_.plugins.find(name);
  if (file.empty() || cfg_it == config_.plugins.end()) {
    out.skipped = true;
    out.status = Status::invalid("plugin '" + name + "' is not loaded; see --list-plugins");
    return out;
  }
  const PluginConfig& cfg = cfg_it->second;
  const std::string hash = configHash(cfg);

  auto stored = store_.health(name);
  PluginHealth health;
  if (stored && stored->has_value()) {
    health = **stored;
  }
  health.plugin = name;
  if (health.quarantined && health.config_hash != hash) {
    logger_.notice("plugin '" + name + "': configuration changed, quarantine lifted");
    health.quarantined = false;
    health.consecutive_failures = 0;
  }
  if (health.quarantined) {
    out.skipped = true;
    out.status = Status::cancelled("plugin '" + name + "' is quarantined after " +
                                   std::to_string(health.consecutive_failures) +
                                   " consecutive failures (last: " + health.last_error +
                                   "); fix the cause, then run 'exportsyncctl clear-quarantine " +
                                   name + "' or change its configuration");
    return out;
  }

  WorkerRequest req;
  req.mode = WorkerRequest::Mode::Collect;
  req.file = file;
  req.expect_name = name;
  req.store = config_.storePath();
  req.settings.values = cfg.values;
  req.settings.region = config_.region;
  req.memory_limit_mb = cfg.memory_limit_mb;
  req.cpu_limit_s = cfg.cpu_limit_s;
  Poco::Logger& plog = Poco::Logger::get("plugin." + name);
  auto worker = launcher_.run(
      req, cfg.timeout, [&plog](int level, const std::string& msg) { logAt(plog, level, msg); },
      stop);
  out.stats = worker.stats;
  out.duration = worker.duration;
  out.status = worker.status.withContext("plugin '" + name + "' run");

  health.config_hash = hash;
  health.last_run_at = static_cast<int64_t>(std::time(nullptr));
  health.last_duration_ms = worker.duration.count();
  health.last_upserted = worker.stats.upserted;
  health.last_removed = worker.stats.removed;
  health.last_rejected = worker.stats.rejected;
  const bool shutdown = stop != nullptr && stop->load() && !worker.status;
  if (worker.status) {
    health.consecutive_failures = 0;
    health.last_result = "ok";
    health.last_error.clear();
    logger_.information("plugin '" + name + "': run ok in " +
                        std::to_string(worker.duration.count()) + " ms, " +
                        std::to_string(worker.stats.upserted) + " upserted, " +
                        std::to_string(worker.stats.removed) + " removed, " +
                        std::to_string(worker.stats.rejected) + " rejected");
    for (const auto& r : worker.stats.first_rejections) {
      logger_.warning("plugin '" + name + "' rejected " + r);
    }
  } else if (shutdown) {
    health.last_result = "cancelled";
    health.last_error = worker.status.message();
    logger_.notice(out.status.message());
  } else {
    ++health.consecutive_failures;
    health.last_result = "failed";
    health.last_error = worker.status.message();
    logger_.error(out.status.message());
    if (health.consecutive_failures >= config_.max_failures) {
      health.quarantined = true;
      out.quarantined_now = true;
      logger_.error("plugin '" + name + "' quarantined after " +
                    std::to_string(health.consecutive_failures) +
                    " consecutive failures; it will not run until its configuration changes or "
                    "'exportsyncctl clear-quarantine " +
                    name + "' is run");
    }
  }
  if (auto st = store_.putHealth(health); !st) {
    logger_.error("plugin '" + name + "': cannot record its health: " + st.message());
  }
  return out;
}

}  // namespace exportsync::agent
