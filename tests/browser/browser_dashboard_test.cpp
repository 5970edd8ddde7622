// The dashboard in a real browser: a real exportsync-hub on 127.0.0.1 seeded through its public
// HTTP API (an admin account, 12 agents enrolled with enrolment codes in 11 regions, batches of
// rows and of export flows), then dashboard.test.mjs drives headless Debian chromium with
// playwright-core: log in, see the 12 regions, an agent turning red when it goes silent, create
// an enrolment code, revoke an agent, download CSVs, save screenshots (artifacts/).
//
// Exit code 77 (CTest: skipped) when chromium is not installed, and only then.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "sync_test_support.hpp"

namespace exportsync::synctest {
namespace {

const std::string kUser = "amina";
const std::string kPassword = "un mot de passe assez long";
constexpr int kSilentAfterS = 20;

/// `name` found on PATH (or as an absolute path), "" when absent.
std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? name : "";
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    const std::string p = (d.empty() ? "." : d) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) {
      return p;
    }
  }
  return "";
}

/// ES_CHROMIUM when set (it must then be executable), else Debian's chromium; "" when absent.
std::string chromiumPath() {
  const char* env = std::getenv("ES_CHROMIUM");
  if (env != nullptr && *env != '\0') {
    return env;
  }
  for (const char* name : {"/usr/bin/chromium", "chromium"}) {
    if (auto p = which(name); !p.empty()) {
      return p;
    }
  }
  return "";
}

std::string jsonString(const std::string& s) {
  Poco::JSON::Object o;
  o.set("s", s);
  std::ostringstream out;
  o.stringify(out);
  const std::string t = out.str();  // {"s":"..."}
  return t.substr(5, t.size() - 6);
}

struct Office {
  std::string region;
  std::string hostname;
  std::string profile;  // green, late, plugin-failing, disk-low, victim, spare
};

// One agent per region but Dakhla-Oued Ed-Dahab (none: its code is made in the browser), two in
// Casablanca-Settat; each profile gives its heartbeat (dashboard.test.mjs) a colour.
const std::vector<Office> kOffices = {
    {"MA-01", "bureau-tanger-01", "green"},      {"MA-02", "bureau-oujda-01", "green"},
    {"MA-03", "bureau-fes-01", "late"},          {"MA-04", "bureau-rabat-01", "green"},
    {"MA-05", "bureau-benimellal-01", "green"},  {"MA-06", "bureau-casa-01", "green"},
    {"MA-06", "bureau-casa-02", "spare"},        {"MA-07", "bureau-marrakech-01", "green"},
    {"MA-08", "bureau-errachidia-01", "victim"}, {"MA-09", "bureau-agadir-01", "plugin-failing"},
    {"MA-10", "bureau-guelmim-01", "green"},     {"MA-11", "bureau-laayoune-01", "disk-low"},
};

/// The current month, "YYYY-MM" (UTC), so the flows fall in today's indicator window.
std::string thisMonth() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  return buf;
}

using Flow = std::tuple<std::string, std::string, std::string, int64_t>;  // id, hs, dest, centimes

protocol::Batch flowsBatch(const std::string& agent_id, const std::string& region, int64_t base,
                           const std::vector<Flow>& flows, const std::string& period) {
  std::vector<std::vector<Value>> rows;
  for (const auto& [id, hs, dest, centimes] : flows) {
    rows.push_back(flowValues(id, hs, dest, period, centimes));
  }
  return insertBatch(agent_id, region, "inc-" + agent_id, base, exportFlowsDescriptor(),
                     std::move(rows));
}

