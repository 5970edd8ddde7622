#include "exportsync/central/metrics.hpp"

#include <cstdio>

namespace exportsync::central {

namespace {

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void family(std::ostream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

}  // namespace

std::string escapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

size_t HttpMetrics::endpointIndex(const std::string& name) {
  for (size_t i = 0; i < kEndpoints.size(); ++i) {
    if (name == kEndpoints[i]) {
      return i;
    }
  }
  return kEndpoints.size() - 1;
}

void HttpMetrics::observe(size_t endpoint, int http_status, double seconds) {
  if (endpoint >= kEndpoints.size()) {
    endpoint = kEndpoints.size() - 1;
  }
  Series& s = series_[endpoint];
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) {
    ++b;
  }
  s.buckets[b].fetch_add(1, std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  const std::lock_guard<std::mutex> lock(codes_mutex_);
  ++codes_[{endpoint, http_status}];
}

void HttpMetrics::render(std::ostream& out) const {
  family(out, "exportsync_http_request_duration_seconds", "histogram",
         "Time from a request's headers to its answer, per endpoint.");
  for (size_t e = 0; e < kEndpoints.size(); ++e) {
    const Series& s = series_[e];
    const uint64_t count = s.count.load(std::memory_order_relaxed);
    if (count == 0) {
      continue;
    }
    const std::string label = std::string("endpoint=\"") + kEndpoints[e] + "\"";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += s.buckets[b].load(std::memory_order_relaxed);
      out << "exportsync_http_request_duration_seconds_bucket{" << label << ",le=\""
          << number(kBuckets[b]) << "\"} " << cumulative << "\n";
    }
    cumulative += s.buckets[kBuckets.size()].load(std::memory_order_relaxed);
    // Readers may race with observe(): +Inf and _count come from one sum so they agree.
    out << "exportsync_http_request_duration_seconds_bucket{" << label << ",le=\"+Inf\"} "
        << cumulative << "\n";
    out << "exportsync_http_request_duration_seconds_sum{" << label << "} "
        << number(static_cast<double>(s.sum_ns.load(std::memory_order_relaxed)) / 1e9) << "\n";
    out << "exportsync_http_request_duration_seconds_count{" << label << "} " << cumulative << "\n";
  }
  family(out, "exportsync_http_requests_total", "counter",
         "Requests answered, per endpoint and status.");
  const std::lock_guard<std::mutex> lock(codes_mutex_);
  for (const auto& [key, n] : codes_) {
    out << "exportsync_http_requests_total{endpoint=\"" << kEndpoints[key.first] << "\",code=\""
        << key.second << "\"} " << n << "\n";
  }
}

void renderAgentMetrics(std::ostream& out, const MonitorInput& in, const MonitorConfig& cfg,
                        int64_t now) {
  struct Row {
    std::string labels;
    const AgentRecord* a;
    Assessment as;
  };
  std::vector<Row> rows;
  std::map<std::string, std::vector<AlertRecord>> alerts;
  for (const auto& al : in.open_alerts) {
    alerts[al.agent_id].push_back(al);
  }
  for (const auto& a : in.agents) {
    if (a.revoked_at != 0) {
      continue;
    }
    auto sa = in.set_aside_24h.find(a.id);
    rows.push_back(
        {"agent=\"" + escapeLabel(a.id) + "\",region=\"" + escapeLabel(a.region) + "\"", &a,
         assessAgent(a, cfg, now, sa == in.set_aside_24h.end() ? 0 : sa->second, alerts[a.id])});
  }
  auto gauge = [&](const char* name, const char* type, const char* help, auto value,
                   bool (*present)(const AgentRecord&) = nullptr) {
    family(out, name, type, help);
    for (const auto& r : rows) {
      if (present == nullptr || present(*r.a)) {
        out << name << "{" << r.labels << "} " << value(r) << "\n";
      }
    }
  };
  gauge(
      "exportsync_agent_seconds_since_last_sync", "gauge",
      "Seconds since the hub last accepted a batch of the agent.",
      [now](const Row& r) { return now - r.a->last_sync_at; },
      [](const AgentRecord& a) { return a.last_sync_at != 0; });
  gauge("exportsync_agent_seconds_since_last_seen", "gauge",
        "Seconds since the agent's last request (batch or heartbeat).",
        [now](const Row& r) { return now - std::max(r.a->last_seen, r.a->created_at); });
  gauge("exportsync_agent_backlog_rows", "gauge",
        "Changes not yet acknowledged, as of the agent's last heartbeat.",
        [](const Row& r) { return r.a->backlog_rows; });
  gauge("exportsync_agent_oldest_unacked_age_seconds", "gauge",
        "Age of the agent's oldest unacknowledged change (0 with an empty backlog).",
        [](const Row& r) { return r.as.lag_s; });
  gauge("exportsync_agent_rows_received_total", "counter", "Changes received from the agent.",
        [](const Row& r) { return r.a->rows_received; });
  gauge("exportsync_agent_batches_received_total", "counter", "Batches accepted from the agent.",
        [](const Row& r) { return r.a->batches_received; });
  gauge("exportsync_agent_bytes_received_total", "counter",
        "Batch bytes received from the agent (compressed, as on the wire).",
        [](const Row& r) { return r.a->bytes_received; });
  gauge("exportsync_agent_errors_total", "counter", "Refused requests of the agent.",
        [](const Row& r) { return r.a->errors; });
  gauge("exportsync_agent_health", "gauge", "Agent health: 0 green, 1 amber, 2 red.",
        [](const Row& r) { return static_cast<int>(r.as.health); });
  family(out, "exportsync_alerts_open", "gauge", "Open alerts per severity.");
  std::map<std::string, int64_t> by_severity{{"critical", 0}, {"warning", 0}, {"info", 0}};
  for (const auto& al : in.open_alerts) {
    ++by_severity[al.severity];
  }
  for (const auto& [severity, n] : by_severity) {
    out << "exportsync_alerts_open{severity=\"" << escapeLabel(severity) << "\"} " << n << "\n";
  }
}

}  // namespace exportsync::central
