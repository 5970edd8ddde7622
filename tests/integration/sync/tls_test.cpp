// HTTPS between agent and hub, with the test's own certificate authority (made with the
// openssl command): the agent verifies the hub against sync.ca_file, and a certificate it
// cannot verify is reported as a certificate error, never bypassed.
#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sync_test_support.hpp"

namespace exportsync::synctest {
namespace {

using ::testing::HasSubstr;

// Runs a shell command; true on exit 0.
bool sh(const std::string& command) { return std::system(command.c_str()) == 0; }

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    disableCoreDumps();
    tls_ = dir_.sub("tls");
    // A CA, and a hub certificate for localhost and 127.0.0.1 signed by it.
    ASSERT_TRUE(sh("cd '" + tls_ +
                   "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
                   "-days 2 -subj '/CN=ExportSync Test CA' 2>/dev/null"
                   " && openssl req -newkey rsa:2048 -nodes -keyout hub.key -out hub.csr "
                   "-subj '/CN=localhost' 2>/dev/null"
                   " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf"
                   " && openssl x509 -req -in hub.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                   "-out hub.crt -days 2 -extfile ext.cnf 2>/dev/null"
                   // A second CA the agent must not trust.
                   " && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key "
                   "-out other.crt -days 2 -subj '/CN=Other CA' 2>/dev/null"));
    hub_root_ = dir_.sub("hub");
    fs::create_directories(hub_root_ + "/data");
    fs::permissions(hub_root_ + "/data", fs::perms(0755));
    writeFile(hub_root_ + "/hub.properties",
              "hub.listen = 127.0.0.1:0\nhub.port_file = " + hub_root_ +
                  "/hub.port\nhub.data_dir = " + hub_root_ + "/data\nhub.tls.certificate = " +
                  tls_ + "/hub.crt\nhub.tls.private_key = " + tls_ + "/hub.key\n");
    const auto token = runToEnd(
        kHubBinary, {"--config", hub_root_ + "/hub.properties", "--create-admin-token", "tls-test"},
        logBase(hub_root_, "token"));
    ASSERT_EQ(token.exit_code, 0) << token.err;
    admin_token_ = token.out.substr(0, token.out.find('\n'));
    hub_ = std::make_unique<Process>(
        kHubBinary, std::vector<std::string>{"--config", hub_root_ + "/hub.properties"},
        logBase(hub_root_, "hub"));
    ASSERT_TRUE(waitUntil(
        [this] {
          std::ifstream in(hub_root_ + "/hub.port");
          unsigned p = 0;
          if (in >> p && p != 0) {
            port_ = static_cast<uint16_t>(p);
            return true;
          }
          return false;
        },
        seconds(30)));
    Poco::Net::initializeSSL();
  }

  void TearDown() override {
    if (hub_) {
      hub_->kill9();
    }
  }

  // An admin call over HTTPS trusting the test CA.
  std::pair<int, std::string> adminPost(const std::string& path, const std::string& body) {
    Poco::Net::Context::Ptr ctx =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", tls_ + "/ca.crt",
                               Poco::Net::Context::VERIFY_STRICT, 9, false);
    Poco::Net::HTTPSClientSession session("localhost", port_, ctx);
    Poco::Net::HTTPRequest req("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Authorization", "Bearer " + admin_token_);
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse res;
    std::string out;
    Poco::StreamCopier::copyToString(session.receiveResponse(res), out);
    return {static_cast<int>(res.getStatus()), out};
  }

  std::string newCode() {
    const auto [status, body] = adminPost("/api/v1/admin/enrolment-codes", R"({"region":"MA-01"})");
    EXPECT_EQ(status, 201) << body;
    const auto at = body.find("\"code\":\"");
    return at == std::string::npos ? std::string() : body.substr(at + 8, 14);
  }

  std::string agentConfig(const std::string& home, const std::string& ca_file) {
    fs::create_directories(home + "/state");
    fs::permissions(home + "/state", fs::perms(0755));
    std::string text = "agent.region = MA-01\nagent.state_dir = " + home +
                       "/state\nplugins.dir = " ES_PLUGIN_DIR
                       "\nplugins.enabled = example\n"
                       "plugin.example.rows = 25\nstatus.listen = off\nsync.hub_url = "
                       "https://localhost:" +
                       std::to_string(port_) + "\nsync.timeout_s = 10\n";
    if (!ca_file.empty()) {
      text += "sync.ca_file = " + ca_file + "\n";
    }
    writeFile(home + "/agent.properties", text);
    return home + "/agent.properties";
  }

  TempDir dir_;
  std::string tls_;
  std::string hub_root_;
  std::string admin_token_;
  std::unique_ptr<Process> hub_;
  uint16_t port_ = 0;
};

