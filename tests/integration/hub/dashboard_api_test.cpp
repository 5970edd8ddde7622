// The dashboard API of docs/dashboard-api.md against a real exportsync-hub on 127.0.0.1:
// login, session and logout; CSRF; refusals (no login, bad CSRF token, agent credential,
// rate-limited login, expired session) on every admin endpoint; monitoring, history, alerts,
// admin actions, indicators, CSV downloads and /metrics.
#include <Poco/SHA2Engine.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "sync_test_support.hpp"

namespace exportsync::synctest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Headers = std::map<std::string, std::string>;

const std::string kPassword = "un mot de passe assez long";

/// One request with extra headers (cookie, CSRF token, bearer) on a fresh connection; every
/// method but GET carries `body`.
Reply call(uint16_t port, const std::string& method, const std::string& path,
           const Headers& headers = {}, const std::string& body = "") {
  return test_support::httpRequest(
      port, method, path, headers,
      method != "GET" ? std::optional<std::string>(body) : std::nullopt);
}

using test_support::bearer;

// Every endpoint that needs an admin, with a harmless body.
struct Endpoint {
  std::string method;
  std::string path;
  std::string body;
};
std::vector<Endpoint> adminEndpoints() {
  return {{"GET", "/api/v1/admin/overview", ""},
          {"GET", "/api/v1/admin/agents", ""},
          {"GET", "/api/v1/admin/agents/ag-0000000000000000", ""},
          {"GET", "/api/v1/admin/history?range=day", ""},
          {"GET", "/api/v1/admin/alerts", ""},
          {"POST", "/api/v1/admin/alerts/1/resolve", "{}"},
          {"POST", "/api/v1/admin/enrolment-codes", R"({"region":"MA-01"})"},
          {"POST", "/api/v1/admin/agents/ag-0000000000000000/revoke", ""},
          {"GET", "/api/v1/admin/set-aside", ""},
          {"GET", "/api/v1/admin/datasets", ""},
          {"GET", "/api/v1/admin/indicators", ""},
          {"GET", "/api/v1/admin/indicators/regions.csv", ""},
          {"GET", "/api/v1/admin/core/export_flows.csv", ""},
          {"GET", "/api/v1/datasets/example/items.csv", ""},
          {"GET", "/metrics", ""}};
}

class DashboardApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { disableCoreDumps(); }
  void TearDown() override {
    if (HasFailure() && hub_) {
      std::fprintf(stderr, "%s\n", hub_->logs().c_str());
    }
    hub_.reset();
  }

  void startHub(std::map<std::string, std::string> extra = {}) {
    extra.emplace("hub.monitor.interval_s", "1");
    hub_ = std::make_unique<HubProcess>(dir_.sub("hub"), std::move(extra));
    createAdmin("amina", kPassword);
    ASSERT_TRUE(hub_->start());
  }

  void createAdmin(const std::string& user, const std::string& password) {
    const std::string file = dir_.path() + "/pw-" + user;
    writeFile(file, password + "\n");
    const auto r =
        runToEnd(kHubBinary,
                 {"--config", hub_->configPath(), "--create-admin", user, "--password-file", file},
                 logBase(dir_.path(), "create-admin"));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr(user));
  }

  Reply login(const std::string& user, const std::string& password) {
    return call(hub_->port(), "POST", "/api/v1/session", {},
                R"({"user":")" + user + R"(","password":")" + password + R"("})");
  }

  /// Logs amina in; returns {cookie header value, csrf token}.
  std::pair<std::string, std::string> session() {
    const auto r = login("amina", kPassword);
    EXPECT_EQ(r.status, 200) << r;
    const std::string set = r.headers.count("Set-Cookie") ? r.headers.at("Set-Cookie") : "";
    return {set.substr(0, set.find(';')), r.str("csrf_token")};
  }
  Headers cookie(const std::pair<std::string, std::string>& s, bool with_csrf = false) {
    Headers h{{"Cookie", s.first}};
    if (with_csrf) {
      h["X-CSRF-Token"] = s.second;
    }
    return h;
  }

  Reply get(const std::string& path, const Headers& h) {
    return call(hub_->port(), "GET", path, h);
  }

  TempDir dir_;
  std::unique_ptr<HubProcess> hub_;
};

