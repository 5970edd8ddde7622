// exportsync-hub: the ServerApplication shell around exportsync::central::Hub.
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>
#include <signal.h>

#include <iostream>

#include "exportsync/central/hub.hpp"
#include "exportsync/logging.hpp"
#include "exportsync/version.hpp"

namespace {

using Poco::Util::Option;
using Poco::Util::OptionSet;
namespace central = exportsync::central;

constexpr int kExitConfig = 78;
constexpr int kExitSoftware = 70;

class HubApp : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(Option("config", "c", "hub configuration file (hub.properties)")
                          .argument("FILE")
                          .binding("es.config"));
    options.addOption(Option("create-admin-token", "", "create an admin API token, print it")
                          .argument("LABEL", false)
                          .binding("es.create_token"));
    options.addOption(
        Option("version", "", "print the version and exit").noArgument().binding("es.version"));
    options.addOption(
        Option("help", "h", "print this help and exit").noArgument().binding("es.help"));
  }

  int main(const ArgVec& /*args*/) override {
    if (config().hasProperty("es.help")) {
      Poco::Util::HelpFormatter help(options());
      help.setCommand(commandName());
      help.setUsage("--config FILE [--create-admin-token [LABEL]]");
      help.setHeader("ExportSync central hub: receives the regional agents' changes.");
      help.format(std::cout);
      return EXIT_OK;
    }
    if (config().hasProperty("es.version")) {
      std::cout << "exportsync-hub " << exportsync::kVersion << "\n";
      return EXIT_OK;
    }
    const std::string path = config().getString("es.config", "");
    if (path.empty()) {
      std::cerr << "exportsync-hub: --config FILE is required (e.g. "
                   "/etc/exportsync/hub.properties)\n";
      return kExitConfig;
    }
    auto cfg = central::loadHubConfig(path);
    if (!cfg) {
      std::cerr << "exportsync-hub: " << cfg.status().message() << "\n";
      return kExitConfig;
    }
    exportsync::configureLogging(cfg->log_target, cfg->log_file, cfg->log_level, "exportsync-hub");
    auto& log = Poco::Logger::get("exportsync.hub");
    auto hub = central::Hub::create(*cfg);
    if (!hub) {
      std::cerr << "exportsync-hub: " << hub.status().message() << "\n";
      return kExitSoftware;
    }
    if (config().has("es.create_token")) {
      std::string label = config().getString("es.create_token", "");
      auto token = (*hub)->createAdminToken(label.empty() ? "admin" : label);
      if (!token) {
        std::cerr << "exportsync-hub: " << token.status().message() << "\n";
        return kExitSoftware;
      }
      // The token is shown once; only its hash is stored.
      std::cout << *token << "\n";
      return EXIT_OK;
    }
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGINT, SIGTERM, SIGQUIT}) {
      sigaddset(&signals, s);
    }
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    if (auto st = (*hub)->start(); !st) {
      log.fatal(st.message());
      std::cerr << "exportsync-hub: " << st.message() << "\n";
      return kExitSoftware;
    }
    int sig = 0;
    sigwait(&signals, &sig);
    log.notice("signal " + std::to_string(sig) + ": stopping");
    (*hub)->stop();
    return EXIT_OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  HubApp app;
  return app.run(argc, argv);
}
