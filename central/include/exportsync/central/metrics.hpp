// /metrics in the Prometheus text exposition format 0.0.4 (docs/dashboard-api.md §9): the
// request-latency histogram per endpoint, request counts per status, and per-agent gauges and
// counters rendered from store records.
//
// THREAD: HttpMetrics::observe and render may be called from any thread at once.
// OWNERSHIP: values.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "exportsync/central/central_store.hpp"
#include "exportsync/central/dashboard.hpp"

namespace exportsync::central {

class HttpMetrics {
 public:
  /// Route names used as the `endpoint` label; the last one is "other".
  static constexpr std::array<const char*, 21> kEndpoints = {
      "health",    "enrol",     "sync",     "status",     "session",       "overview",
      "agents",    "agent",     "history",  "alerts",     "alert_resolve", "enrolment_codes",
      "revoke",    "set_aside", "datasets", "indicators", "csv",           "metrics",
      "dashboard", "not_found", "other"};
  /// Upper bounds of the latency buckets, seconds (+Inf is implicit).
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,   1,    2.5,   5,    10};

  /// Index of `name` in kEndpoints ("other" when unknown).
  static size_t endpointIndex(const std::string& name);

  void observe(size_t endpoint, int http_status, double seconds);
  void render(std::ostream& out) const;

 private:
  struct Series {
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last: above all bounds
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_ns{0};
  };
  std::array<Series, kEndpoints.size()> series_{};
  mutable std::mutex codes_mutex_;
  std::map<std::pair<size_t, int>, uint64_t> codes_;  // Guarded by codes_mutex_.
};

/// The per-agent families and exportsync_alerts_open. Revoked agents are left out.
void renderAgentMetrics(std::ostream& out, const MonitorInput& in, const MonitorConfig& cfg,
                        int64_t now);

/// A label value escaped as the format requires (\\, \", \n).
std::string escapeLabel(const std::string& value);

}  // namespace exportsync::central