TEST_F(DashboardApiTest, LoginSessionLogout) {
  startHub();
  const auto bad = login("amina", "not the password");
  EXPECT_EQ(bad.status, 401) << bad;
  EXPECT_EQ(bad.str("error"), "bad-login");
  EXPECT_EQ(login("nobody", kPassword).str("error"), "bad-login");  // same answer
  EXPECT_EQ(call(hub_->port(), "POST", "/api/v1/session", {}, "not json").str("error"), "bad-json");
  EXPECT_EQ(call(hub_->port(), "POST", "/api/v1/session", {}, R"({"user":"amina"})").str("error"),
            "bad-request");

  const auto ok = login("Amina", kPassword);  // user names are case-insensitive
  ASSERT_EQ(ok.status, 200) << ok;
  const std::string set = ok.headers.at("Set-Cookie");
  EXPECT_THAT(set, HasSubstr("es_session="));
  EXPECT_THAT(set, HasSubstr("HttpOnly"));
  EXPECT_THAT(set, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(set, HasSubstr("Path=/"));
  EXPECT_THAT(set, ::testing::Not(HasSubstr("Secure")));  // plain HTTP on loopback
  EXPECT_EQ(ok.str("user"), "amina");
  EXPECT_EQ(ok.str("csrf_token").size(), 64u);
  const std::pair<std::string, std::string> s{set.substr(0, set.find(';')), ok.str("csrf_token")};
  EXPECT_EQ(s.first.size(), std::string("es_session=").size() + 64);

  const auto who = get("/api/v1/session", cookie(s));
  ASSERT_EQ(who.status, 200) << who;
  EXPECT_EQ(who.str("csrf_token"), s.second);
  EXPECT_EQ(who.json()->getValue<int64_t>("idle_timeout_s"), 1800);
  EXPECT_EQ(get("/api/v1/admin/overview", cookie(s)).status, 200);

  // Logout needs the CSRF token too.
  EXPECT_EQ(call(hub_->port(), "DELETE", "/api/v1/session", cookie(s)).str("error"), "csrf");
  const auto out = call(hub_->port(), "DELETE", "/api/v1/session", cookie(s, true));
  ASSERT_EQ(out.status, 200) << out;
  EXPECT_THAT(out.headers.at("Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(get("/api/v1/session", cookie(s)).str("error"), "session-expired");
  EXPECT_EQ(get("/api/v1/admin/overview", cookie(s)).str("error"), "session-expired");
  EXPECT_EQ(get("/api/v1/session", {}).str("error"), "no-credential");
  EXPECT_EQ(get("/api/v1/admin/overview", {{"Cookie", "es_session=forged"}}).str("error"),
            "session-expired");
}

TEST_F(DashboardApiTest, EveryAdminEndpointNeedsALogin) {
  startHub();
  for (const auto& e : adminEndpoints()) {
    const auto r = call(hub_->port(), e.method, e.path, {}, e.body);
    EXPECT_EQ(r.status, 401) << e.method << " " << e.path << ": " << r;
    EXPECT_EQ(r.str("error"), "no-credential") << e.path;
    EXPECT_THAT(r.str("message"), HasSubstr("POST /api/v1/session")) << e.path;
    const auto forged = call(hub_->port(), e.method, e.path, bearer("esa1.forged"), e.body);
    EXPECT_EQ(forged.status, 401) << e.path << ": " << forged;
    EXPECT_EQ(forged.str("error"), "unknown-credential");
  }
}

TEST_F(DashboardApiTest, AgentCredentialsAreForbiddenEverywhere) {
  startHub();
  const auto [agent_id, token] = hub_->enrolDirect(hub_->createCode("MA-06"));
  for (const auto& e : adminEndpoints()) {
    const auto r = call(hub_->port(), e.method, e.path, bearer(token), e.body);
    EXPECT_EQ(r.status, 403) << e.method << " " << e.path << ": " << r;
    EXPECT_EQ(r.str("error"), "agent-credential") << e.path;
  }
  // Still forbidden once revoked.
  ASSERT_EQ(
      hub_->post("/api/v1/admin/agents/" + agent_id + "/revoke", "", hub_->adminToken()).status,
      200);
  EXPECT_EQ(call(hub_->port(), "GET", "/api/v1/admin/overview", bearer(token)).status, 403);
}

TEST_F(DashboardApiTest, StateChangesByCookieNeedTheCsrfToken) {
  startHub();
  const auto s = session();
  const std::string body = R"({"region":"MA-06"})";
  const std::string path = "/api/v1/admin/enrolment-codes";
  const auto none = call(hub_->port(), "POST", path, cookie(s), body);
  EXPECT_EQ(none.status, 403) << none;
  EXPECT_EQ(none.str("error"), "csrf");
  auto wrong = cookie(s);
  wrong["X-CSRF-Token"] = std::string(64, '0');
  EXPECT_EQ(call(hub_->port(), "POST", path, wrong, body).str("error"), "csrf");
  // Another session's token does not fit this session.
  auto other = cookie(s);
  other["X-CSRF-Token"] = session().second;
  EXPECT_EQ(call(hub_->port(), "POST", path, other, body).str("error"), "csrf");
  const auto ok = call(hub_->port(), "POST", path, cookie(s, true), body);
  EXPECT_EQ(ok.status, 201) << ok;
  EXPECT_EQ(ok.str("region"), "MA-06");
  // GETs need no token; admin API tokens need none either.
  EXPECT_EQ(get("/api/v1/admin/agents", cookie(s)).status, 200);
  EXPECT_EQ(call(hub_->port(), "POST", path, bearer(hub_->adminToken()), body).status, 201);
  // Revoke by cookie, with the token.
  const auto [agent_id, token] = hub_->enrolDirect(ok.str("code"));
  const std::string revoke = "/api/v1/admin/agents/" + agent_id + "/revoke";
  EXPECT_EQ(call(hub_->port(), "POST", revoke, cookie(s)).str("error"), "csrf");
  const auto done = call(hub_->port(), "POST", revoke, cookie(s, true));
  EXPECT_EQ(done.status, 200) << done;
  EXPECT_EQ(call(hub_->port(), "POST", "/api/v1/admin/agents/ag-nobody/revoke", cookie(s, true))
                .str("error"),
            "unknown-agent");
}

TEST_F(DashboardApiTest, LoginIsRateLimitedPerUserAndPerAddress) {
  startHub({{"hub.login.max_failures_per_user", "3"},
            {"hub.login.max_failures_per_ip", "5"},
            {"hub.login.window_s", "600"}});
  createAdmin("karim", kPassword);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(login("amina", "wrong password " + std::to_string(i)).status, 401);
  }
  // The fourth attempt is refused even with the right password.
  const auto limited = login("amina", kPassword);
  EXPECT_EQ(limited.status, 429) << limited;
  EXPECT_EQ(limited.str("error"), "rate-limited");
  ASSERT_EQ(limited.headers.count("Retry-After"), 1u);
  const int retry = std::stoi(limited.headers.at("Retry-After"));
  EXPECT_GT(retry, 500);
  EXPECT_LE(retry, 600);
  EXPECT_THAT(limited.str("message"), HasSubstr("amina"));
  // Another user from the same address may still log in...
  EXPECT_EQ(login("karim", kPassword).status, 200);
  // ...until the address has 5 failures.
  EXPECT_EQ(login("karim", "wrong").status, 401);
  EXPECT_EQ(login("karim", "wrong again").status, 401);
  const auto by_ip = login("karim", kPassword);
  EXPECT_EQ(by_ip.status, 429) << by_ip;
  EXPECT_THAT(by_ip.str("message"), HasSubstr("127.0.0.1"));
}

TEST_F(DashboardApiTest, ExpiredSessionIsRefused) {
  startHub({{"hub.session.ttl_s", "5"}});
  const auto s = session();
  EXPECT_EQ(get("/api/v1/admin/overview", cookie(s)).status, 200);
  ASSERT_TRUE(waitUntil([&] { return get("/api/v1/session", cookie(s)).status == 401; },
                        seconds(15), milliseconds(250)));
  const auto r = get("/api/v1/admin/overview", cookie(s));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.str("error"), "session-expired");
  EXPECT_THAT(r.str("message"), HasSubstr("log in again"));
  // A POST with a dead session and a valid-looking token is refused the same way.
  EXPECT_EQ(call(hub_->port(), "POST", "/api/v1/admin/enrolment-codes", cookie(s, true),
                 R"({"region":"MA-06"})")
                .str("error"),
            "session-expired");
}

// A heartbeat as the agent sends it (agent/src/agent.cpp statusJson), with one failing plugin.
std::string heartbeat(int64_t backlog_rows, bool failing) {
  return std::string(R"({"version":"0.1.0","region":"MA-06","time":0,"plugins":[)") +
         R"({"name":"artisanat","version":"1.0","file":"x.so","enabled":true,"loaded":true,)" +
         R"("last_result":")" + (failing ? "failed" : "ok") + R"(","last_error":")" +
         (failing ? "fichier illisible" : "") +
         R"(","rows_upserted":4,"rows_removed":0,"rows_rejected":3,"quarantined":false}],)" +
         R"("sync":{"state":"idle","agent_id":"x","hub_url":"h","hub_reachable":true,)" +
         R"("acked_seq":0,"last_sync_ok_at":0,"last_result":"","last_error":"","last_error_at":0,)" +
         R"("batch_rows":5000,"rows_sent":0,"bytes_sent":0,"backlog_warning":false,)" +
         R"("backlog_full":false},"backlog_rows":)" + std::to_string(backlog_rows) +
         R"(,"backlog_bytes":4000,"oldest_unacked_age_s":20,"disk_free_bytes":50000000000})";
}

