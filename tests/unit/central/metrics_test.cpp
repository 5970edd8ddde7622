// /metrics output checked against the Prometheus text exposition format 0.0.4: every line is
// a comment (HELP/TYPE) or a sample `name{labels} value`, each family declared once before its
// samples, histogram buckets cumulative with +Inf equal to _count, labels escaped.
#include "exportsync/central/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace exportsync::central {
namespace {

struct Parsed {
  std::map<std::string, std::string> types;             // family → type
  std::vector<std::pair<std::string, double>> samples;  // "name{labels}" → value
};

// Parses the exposition text, failing the test on any line the format does not allow.
Parsed parse(const std::string& text) {
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+]+|\+Inf|NaN))");
  Parsed p;
  std::istringstream in(text);
  std::set<std::string> helped;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice: " << line;
    } else if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(p.types.count(m[1]), 0u) << "TYPE twice: " << line;
      p.types[m[1]] = m[2];
    } else if (std::regex_match(line, m, kSample)) {
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (p.types.count(family) == 0 && family.size() > s.size() &&
            family.compare(family.size() - s.size(), s.size(), s) == 0) {
          family = family.substr(0, family.size() - s.size());
        }
      }
      EXPECT_EQ(p.types.count(family), 1u) << "sample before its TYPE: " << line;
      const std::string v = m[m.size() - 1];
      p.samples.emplace_back(line.substr(0, line.rfind(' ')), v == "+Inf" ? 1e300 : std::stod(v));
    } else {
      ADD_FAILURE() << "not exposition format: '" << line << "'";
    }
  }
  return p;
}

double sample(const Parsed& p, const std::string& key) {
  for (const auto& [k, v] : p.samples) {
    if (k == key) {
      return v;
    }
  }
  ADD_FAILURE() << "no sample " << key;
  return -1;
}

TEST(MetricsTest, HistogramIsCumulative) {
  HttpMetrics m;
  const size_t sync = HttpMetrics::endpointIndex("sync");
  m.observe(sync, 200, 0.0004);
  m.observe(sync, 200, 0.02);
  m.observe(sync, 409, 0.02);
  m.observe(sync, 200, 30);  // above every bound
  m.observe(HttpMetrics::endpointIndex("no such"), 404, 0.001);
  std::ostringstream out;
  m.render(out);
  const auto p = parse(out.str());
  EXPECT_EQ(p.types.at("exportsync_http_request_duration_seconds"), "histogram");
  const std::string b = "exportsync_http_request_duration_seconds_bucket{endpoint=\"sync\",le=";
  EXPECT_EQ(sample(p, b + "\"0.001\"}"), 1);
  EXPECT_EQ(sample(p, b + "\"0.01\"}"), 1);
  EXPECT_EQ(sample(p, b + "\"0.025\"}"), 3);
  EXPECT_EQ(sample(p, b + "\"10\"}"), 3);
  EXPECT_EQ(sample(p, b + "\"+Inf\"}"), 4);
  EXPECT_EQ(sample(p, "exportsync_http_request_duration_seconds_count{endpoint=\"sync\"}"), 4);
  EXPECT_NEAR(sample(p, "exportsync_http_request_duration_seconds_sum{endpoint=\"sync\"}"), 30.0404,
              1e-6);
  EXPECT_EQ(sample(p, "exportsync_http_requests_total{endpoint=\"sync\",code=\"409\"}"), 1);
  EXPECT_EQ(sample(p, "exportsync_http_requests_total{endpoint=\"other\",code=\"404\"}"), 1);
}

TEST(MetricsTest, AgentFamilies) {
  MonitorInput in;
  AgentRecord a;
  a.id = "ag-\"odd\\";
  a.region = "MA-06";
  a.created_at = 900;
  a.last_seen = 990;
  a.last_sync_at = 980;
  a.heartbeat_at = 990;
  a.backlog_rows = 12;
  a.oldest_unacked_age_s = 30;
  a.rows_received = 1000;
  a.batches_received = 7;
  a.bytes_received = 4096;
  a.errors = 2;
  in.agents.push_back(a);
  AgentRecord never = a;
  never.id = "ag-new";
  never.last_sync_at = 0;
  in.agents.push_back(never);
  AgentRecord revoked = a;
  revoked.id = "ag-revoked";
  revoked.revoked_at = 950;
  in.agents.push_back(revoked);
  AlertRecord al;
  al.severity = "critical";
  in.open_alerts.push_back(al);
  std::ostringstream out;
  renderAgentMetrics(out, in, MonitorConfig{}, 1000);
  const std::string text = out.str();
  const auto p = parse(text);
  const std::string l = "{agent=\"ag-\\\"odd\\\\\",region=\"MA-06\"}";
  EXPECT_EQ(sample(p, "exportsync_agent_seconds_since_last_sync" + l), 20);
  EXPECT_EQ(sample(p, "exportsync_agent_seconds_since_last_seen" + l), 10);
  EXPECT_EQ(sample(p, "exportsync_agent_backlog_rows" + l), 12);
  EXPECT_EQ(sample(p, "exportsync_agent_oldest_unacked_age_seconds" + l), 40);  // 30 + 10
  EXPECT_EQ(sample(p, "exportsync_agent_rows_received_total" + l), 1000);
  EXPECT_EQ(sample(p, "exportsync_agent_batches_received_total" + l), 7);
  EXPECT_EQ(sample(p, "exportsync_agent_bytes_received_total" + l), 4096);
  EXPECT_EQ(sample(p, "exportsync_agent_errors_total" + l), 2);
  EXPECT_EQ(sample(p, "exportsync_agent_health" + l), 0);
  EXPECT_EQ(p.types.at("exportsync_agent_rows_received_total"), "counter");
  EXPECT_EQ(sample(p, "exportsync_alerts_open{severity=\"critical\"}"), 1);
  // Never synced: no seconds_since_last_sync sample; revoked: not listed at all.
  EXPECT_EQ(text.find("exportsync_agent_seconds_since_last_sync{agent=\"ag-new\""),
            std::string::npos);
  EXPECT_NE(text.find("exportsync_agent_backlog_rows{agent=\"ag-new\""), std::string::npos);
  EXPECT_EQ(text.find("ag-revoked"), std::string::npos);
}

TEST(MetricsTest, EscapeLabel) { EXPECT_EQ(escapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }

}  // namespace
}  // namespace exportsync::central