TEST_F(TlsTest, AgentVerifiesTheHubAgainstItsConfiguredCaAndSyncs) {
  const std::string home = dir_.sub("agent");
  const std::string config = agentConfig(home, tls_ + "/ca.crt");
  const auto enrol = runToEnd(kCtlBinary,
                              {"--config", config, "enroll", "--hub",
                               "https://localhost:" + std::to_string(port_), "--code", newCode()},
                              logBase(home, "enroll"));
  ASSERT_EQ(enrol.exit_code, 0) << enrol.out << enrol.err;
  EXPECT_THAT(enrol.out, HasSubstr("mode 0600"));
  EXPECT_EQ(fs::status(home + "/state/credentials.properties").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const auto once = runToEnd(kAgentBinary, {"--config", config, "--once"}, logBase(home, "once"));
  ASSERT_EQ(once.exit_code, 0) << once.out << once.err;
  EXPECT_THAT(once.out, HasSubstr("sync: ok, 26 changes sent"));
  SqliteDb hub_db(hub_root_ + "/data/central.db", true);
  EXPECT_EQ(hub_db.integer("SELECT count(*) FROM example__items"), 25);
}

TEST_F(TlsTest, UntrustedCertificateIsReportedAsACertificateErrorAndNothingIsSent) {
  const std::string home = dir_.sub("agent");
  // The agent trusts another CA only: the hub's certificate cannot be verified.
  const std::string config = agentConfig(home, tls_ + "/other.crt");
  const auto enrol = runToEnd(kCtlBinary,
                              {"--config", config, "enroll", "--hub",
                               "https://localhost:" + std::to_string(port_), "--code", newCode()},
                              logBase(home, "enroll"));
  EXPECT_NE(enrol.exit_code, 0);
  EXPECT_THAT(enrol.err, HasSubstr("certificate"));
  EXPECT_FALSE(fs::exists(home + "/state/credentials.properties"));

  // With a credential obtained elsewhere, a sync is refused by the agent the same way.
  const std::string good = agentConfig(dir_.sub("good"), tls_ + "/ca.crt");
  ASSERT_EQ(runToEnd(kCtlBinary,
                     {"--config", good, "enroll", "--hub",
                      "https://localhost:" + std::to_string(port_), "--code", newCode()},
                     logBase(home, "enroll-good"))
                .exit_code,
            0);
  fs::copy_file(dir_.sub("good") + "/state/credentials.properties",
                home + "/state/credentials.properties");
  fs::permissions(home + "/state/credentials.properties", fs::perms(0600));
  const auto once = runToEnd(kAgentBinary, {"--config", config, "--once"}, logBase(home, "once"));
  EXPECT_NE(once.exit_code, 0);
  EXPECT_THAT(once.out, HasSubstr("sync: FAILED"));
  EXPECT_THAT(once.out, HasSubstr("certificate"));
  SqliteDb hub_db(hub_root_ + "/data/central.db", true);
  EXPECT_EQ(hub_db.integer("SELECT count(*) FROM sqlite_master WHERE name = 'example__items'"), 0);
}

}  // namespace
}  // namespace exportsync::synctest