JsonPtr regionOf(const Reply& overview, const std::string& code) {
  auto list = overview.json()->getArray("regions");
  for (size_t i = 0; list && i < list->size(); ++i) {
    auto o = list->getObject(static_cast<unsigned>(i));
    if (o->getValue<std::string>("region") == code) {
      return o;
    }
  }
  return new Poco::JSON::Object;
}

TEST_F(DashboardApiTest, MonitoringOverviewAgentHistoryAndAlerts) {
  startHub();
  const auto s = session();
  const auto [agent_id, token] = hub_->enrolDirect(hub_->createCode("MA-06"));
  ASSERT_EQ(hub_->post("/api/v1/status", heartbeat(12, true), token).status, 200);
  ASSERT_EQ(
      hub_->sync(encode(itemsBatch(agent_id, "MA-06", "inc-1", 0, {"a", "b", "c"})), token).status,
      200);
  // A refused batch leaves an error in the agent's recent errors.
  EXPECT_EQ(hub_->sync("not a batch", token).status, 400);

  const auto overview = get("/api/v1/admin/overview", cookie(s));
  ASSERT_EQ(overview.status, 200) << overview;
  ASSERT_EQ(overview.json()->getArray("regions")->size(), 12u);
  auto casa = regionOf(overview, "MA-06");
  EXPECT_EQ(casa->getValue<std::string>("region_name"), "Casablanca-Settat");
  EXPECT_EQ(casa->getValue<std::string>("health"), "amber");  // the failing plugin
  EXPECT_EQ(casa->getObject("agents")->getValue<int>("active"), 1);
  EXPECT_EQ(casa->getValue<int64_t>("backlog_rows"), 12);
  EXPECT_EQ(casa->getValue<int64_t>("rows_received"), 3);
  EXPECT_GT(casa->getValue<int64_t>("last_sync_at"), 0);
  EXPECT_EQ(regionOf(overview, "MA-01")->getValue<std::string>("health"), "none");
  EXPECT_EQ(overview.json()->getObject("thresholds")->getValue<int64_t>("late_after_s"), 900);

  const auto detail = get("/api/v1/admin/agents/" + agent_id, cookie(s));
  ASSERT_EQ(detail.status, 200) << detail;
  auto d = detail.json();
  EXPECT_EQ(d->getValue<std::string>("health"), "amber");
  EXPECT_EQ(d->getValue<std::string>("version"), "0.1.0");
  EXPECT_EQ(d->getValue<int64_t>("backlog_rows"), 12);
  EXPECT_EQ(d->getValue<int64_t>("disk_free_bytes"), 50000000000LL);
  EXPECT_EQ(d->getValue<int64_t>("rows_received"), 3);
  EXPECT_EQ(d->getValue<int64_t>("errors"), 1);
  ASSERT_EQ(d->getArray("plugins")->size(), 1u);
  EXPECT_EQ(d->getArray("plugins")->getObject(0)->getValue<std::string>("last_result"), "failed");
  ASSERT_EQ(d->getArray("errors_recent")->size(), 1u);
  EXPECT_THAT(d->getArray("errors_recent")->getObject(0)->getValue<std::string>("message"),
              HasSubstr("batch refused"));
  auto reasons = d->getArray("reasons");
  ASSERT_EQ(reasons->size(), 1u);
  EXPECT_EQ(reasons->getObject(0)->getValue<std::string>("code"), "plugin-failing");
  EXPECT_THAT(reasons->getObject(0)->getValue<std::string>("message"),
              HasSubstr("fichier illisible"));
  EXPECT_EQ(get("/api/v1/admin/agents/ag-nobody", cookie(s)).str("error"), "unknown-agent");
  // The agents list carries the health too.
  EXPECT_THAT(get("/api/v1/admin/agents", cookie(s)).body, HasSubstr("\"health\":\"amber\""));

  for (const std::string& q : std::vector<std::string>{"", "&region=MA-06", "&agent=" + agent_id}) {
    const auto h = get("/api/v1/admin/history?range=day" + q, cookie(s));
    ASSERT_EQ(h.status, 200) << h;
    auto points = h.json()->getArray("points");
    ASSERT_EQ(points->size(), 288u) << q;
    EXPECT_EQ(h.json()->getValue<int64_t>("step_s"), 300);
    // Summed over the day, so a bucket boundary passing during the test does not matter.
    int64_t rows = 0, batches = 0, bytes = 0, backlog = 0, lag = 0;
    for (size_t i = 0; i < points->size(); ++i) {
      auto p = points->getObject(static_cast<unsigned>(i));
      rows += p->getValue<int64_t>("rows");
      batches += p->getValue<int64_t>("batches");
      bytes += p->getValue<int64_t>("bytes");
      backlog = std::max(backlog, p->getValue<int64_t>("backlog_rows"));
      lag = std::max(lag, p->getValue<int64_t>("lag_s"));
    }
    EXPECT_EQ(rows, 3) << q;
    EXPECT_EQ(batches, 1) << q;
    EXPECT_GT(bytes, 0) << q;
    EXPECT_EQ(backlog, 12) << q;
    EXPECT_EQ(lag, 20) << q;
  }
  const auto week = get("/api/v1/admin/history?range=week", cookie(s));
  EXPECT_EQ(week.json()->getArray("points")->size(), 168u);
  EXPECT_EQ(get("/api/v1/admin/history?range=year", cookie(s)).str("error"), "bad-range");
  EXPECT_EQ(get("/api/v1/admin/history?region=MA-13", cookie(s)).str("error"), "bad-region");
  EXPECT_EQ(get("/api/v1/admin/history?region=MA-06&agent=x", cookie(s)).str("error"),
            "bad-request");
  EXPECT_EQ(get("/api/v1/admin/history?agent=ag-nobody", cookie(s)).str("error"), "unknown-agent");

  // The monitor (every second here) opens the plugin alert, in French.
  Poco::JSON::Object::Ptr alert;
  ASSERT_TRUE(waitUntil(
      [&] {
        auto list = get("/api/v1/admin/alerts", cookie(s)).json()->getArray("alerts");
        if (list && list->size() == 1) {
          alert = list->getObject(0);
          return true;
        }
        return false;
      },
      seconds(20), milliseconds(200)));
  EXPECT_EQ(alert->getValue<std::string>("code"), "plugin-failing");
  EXPECT_EQ(alert->getValue<std::string>("severity"), "warning");
  EXPECT_EQ(alert->getValue<std::string>("region"), "MA-06");
  EXPECT_EQ(alert->getValue<std::string>("agent_id"), agent_id);
  EXPECT_EQ(alert->getValue<std::string>("subject"), "artisanat");
  EXPECT_THAT(alert->getValue<std::string>("message"), HasSubstr("Le plugin « artisanat »"));
  EXPECT_GT(alert->getValue<int64_t>("since"), 0);
  EXPECT_EQ(get("/api/v1/admin/alerts?region=MA-01", cookie(s)).json()->getArray("alerts")->size(),
            0u);
  EXPECT_EQ(get("/api/v1/admin/alerts?state=closed", cookie(s)).str("error"), "bad-request");
  EXPECT_EQ(get("/api/v1/admin/alerts?limit=0", cookie(s)).str("error"), "bad-limit");

  // The plugin recovers: the alert is resolved by the hub.
  ASSERT_EQ(hub_->post("/api/v1/status", heartbeat(0, false), token).status, 200);
  ASSERT_TRUE(waitUntil(
      [&] {
        return get("/api/v1/admin/alerts", cookie(s)).json()->getArray("alerts")->size() == 0;
      },
      seconds(20), milliseconds(200)));
  const auto all = get("/api/v1/admin/alerts?state=all", cookie(s));
  EXPECT_THAT(all.body, HasSubstr("\"resolved_by\":\"hub\""));
  EXPECT_EQ(
      regionOf(get("/api/v1/admin/overview", cookie(s)), "MA-06")->getValue<std::string>("health"),
      "green");
}

