// exportsync-hub: the ServerApplication shell around exportsync::central::Hub.
#include <Poco/String.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <Poco/Util/ServerApplication.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>

#include "exportsync/central/hub.hpp"
#include "exportsync/logging.hpp"
#include "exportsync/version.hpp"

namespace {

using Poco::Util::Option;
using Poco::Util::OptionSet;
namespace central = exportsync::central;

constexpr int kExitConfig = 78;
constexpr int kExitSoftware = 70;

// The password: the first line of `file`, or of stdin (without echo on a terminal).
std::optional<std::string> readPassword(const std::string& file) {
  std::string line;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in || !std::getline(in, line)) {
      std::cerr << "exportsync-hub: cannot read a password line from '" << file
                << "'; check the path and its permissions\n";
      return std::nullopt;
    }
  } else {
    const bool tty = ::isatty(STDIN_FILENO) != 0;
    termios old{};
    if (tty) {
      std::cerr << "Mot de passe / password: " << std::flush;
      ::tcgetattr(STDIN_FILENO, &old);
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    const bool got = static_cast<bool>(std::getline(std::cin, line));
    if (tty) {
      ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
      std::cerr << "\n";
    }
    if (!got) {
      std::cerr << "exportsync-hub: no password on stdin; pipe it in or use --password-file\n";
      return std::nullopt;
    }
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

int createAdmin(central::Hub& hub, const std::string& user, const std::string& file) {
  auto password = readPassword(file);
  if (!password) {
    return kExitConfig;
  }
  auto created = hub.createAdmin(user, *password);
  if (!created) {
    std::cerr << "exportsync-hub: --create-admin: " << created.status().message() << "\n";
    return created.status().code() == exportsync::Code::Invalid ? kExitConfig : kExitSoftware;
  }
  std::cout << (*created ? "admin created: " : "password changed, sessions ended: ")
            << Poco::toLower(user) << "\n";
  return 0;
}

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
    options.addOption(Option("create-admin", "",
                             "create a dashboard admin (or set a new password); the password is "
                             "read from stdin or --password-file")
                          .argument("USER")
                          .binding("es.create_admin"));
    options.addOption(Option("password-file", "", "file whose first line is the password")
                          .argument("FILE")
                          .binding("es.password_file"));
    options.addOption(
        Option("version", "", "print the version and exit").noArgument().binding("es.version"));
    options.addOption(
        Option("help", "h", "print this help and exit").noArgument().binding("es.help"));
  }

  int main(const ArgVec& /*args*/) override {
    if (config().hasProperty("es.help")) {
      Poco::Util::HelpFormatter help(options());
      help.setCommand(commandName());
      help.setUsage(
          "--config FILE [--create-admin-token [LABEL] | --create-admin USER "
          "[--password-file FILE]]");
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
    if (config().has("es.create_admin")) {
      return createAdmin(**hub, config().getString("es.create_admin"),
                         config().getString("es.password_file", ""));
    }
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) {
      sigaddset(&signals, s);
    }
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    if (auto st = (*hub)->start(); !st) {
      log.fatal(st.message());
      std::cerr << "exportsync-hub: " << st.message() << "\n";
      return kExitSoftware;
    }
    // SIGHUP (systemctl reload): log.level applies at once; a bad file is refused with the key
    // named and the hub keeps running as it is; any other changed key is named as taking effect
    // at the next restart (the listener, TLS, store and limits are set up once, at start).
    using Props = Poco::Util::PropertyFileConfiguration;
    Poco::AutoPtr<Props> running(new Props(path));
    const auto reload = [&path, &log, &running] {
      auto next = central::loadHubConfig(path);
      Poco::AutoPtr<Props> text;
      try {
        text = next ? new Props(path) : nullptr;
      } catch (const Poco::Exception& e) {
        next = exportsync::Status::config("config: cannot read '" + path + "': " + e.displayText());
      }
      if (!next) {
        log.error("SIGHUP: configuration not reloaded, still running on the previous one: " +
                  next.status().message());
        return;
      }
      std::vector<std::string> keys;
      std::function<void(const Poco::Util::AbstractConfiguration&, const std::string&)> walk =
          [&keys, &walk](const Poco::Util::AbstractConfiguration& c, const std::string& prefix) {
            Poco::Util::AbstractConfiguration::Keys sub;
            c.keys(prefix, sub);
            if (sub.empty() && !prefix.empty()) {
              keys.push_back(prefix);
            }
            for (const auto& k : sub) {
              walk(c, prefix.empty() ? k : prefix + "." + k);
            }
          };
      walk(*running, "");
      walk(*text, "");
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      std::string restart;
      for (const auto& k : keys) {
        if (k != "log.level" && running->getString(k, "") != text->getString(k, "")) {
          restart += (restart.empty() ? "" : ", ") + k;
        }
      }
      const int level = Poco::Logger::parseLevel(next->log_level);
      Poco::Logger::root().setLevel(level);
      Poco::Logger::setLevel("", level);
      running->setString("log.level", next->log_level);
      log.notice("SIGHUP: configuration reloaded from " + path + ": log.level " + next->log_level +
                 (restart.empty() ? std::string()
                                  : "; changed keys that take effect at the next restart "
                                    "(systemctl restart exportsync-hub): " +
                                        restart));
    };
    int sig = 0;
    while (sigwait(&signals, &sig) != 0 || sig == SIGHUP) {
      if (sig == SIGHUP) {
        reload();
        sig = 0;
      }
    }
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
