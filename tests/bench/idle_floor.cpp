// exportsync-idle-floor: the smallest idle process built on the agent's libraries, to put the
// agent's idle RSS in context (exportsync-bench, "Memory").
//
// A Poco ServerApplication, as the agent is, linked with the same shared libraries (Poco Util,
// JSON, Net, NetSSL, Crypto, SQLite, zstd, Boost.Filesystem), that does nothing but wait for
// SIGTERM. With the argument `tls` it first initialises OpenSSL's client side the way the agent
// does before its first request to an https hub. It writes "ready" on stdout once it is waiting.
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/SharedPtr.h>
#include <Poco/Util/ServerApplication.h>
#include <sqlite3.h>
#include <zstd.h>

#include <boost/filesystem/operations.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

class IdleFloor : public Poco::Util::ServerApplication {
 protected:
  int main(const std::vector<std::string>& args) override {
    const bool tls = args.size() == 1 && args[0] == "tls";
    if (!args.empty() && !tls) {
      std::fprintf(stderr, "usage: exportsync-idle-floor [tls]\n");
      return EXIT_USAGE;
    }
    // One call into each library, so each stays a dependency whatever the linker's defaults.
    const Poco::JSON::Object object;
    const Poco::Net::HTTPClientSession session;
    if (object.size() != 0 || session.connected() || !boost::filesystem::is_directory("/") ||
        sqlite3_libversion_number() == 0 || ZSTD_versionNumber() == 0) {
      return EXIT_SOFTWARE;
    }
    if (tls) {
      Poco::Net::initializeSSL();
      Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject =
          new Poco::Net::RejectCertificateHandler(false);
      Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, nullptr);
    }
    std::printf("ready\n");
    std::fflush(stdout);
    waitForTerminationRequest();
    if (tls) {
      Poco::Net::uninitializeSSL();
    }
    return EXIT_OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  IdleFloor app;
  return app.run(argc, argv);
}