TEST_F(DashboardApiTest, EventAlertsAndManualResolve) {
  startHub();
  const auto s = session();
  const auto [agent_id, token] = hub_->enrolDirect(hub_->createCode("MA-06"));
  ASSERT_EQ(hub_->sync(encode(itemsBatch(agent_id, "MA-06", "inc-1", 0, {"a"})), token).status,
            200);
  // An incompatible schema change: quantity becomes text at the same version.
  auto b = itemsBatch(agent_id, "MA-06", "inc-1", 1, {"b"});
  b.header.datasets[0].columns[2].type = ColumnType::Text;
  b.changes[0].values[2] = Value("sept");
  const auto refused = hub_->sync(encode(b), token);
  ASSERT_EQ(refused.status, 422) << refused;
  auto alerts = get("/api/v1/admin/alerts", cookie(s)).json()->getArray("alerts");
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ(alerts->getObject(0)->getValue<std::string>("code"), "schema-refused");
  EXPECT_EQ(alerts->getObject(0)->getValue<std::string>("severity"), "critical");
  const int64_t id = alerts->getObject(0)->getValue<int64_t>("id");
  EXPECT_EQ(
      regionOf(get("/api/v1/admin/overview", cookie(s)), "MA-06")->getValue<std::string>("health"),
      "red");
  // Resolved by hand (CSRF required), then unknown.
  const std::string resolve = "/api/v1/admin/alerts/" + std::to_string(id) + "/resolve";
  EXPECT_EQ(call(hub_->port(), "POST", resolve, cookie(s)).str("error"), "csrf");
  const auto done = call(hub_->port(), "POST", resolve, cookie(s, true));
  EXPECT_EQ(done.status, 200) << done;
  EXPECT_EQ(call(hub_->port(), "POST", resolve, cookie(s, true)).str("error"), "unknown-alert");
  EXPECT_EQ(
      call(hub_->port(), "POST", "/api/v1/admin/alerts/x/resolve", cookie(s, true)).str("error"),
      "unknown-alert");
  EXPECT_THAT(get("/api/v1/admin/alerts?state=all", cookie(s)).body,
              HasSubstr("\"resolved_by\":\"amina\""));

  // A revoked credential used again opens a critical alert naming the address.
  ASSERT_EQ(
      hub_->post("/api/v1/admin/agents/" + agent_id + "/revoke", "", hub_->adminToken()).status,
      200);
  EXPECT_EQ(hub_->post("/api/v1/status", heartbeat(0, false), token).status, 401);
  alerts = get("/api/v1/admin/alerts", cookie(s)).json()->getArray("alerts");
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ(alerts->getObject(0)->getValue<std::string>("code"), "revoked-credential-used");
  EXPECT_THAT(alerts->getObject(0)->getValue<std::string>("message"), HasSubstr("127.0.0.1"));
  const auto casa = regionOf(get("/api/v1/admin/overview", cookie(s)), "MA-06");
  EXPECT_EQ(casa->getObject("alerts_open")->getValue<int>("critical"), 1);
  EXPECT_EQ(casa->getValue<std::string>("health"), "red");  // only a revoked agent, but used
}