TEST(BrowserDashboard, LoginRegionsSilentAgentEnrolmentRevokeCsv) {
  disableCoreDumps();
  const std::string chromium = chromiumPath();
  ASSERT_EQ(::access(chromium.c_str(), X_OK), 0)
      << "ES_CHROMIUM=" << chromium << " is not executable";
  const std::string node = which("node");
  ASSERT_FALSE(node.empty()) << "node is not installed; run installer/setup-dev.sh";

  TempDir dir;
  // npm ci (playwright-core from package-lock.json) into the build tree, cache there too.
  const auto ci = runToEnd(
      "/bin/sh", {ES_BROWSER_SOURCE_DIR "/npm-ci.sh", ES_BROWSER_SOURCE_DIR, ES_BROWSER_NODE_DIR},
      logBase(dir.path(), "npm-ci"), seconds(300));
  std::cout << ci.out;
  ASSERT_EQ(ci.exit_code, 0) << "npm ci failed:\n" << ci.out << ci.err;

  HubProcess hub(dir.sub("hub"), {{"hub.monitor.interval_s", "1"},
                                  {"hub.monitor.silent_after_s", std::to_string(kSilentAfterS)}});
  const std::string pw = dir.path() + "/password";
  writeFile(pw, kPassword + "\n");
  const auto admin = runToEnd(
      kHubBinary, {"--config", hub.configPath(), "--create-admin", kUser, "--password-file", pw},
      logBase(dir.path(), "create-admin"));
  ASSERT_EQ(admin.exit_code, 0) << admin.out << admin.err;
  ASSERT_TRUE(hub.start());

  // Enrol the offices with one-time codes, then send each its rows and export flows.
  static const char* const kHs[] = {"0805100000", "6203420000", "8703230000", "0306170000",
                                    "5701100000", "2009110000", "6109100000"};
  static const char* const kDest[] = {"FR", "ES", "US", "DE", "IT", "GB", "NL", "BE", "SN", "CN"};
  const std::string period = thisMonth();
  int64_t active_exporters = 0;
  std::map<std::string, int64_t> flows_by_region;
  std::ostringstream agents;
  for (size_t i = 0; i < kOffices.size(); ++i) {
    const Office& o = kOffices[i];
    const std::string code = hub.createCode(o.region);
    const auto r = hub.post("/api/v1/enrol",
                            R"({"code":")" + code + R"(","hostname":")" + o.hostname + R"("})", "");
    ASSERT_EQ(r.status, 200) << r;
    const std::string id = r.str("agent_id");
    const std::string token = r.str("token");
    // Rows of the example plugin: over a thousand each, so totals show thousands separators.
    std::vector<std::string> ids;
    for (size_t k = 0; k < 1000 + i * 137; ++k) {
      ids.push_back(o.hostname + "-" + std::to_string(k));
    }
    const auto items = hub.sync(encode(itemsBatch(id, o.region, "inc-" + id, 0, ids)), token);
    ASSERT_EQ(items.status, 200) << items;
    // Export flows: a few exporters per office, one to three destinations each.
    std::vector<Flow> flows;
    const size_t exporters = 4 + (i * 7) % 11;
    for (size_t e = 0; e < exporters; ++e) {
      char ice[64];
      std::snprintf(ice, sizeof ice, "%03zu%012zu", i + 1, e + 1);
      for (size_t d = 0; d <= (e + i) % 3; ++d) {
        flows.emplace_back(ice, kHs[(e + i) % 7], kDest[(e * 3 + d + i) % 10],
                           static_cast<int64_t>(123456789 + 98765 * e + 4321 * d + 777 * i));
      }
    }
    active_exporters += static_cast<int64_t>(exporters);
    flows_by_region[o.region] += static_cast<int64_t>(flows.size());
    const auto f = hub.sync(
        encode(flowsBatch(id, o.region, static_cast<int64_t>(ids.size()), flows, period)), token);
    ASSERT_EQ(f.status, 200) << f;
    agents << (i == 0 ? "" : ",") << "\n    {\"id\":" << jsonString(id)
           << ",\"token\":" << jsonString(token) << ",\"region\":" << jsonString(o.region)
           << ",\"hostname\":" << jsonString(o.hostname) << ",\"profile\":" << jsonString(o.profile)
           << "}";
  }
  std::ostringstream by_region;
  for (const auto& [region, n] : flows_by_region) {
    by_region << (by_region.tellp() == 0 ? "" : ",") << jsonString(region) << ":" << n;
  }
  const std::string artifacts = ES_BROWSER_ARTIFACTS_DIR;
  std::error_code ec;
  fs::remove_all(artifacts, ec);  // no screenshot of an earlier run left behind
  fs::create_directories(artifacts);
  const std::string seed = dir.path() + "/seed.json";
  writeFile(seed, "{\n  \"url\": " + jsonString(hub.url()) + ",\n  \"user\": " + jsonString(kUser) +
                      ",\n  \"password\": " + jsonString(kPassword) +
                      ",\n  \"chromium\": " + jsonString(chromium) +
                      ",\n  \"node_dir\": " + jsonString(ES_BROWSER_NODE_DIR) +
                      ",\n  \"artifacts\": " + jsonString(artifacts) +
                      ",\n  \"downloads\": " + jsonString(dir.sub("downloads")) +
                      ",\n  \"silent_after_s\": " + std::to_string(kSilentAfterS) +
                      ",\n  \"expected\": {\"active_exporters\": " +
                      std::to_string(active_exporters) + ", \"flows_by_region\": {" +
                      by_region.str() + "}},\n  \"agents\": [" + agents.str() + "\n  ]\n}\n");

  const auto run = runToEnd(node, {ES_BROWSER_SOURCE_DIR "/dashboard.test.mjs", seed},
                            logBase(dir.path(), "browser"), seconds(400));
  std::cout << run.out << std::flush;
  std::cerr << run.err << std::flush;
  EXPECT_EQ(run.exit_code, 0) << "dashboard.test.mjs failed (screenshots in " << artifacts << ")\n"
                              << hub.logs().substr(0, 20000);
  hub.stop();
}

}  // namespace
}  // namespace exportsync::synctest

int main(int argc, char** argv) {
  if (exportsync::synctest::chromiumPath().empty()) {
    std::cout << "SKIPPED: chromium is not installed (installer/setup-dev.sh installs Debian's "
                 "chromium; or set ES_CHROMIUM); the dashboard browser test did not run\n";
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
