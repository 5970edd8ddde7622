// exportsync-agent: the ServerApplication shell around exportsync::agent::Agent. No logic here
// beyond options, exit codes and signal handling.
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>

#include "exportsync/agent/agent.hpp"
#include "exportsync/agent/report.hpp"
#include "exportsync/agent/worker.hpp"
#include "exportsync/logging.hpp"
#include "exportsync/version.hpp"

namespace {

using Poco::Util::Application;
using Poco::Util::Option;
using Poco::Util::OptionSet;
namespace agent = exportsync::agent;

constexpr int kExitConfig = 78;    // EX_CONFIG
constexpr int kExitSoftware = 70;  // EX_SOFTWARE

class AgentApp : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(Option("config", "c", "agent configuration file (agent.properties)")
                          .required(false)
                          .repeatable(false)
                          .argument("FILE")
                          .binding("es.config"));
    options.addOption(Option("once", "", "run every enabled plugin once, then exit")
                          .binding("es.once")
                          .noArgument());
    options.addOption(Option("list-plugins", "", "list every plugin found, loaded or refused")
                          .binding("es.list")
                          .noArgument());
    options.addOption(Option("check-config", "",
                             "check the configuration, state folder, store, plugin folder, "
                             "credential and hub, change nothing, exit 0 when all is well")
                          .binding("es.check")
                          .noArgument());
    options.addOption(
        Option("version", "", "print the version and exit").binding("es.version").noArgument());
    options.addOption(
        Option("help", "h", "print this help and exit").binding("es.help").noArgument());
  }

  int main(const ArgVec& /*args*/) override {
    if (config().hasProperty("es.help")) {
      Poco::Util::HelpFormatter help(options());
      help.setCommand(commandName());
      help.setUsage("--config FILE [--once | --list-plugins | --check-config]");
      help.setHeader(
          "ExportSync regional agent: collects exporter data with plugins and syncs "
          "it to the central hub.");
      help.format(std::cout);
      return EXIT_OK;
    }
    if (config().hasProperty("es.version")) {
      std::cout << "exportsync-agent " << exportsync::kVersion << " (plugin ABI " << ES_ABI_MAJOR
                << "." << ES_ABI_MINOR << ")\n";
      return EXIT_OK;
    }
    const std::string path = config().getString("es.config", "");
    if (path.empty()) {
      std::cerr << "exportsync-agent: --config FILE is required (e.g. "
                   "/etc/exportsync/agent.properties)\n";
      return kExitConfig;
    }
    auto cfg = agent::loadAgentConfig(path);
    if (!cfg) {
      std::cerr << "exportsync-agent: " << cfg.status().message() << "\n";
      return kExitConfig;
    }
    if (config().hasProperty("es.check")) {
      return agent::checkInstallation(*cfg, std::cout) ? EXIT_OK : 1;
    }
    exportsync::configureLogging(cfg->log_target, cfg->log_file, cfg->log_level,
                                 "exportsync-agent");
    auto& log = Poco::Logger::get("exportsync.agent");

    auto created = agent::Agent::create(std::move(*cfg), agent::currentExecutable());
    if (!created) {
      log.fatal(created.status().message());
      std::cerr << "exportsync-agent: " << created.status().message() << "\n";
      return kExitSoftware;
    }
    auto& a = **created;
    if (config().hasProperty("es.list")) {
      std::cout << agent::formatPluginList(a.plugins());
      return EXIT_OK;
    }
    if (config().hasProperty("es.once")) {
      const auto outcomes = a.runOnce();
      int rc = EXIT_OK;
      for (const auto& o : outcomes) {
        if (!o.status) {
          rc = 1;
        }
      }
      std::string sync_line;
      if (a.sync() != nullptr) {
        // --once also syncs everything collected, so the cycle ends with the hub up to date.
        const auto st = a.sync()->syncNow();
        const auto s = a.sync()->status();
        sync_line = st ? "sync: ok, " + std::to_string(s.rows_sent) + " changes sent, hub mark " +
                             std::to_string(s.acked_seq) + "\n"
                       : "sync: FAILED: " + st.message() + "\n";
        if (!st) {
          rc = 1;
        }
      }
      std::cout << agent::formatRunSummary(outcomes, a.store()) << sync_line;
      return rc;
    }

    // Daemon: block the signals we handle before any thread starts, then wait for them here.
    // (--once and --list-plugins keep the default actions: Ctrl-C ends them, and a running
    // worker dies with its parent, its transaction rolled back.)
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGHUP}) {
      sigaddset(&signals, s);
    }
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    log.notice("exportsync-agent " + std::string(exportsync::kVersion) + " started for region " +
               a.config().region + ", store " + a.config().storePath());
    a.start();
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) {
        continue;
      }
      if (sig == SIGUSR1) {
        log.information("SIGUSR1: running every plugin now");
        a.runNow();
        continue;
      }
      if (sig == SIGHUP) {
        // Reload (systemctl reload): a bad file is refused with the key named, and the agent
        // keeps running on the configuration it has.
        auto next = agent::loadAgentConfig(path);
        auto reloaded =
            next ? a.reload(std::move(*next)) : exportsync::Result<std::string>(next.status());
        if (!reloaded) {
          log.error("SIGHUP: configuration not reloaded, still running on the previous one: " +
                    reloaded.status().message());
        }
        continue;
      }
      log.notice("signal " + std::to_string(sig) + ": stopping");
      break;
    }
    a.stop();
    log.notice("exportsync-agent stopped");
    return EXIT_OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--plugin-worker") {
    return agent::runPluginWorker(0, 3);
  }
  AgentApp app;
  return app.run(argc, argv);
}