// One export_flows batch of the core dataset.
protocol::Batch flowsBatch(const std::string& agent_id, int64_t base) {
  return insertBatch(agent_id, "MA-06", "inc-1", base, exportFlowsDescriptor(),
                     {flowValues("001000000000001", "5701100000", "FR", "2025-03", 30000),
                      flowValues("001000000000002", "5701100000", "DE", "2025-03", 10000)});
}

TEST_F(DashboardApiTest, IndicatorsDatasetsAndCsv) {
  startHub();
  const auto s = session();
  const auto [agent_id, token] = hub_->enrolDirect(hub_->createCode("MA-06"));
  ASSERT_EQ(hub_->sync(encode(flowsBatch(agent_id, 0)), token).status, 200);

  const auto ind = get("/api/v1/admin/indicators?at=2025-06-30&top=5", cookie(s));
  ASSERT_EQ(ind.status, 200) << ind;
  auto o = ind.json();
  EXPECT_EQ(o->getValue<std::string>("reference_date"), "2025-06-30");
  EXPECT_EQ(o->getObject("window")->getValue<std::string>("from"), "2024-07");
  EXPECT_EQ(o->getObject("window")->getValue<std::string>("to"), "2025-06");
  EXPECT_EQ(o->getObject("target")->getValue<int>("exporters"), 12000);
  auto nat = o->getObject("national");
  EXPECT_EQ(nat->getValue<int>("active_exporters"), 2);
  EXPECT_DOUBLE_EQ(nat->getValue<double>("export_value_mad"), 400.0);
  // FR 300 and DE 100 of 400: 0.75² + 0.25² = 0.625.
  EXPECT_DOUBLE_EQ(nat->getValue<double>("hhi_destinations"), 0.625);
  EXPECT_NEAR(nat->getValue<double>("progress_to_target"), 0.0002, 1e-12);  // 2 / 12000, 4 places
  EXPECT_EQ(nat->getArray("top_products")->getObject(0)->getValue<std::string>("heading"), "5701");
  ASSERT_EQ(o->getArray("regions")->size(), 12u);
  EXPECT_DOUBLE_EQ(
      o->getArray("regions")->getObject(5)->getValue<double>("share_of_national_value"), 1.0);
  EXPECT_EQ(get("/api/v1/admin/indicators?at=2025-02-30", cookie(s)).str("error"), "bad-date");
  EXPECT_EQ(get("/api/v1/admin/indicators?at=yesterday", cookie(s)).str("error"), "bad-date");
  EXPECT_EQ(get("/api/v1/admin/indicators?top=99", cookie(s)).str("error"), "bad-top");
  EXPECT_EQ(get("/api/v1/admin/indicators", cookie(s)).status, 200);  // today

  const auto regions = get("/api/v1/admin/indicators/regions.csv?at=2025-06-30", cookie(s));
  ASSERT_EQ(regions.status, 200) << regions;
  EXPECT_THAT(regions.headers.at("Content-Type"), HasSubstr("text/csv"));
  EXPECT_THAT(regions.headers.at("Content-Disposition"), HasSubstr("attachment"));
  EXPECT_EQ(std::count(regions.body.begin(), regions.body.end(), '\n'), 14);  // header+12+1
  EXPECT_THAT(
      regions.body,
      HasSubstr("MA-06,Casablanca-Settat,2,400.00,1.0000,2,1.0000,2,1.0000,0.6250,2,0.0002"));
  const auto one =
      get("/api/v1/admin/indicators/regions.csv?at=2025-06-30&region=national", cookie(s));
  EXPECT_EQ(std::count(one.body.begin(), one.body.end(), '\n'), 2);
  const auto dest =
      get("/api/v1/admin/indicators/destinations.csv?at=2025-06-30&region=MA-06", cookie(s));
  EXPECT_EQ(dest.body,
            "region,rank,country,value_mad,share\nMA-06,1,FR,300.00,0.7500\n"
            "MA-06,2,DE,100.00,0.2500\n");
  EXPECT_EQ(get("/api/v1/admin/indicators/products.csv?at=2025-06-30", cookie(s)).status, 200);
  EXPECT_EQ(get("/api/v1/admin/indicators/secret.csv", cookie(s)).status, 404);
  EXPECT_EQ(get("/api/v1/admin/indicators/regions.csv?region=MA-99", cookie(s)).str("error"),
            "bad-region");

  const auto list = get("/api/v1/admin/datasets", cookie(s));
  ASSERT_EQ(list.status, 200) << list;
  EXPECT_THAT(list.body, HasSubstr("\"csv\":\"/api/v1/datasets/artisanat/export_flows.csv\""));
  const auto flows = get("/api/v1/datasets/artisanat/export_flows.csv?region=MA-06", cookie(s));
  ASSERT_EQ(flows.status, 200) << flows;
  EXPECT_EQ(std::count(flows.body.begin(), flows.body.end(), '\n'), 3);
  const auto core = get("/api/v1/admin/core/export_flows.csv?region=MA-06", cookie(s));
  ASSERT_EQ(core.status, 200) << core;
  EXPECT_THAT(core.body, HasSubstr("artisanat,MA-06," + agent_id +
                                   ",001000000000001,5701100000,"
                                   "FR,2025-03,300.00,,\n"));
  EXPECT_EQ(get("/api/v1/admin/core/export_flows.csv?region=MA-01", cookie(s)).body,
            "plugin,region,agent,exporter_id,hs_code,destination,period,value_mad,quantity,"
            "quantity_unit\n");
  EXPECT_EQ(get("/api/v1/admin/core/items.csv", cookie(s)).str("error"), "unknown-dataset");
  EXPECT_EQ(get("/api/v1/admin/nothing", cookie(s)).str("error"), "not-found");
}

TEST_F(DashboardApiTest, MetricsNeedATokenAndSpeakPrometheus) {
  const std::string metrics_token = "metrics-token-for-prometheus";
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  sha.update(metrics_token);
  // The configuration holds the hash, never the token.
  startHub({{"hub.metrics.token_sha256", Poco::DigestEngine::digestToHex(sha.digest())}});
  const auto [agent_id, token] = hub_->enrolDirect(hub_->createCode("MA-06"));
  ASSERT_EQ(hub_->sync(encode(itemsBatch(agent_id, "MA-06", "inc-1", 0, {"a", "b"})), token).status,
            200);
  EXPECT_EQ(call(hub_->port(), "GET", "/").status, 200);  // the dashboard's page
  EXPECT_EQ(call(hub_->port(), "GET", "/metrics").str("error"), "no-credential");
  EXPECT_EQ(call(hub_->port(), "GET", "/metrics", bearer("wrong")).str("error"),
            "unknown-credential");
  // The metrics token opens /metrics and nothing else.
  EXPECT_EQ(call(hub_->port(), "GET", "/api/v1/admin/overview", bearer(metrics_token)).status, 401);
  const auto m = call(hub_->port(), "GET", "/metrics", bearer(metrics_token));
  ASSERT_EQ(m.status, 200) << m;
  EXPECT_EQ(m.headers.at("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string labels = "{agent=\"" + agent_id + "\",region=\"MA-06\"}";
  EXPECT_THAT(m.body, HasSubstr("exportsync_agent_rows_received_total" + labels + " 2\n"));
  EXPECT_THAT(m.body, HasSubstr("exportsync_agent_batches_received_total" + labels + " 1\n"));
  EXPECT_THAT(m.body, HasSubstr("# TYPE exportsync_http_request_duration_seconds histogram"));
  EXPECT_THAT(m.body, HasSubstr("exportsync_http_request_duration_seconds_bucket{endpoint=\"sync\""
                                ",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(m.body,
              HasSubstr("exportsync_http_requests_total{endpoint=\"sync\",code=\"200\"} 1"));
  EXPECT_THAT(m.body,
              HasSubstr("exportsync_http_requests_total{endpoint=\"dashboard\",code=\"200\"} 1"));
  EXPECT_THAT(m.body, Not(HasSubstr("endpoint=\"other\"")));
  EXPECT_EQ(call(hub_->port(), "GET", "/metrics", bearer(hub_->adminToken())).status, 200);
  EXPECT_EQ(get("/metrics", cookie(session())).status, 200);
}

TEST_F(DashboardApiTest, MetricsFromLoopbackWhenAllowed) {
  startHub({{"hub.metrics.allow_loopback", "true"}});
  const auto m = call(hub_->port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200) << m;
  EXPECT_THAT(m.body, HasSubstr("exportsync_alerts_open{severity=\"critical\"} 0"));
  // Loopback opens /metrics only.
  EXPECT_EQ(call(hub_->port(), "GET", "/api/v1/admin/overview").status, 401);
}

TEST_F(DashboardApiTest, BadConfigAndBadAdminsAreRefused) {
  const std::string data = dir_.sub("data");
  const std::string config = dir_.path() + "/hub.properties";
  writeFile(config, "hub.listen = 127.0.0.1:0\nhub.data_dir = " + data +
                        "\nhub.monitor.silent_after_s = soon\n");
  const auto r = runToEnd(kHubBinary, {"--config", config}, logBase(dir_.path(), "bad-config"));
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_THAT(r.err, HasSubstr("hub.monitor.silent_after_s"));
  writeFile(config, "hub.listen = 127.0.0.1:0\nhub.data_dir = " + data +
                        "\nhub.login.pbkdf2_iterations = 1000\n");
  EXPECT_THAT(runToEnd(kHubBinary, {"--config", config}, logBase(dir_.path(), "weak")).err,
              HasSubstr("hub.login.pbkdf2_iterations"));
  writeFile(config, "hub.listen = 127.0.0.1:0\nhub.data_dir = " + data + "\n");
  const std::string pw = dir_.path() + "/pw";
  writeFile(pw, "short\n");
  const auto weak =
      runToEnd(kHubBinary, {"--config", config, "--create-admin", "amina", "--password-file", pw},
               logBase(dir_.path(), "bad-admin"));
  EXPECT_EQ(weak.exit_code, 78);
  EXPECT_THAT(weak.err, HasSubstr("at least 12"));
  const auto name =
      runToEnd(kHubBinary, {"--config", config, "--create-admin", "x y", "--password-file", pw},
               logBase(dir_.path(), "bad-name"));
  EXPECT_EQ(name.exit_code, 78);
  EXPECT_THAT(name.err, HasSubstr("user name"));
  const auto missing =
      runToEnd(kHubBinary,
               {"--config", config, "--create-admin", "amina", "--password-file", "/nonexistent"},
               logBase(dir_.path(), "no-file"));
  EXPECT_EQ(missing.exit_code, 78);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent"));
}

}  // namespace
}  // namespace exportsync::synctest
