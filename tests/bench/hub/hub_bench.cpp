// exportsync-hub-bench: the dashboard under load (issue #5, "Benchmark").
//
// A real exportsync-hub process on 127.0.0.1 (SQLite durable, WAL, synchronous=FULL, as it
// ships) and, in this process, N simulated agents (default 1,000), each enrolled for real
// (enrolment code + /enrol), each sending its heartbeat (POST /api/v1/status, the JSON an agent
// sends) every H seconds (default 10) and a small batch (B export_flows rows, default 10) every
// S seconds (default 30), spread evenly over time, on keep-alive connections from W worker
// threads. After a warm-up of one heartbeat period, an admin session (logged in through
// POST /api/v1/session) calls the dashboard API at 10 requests/s for D seconds (default 60):
// overview, one agent's page, the day and week charts, the alert list; plus, at a slower pace,
// the full agent list and the indicators. Printed: p50, p99 and max latency per endpoint and
// for the dashboard pages together (target: p99 <= 100 ms), the agents' request latencies and
// error count, and the hub's CPU (share of one core over the measured window) and RSS (now and
// peak). Numbers only mean something in a release build on an otherwise idle machine.
//
// --smoke (the CTest): 20 agents, heartbeats every second, 4 s; fails only when a request is
// refused or the hub does not run. No timed asserts.
#include <Poco/Net/HTTPClientSession.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "exportsync/core_datasets.hpp"
#include "exportsync/protocol/batch.hpp"
#include "support/files.hpp"
#include "support/http.hpp"

namespace exportsync::bench {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

struct Options {
  std::string hub = ES_HUB_EXE;
  int agents = 1000;
  int heartbeat_s = 10;
  int batch_s = 30;
  int batch_rows = 10;
  int workers = 8;
  int duration_s = 60;
  bool smoke = false;
  bool keep = false;
};

void usage() {
  std::printf(
      "usage: exportsync-hub-bench [--smoke] [--agents N] [--heartbeat-s H] [--batch-s S]\n"
      "       [--batch-rows B] [--workers W] [--duration-s D] [--hub PATH] [--keep]\n");
}

// --- HTTP ----------------------------------------------------------------------------------

// An answer and how long it took.
struct Answer : test_support::HttpReply {
  double ms = 0;
};

// One request on a kept-alive session; every method but GET carries `body`. After a transport
// error the session is reset, so that the next request reconnects.
Answer request(Poco::Net::HTTPClientSession& session, const std::string& method,
               const std::string& path, const std::string& body,
               const test_support::HttpHeaders& headers,
               const std::string& type = "application/json") {
  Answer a;
  const auto start = Clock::now();
  static_cast<test_support::HttpReply&>(a) = test_support::httpExchange(
      session, method, path, headers,
      method != "GET" ? std::optional<std::string>(body) : std::nullopt, type);
  if (a.status == 0) {
    session.reset();
  }
  a.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return a;
}

// --- latency records ------------------------------------------------------------------------

class Latencies {
 public:
  void add(const std::string& what, double ms, bool ok) {
    const std::lock_guard<std::mutex> lock(mutex_);
    samples_[what].push_back(ms);
    if (!ok) {
      ++errors_[what];
    }
  }
  int64_t errors() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    int64_t n = 0;
    for (const auto& [k, v] : errors_) {
      n += v;
    }
    return n;
  }
  void print(const std::vector<std::string>& order, const std::string& total_name,
             const std::vector<std::string>& total_of) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::printf("  %-28s %8s %9s %9s %9s %7s\n", "endpoint", "requests", "p50 ms", "p99 ms",
                "max ms", "errors");
    std::vector<double> total;
    for (const auto& name : order) {
      auto it = samples_.find(name);
      if (it == samples_.end()) {
        continue;
      }
      line(name, it->second, errorsOf(name));
      if (std::find(total_of.begin(), total_of.end(), name) != total_of.end()) {
        total.insert(total.end(), it->second.begin(), it->second.end());
      }
    }
    if (!total_name.empty()) {
      int64_t e = 0;
      for (const auto& n : total_of) {
        e += errorsOf(n);
      }
      line(total_name, total, e);
    }
  }

 private:
  int64_t errorsOf(const std::string& name) const {
    auto it = errors_.find(name);
    return it == errors_.end() ? 0 : it->second;
  }
  static void line(const std::string& name, const std::vector<double>& v, int64_t errors) {
    std::printf("  %-28s %8zu %9.1f %9.1f %9.1f %7lld\n", name.c_str(), v.size(), percentile(v, 50),
                percentile(v, 99), v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()),
                static_cast<long long>(errors));
  }
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<double>> samples_;  // Guarded by mutex_.
  std::map<std::string, int64_t> errors_;               // Guarded by mutex_.
};

// --- simulated agents -----------------------------------------------------------------------

const char* const kRegions[] = {"MA-01", "MA-02", "MA-03", "MA-04", "MA-05", "MA-06",
                                "MA-07", "MA-08", "MA-09", "MA-10", "MA-11", "MA-12"};
const char* const kHs[] = {"5701100000", "6912000000", "1515900000", "0804100000",
                           "0910200000", "4202000000", "8703230000", "6109100000"};
const char* const kDest[] = {"FR", "ES", "DE", "US", "GB", "IT", "BE", "NL", "SN", "CI"};

struct SimAgent {
  int index = 0;
  std::string id;
  std::string region;
  std::string token;
  int64_t seq = 0;
  Clock::time_point next_heartbeat;
  Clock::time_point next_batch;
};

std::string heartbeatJson(const SimAgent& a, int64_t backlog) {
  std::string plugins;
  for (const char* p : {"artisanat", "cooperatives"}) {
    plugins += std::string(plugins.empty() ? "" : ",") + R"({"name":")" + p +
               R"(","version":"1.0.0","file":"/usr/lib/exportsync/plugins/)" + p +
               R"(.so","enabled":true,"loaded":true,"last_result":"ok","last_error":"",)"
               R"("rows_upserted":120,"rows_removed":0,"rows_rejected":1,"quarantined":false})";
  }
  return R"({"version":"0.1.0","region":")" + a.region + R"(","time":0,"plugins":[)" + plugins +
         R"(],"sync":{"state":"idle","agent_id":")" + a.id +
         R"(","hub_url":"https://hub","hub_reachable":true,"acked_seq":)" + std::to_string(a.seq) +
         R"(,"last_sync_ok_at":0,"last_result":"applied","last_error":"","last_error_at":0,)"
         R"("batch_rows":5000,"rows_sent":0,"bytes_sent":0,"backlog_warning":false,)"
         R"("backlog_full":false},"backlog_rows":)" +
         std::to_string(backlog) + R"(,"backlog_bytes":)" + std::to_string(backlog * 90) +
         R"(,"oldest_unacked_age_s":)" + std::to_string(backlog > 0 ? 3 : 0) +
         R"(,"disk_free_bytes":52000000000})";
}

std::string flowsBatch(SimAgent& a, int rows, std::mt19937& rng) {
  exportsync::protocol::Batch b;
  auto& h = b.header;
  h.agent_id = a.id;
  h.region = a.region;
  h.incarnation = "bench-" + a.id;
  h.base_seq = a.seq;
  const auto spec = exportsync::core::exportFlowsSpec();
  h.datasets.push_back({"artisanat", spec.name, spec.version, spec.columns});
  for (int i = 0; i < rows; ++i) {
    exportsync::protocol::ChangeRecord c;
    c.seq = ++a.seq;
    char id[48];
    std::snprintf(id, sizeof id, "%015d", a.index * 100 + static_cast<int>(rng() % 40));
    char period[48];
    std::snprintf(period, sizeof period, "2025-%02d", static_cast<int>(rng() % 12 + 1));
    c.values = {
        exportsync::Value(std::string(id)),
        exportsync::Value(kHs[rng() % 8]),
        exportsync::Value(kDest[rng() % 10]),
        exportsync::Value(std::string(period)),
        exportsync::Value(exportsync::Money::fromCentimes(static_cast<int64_t>(rng() % 10000000))),
        exportsync::Value(),
        exportsync::Value()};
    b.changes.push_back(std::move(c));
  }
  h.first_seq = h.base_seq + 1;
  h.last_seq = a.seq;
  h.row_count = b.changes.size();
  auto wire = exportsync::protocol::encodeBatch(b);
  return wire ? *wire : std::string();
}

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](int& out) {
      if (i + 1 >= argc) {
        return false;
      }
      out = std::atoi(argv[++i]);
      return out > 0;
    };
    if (a == "--smoke") {
      o.smoke = true;
      o.agents = 20;
      o.heartbeat_s = 1;
      o.batch_s = 2;
      o.duration_s = 4;
      o.workers = 2;
    } else if (a == "--agents" && next(o.agents)) {
    } else if (a == "--heartbeat-s" && next(o.heartbeat_s)) {
    } else if (a == "--batch-s" && next(o.batch_s)) {
    } else if (a == "--batch-rows" && next(o.batch_rows)) {
    } else if (a == "--workers" && next(o.workers)) {
    } else if (a == "--duration-s" && next(o.duration_s)) {
    } else if (a == "--hub" && i + 1 < argc) {
      o.hub = argv[++i];
    } else if (a == "--keep") {
      o.keep = true;
    } else {
      usage();
      return false;
    }
  }
  return true;
}

// The program; main() calls it.
int run(int argc, char** argv) {
  setProgramName("hub-bench");
  Options opt;
  if (!parseArgs(argc, argv, opt)) {
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  ScratchDir scratch(test_support::tempParent(), "es-hubbench", opt.keep);
  const std::string dir = scratch.path();
  makeDir(dir + "/data");
  const std::string config = dir + "/hub.properties";
  writeFile(config, "hub.listen = 127.0.0.1:0\nhub.port_file = " + dir +
                        "/port\nhub.data_dir = " + dir +
                        "/data\nhub.threads = " + std::to_string(std::min(256, opt.workers + 8)) +
                        "\nhub.idle_timeout_s = 60\nlog.level = warning\n");
  const std::string password = "benchmark password";
  writeFile(dir + "/pw", password + "\n");
  {
    const std::string log = dir + "/create-admin.log";
    Process admin(opt.hub,
                  {"--config", config, "--create-admin", "bench", "--password-file", dir + "/pw"},
                  log, log);
    check(admin.wait(std::chrono::seconds(120)) && admin.exitCode() == 0,
          "--create-admin failed: " + admin.out());
  }
  Process hub(opt.hub, {"--config", config}, dir + "/hub.log", dir + "/hub.log");
  const uint16_t port = test_support::waitUntilServing(hub, dir + "/port", "/api/v1/health",
                                                       std::chrono::seconds(30), milliseconds(50));
  check(port != 0, "the hub did not start: " + hub.out());
  std::printf(
      "hub-bench: %d agents, heartbeat every %d s, %d-row batch every %d s, %d worker "
      "threads, %d s measured\n",
      opt.agents, opt.heartbeat_s, opt.batch_rows, opt.batch_s, opt.workers, opt.duration_s);

  // The admin session.
  Poco::Net::HTTPClientSession admin("127.0.0.1", port);
  admin.setTimeout(Poco::Timespan(60, 0));
  const auto login = request(admin, "POST", "/api/v1/session",
                             R"({"user":"bench","password":")" + password + R"("})", {});
  check(login.status == 200, "login refused: " + std::to_string(login.status) + " " + login.body);
  const std::string cookie = login.header("Set-Cookie");
  const test_support::HttpHeaders session{{"Cookie", cookie.substr(0, cookie.find(';'))},
                                          {"X-CSRF-Token", login.str("csrf_token")}};

  // Enrol every agent for real, from the worker threads.
  std::vector<SimAgent> agents(static_cast<size_t>(opt.agents));
  std::atomic<int> enrol_errors{0};
  const auto enrol_start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int w = 0; w < opt.workers; ++w) {
      threads.emplace_back([&, w] {
        Poco::Net::HTTPClientSession s("127.0.0.1", port);
        s.setTimeout(Poco::Timespan(60, 0));
        for (int i = w; i < opt.agents; i += opt.workers) {
          auto& a = agents[static_cast<size_t>(i)];
          a.index = i;
          a.region = kRegions[i % 12];
          const auto code = request(s, "POST", "/api/v1/admin/enrolment-codes",
                                    R"({"region":")" + a.region + R"("})", session);
          const auto e = request(s, "POST", "/api/v1/enrol",
                                 R"({"code":")" + code.str("code") + R"(","hostname":"bureau-)" +
                                     std::to_string(i) + R"("})",
                                 {});
          a.id = e.str("agent_id");
          a.token = e.str("token");
          if (e.status != 200 || a.token.empty()) {
            ++enrol_errors;
          }
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
  }
  std::printf("enrolled %d agents in %.1f s (%d errors)\n", opt.agents,
              std::chrono::duration<double>(Clock::now() - enrol_start).count(),
              enrol_errors.load());
  check(enrol_errors == 0, std::to_string(enrol_errors.load()) + " agents could not enrol");

  // Agents: heartbeats and batches spread evenly over their periods.
  Latencies agent_lat;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> rows_sent{0};
  const auto t0 = Clock::now();
  for (auto& a : agents) {
    const double phase = static_cast<double>(a.index) / opt.agents;
    a.next_heartbeat = t0 + milliseconds(static_cast<int64_t>(phase * opt.heartbeat_s * 1000));
    a.next_batch = t0 + milliseconds(static_cast<int64_t>(phase * opt.batch_s * 1000));
  }
  std::vector<std::thread> workers;
  for (int w = 0; w < opt.workers; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(w + 1));
      Poco::Net::HTTPClientSession s("127.0.0.1", port);
      s.setTimeout(Poco::Timespan(60, 0));
      std::vector<SimAgent*> mine;
      for (int i = w; i < opt.agents; i += opt.workers) {
        mine.push_back(&agents[static_cast<size_t>(i)]);
      }
      while (!stop) {
        SimAgent* due = nullptr;
        bool heartbeat = false;
        Clock::time_point when = Clock::time_point::max();
        for (auto* a : mine) {
          if (a->next_heartbeat < when) {
            when = a->next_heartbeat;
            due = a;
            heartbeat = true;
          }
          if (a->next_batch < when) {
            when = a->next_batch;
            due = a;
            heartbeat = false;
          }
        }
        if (due == nullptr) {
          break;
        }
        while (!stop && Clock::now() < when) {
          std::this_thread::sleep_for(
              std::min<Clock::duration>(when - Clock::now(), milliseconds(50)));
        }
        if (stop) {
          break;
        }
        const auto auth = test_support::bearer(due->token);
        if (heartbeat) {
          const auto r = request(s, "POST", "/api/v1/status",
                                 heartbeatJson(*due, static_cast<int64_t>(rng() % 5)), auth);
          agent_lat.add("POST /status (heartbeat)", r.ms, r.status == 200);
          due->next_heartbeat += std::chrono::seconds(opt.heartbeat_s);
        } else {
          const auto r = request(s, "POST", "/api/v1/sync", flowsBatch(*due, opt.batch_rows, rng),
                                 auth, "application/x-exportsync-batch");
          agent_lat.add("POST /sync (batch)", r.ms, r.status == 200);
          rows_sent += opt.batch_rows;
          due->next_batch += std::chrono::seconds(opt.batch_s);
        }
      }
    });
  }

  // Warm-up: every agent heard at least once.
  std::this_thread::sleep_for(std::chrono::seconds(opt.heartbeat_s + 1));
  const double cpu_before = hub.cpuTimes().total();
  const auto m0 = Clock::now();
  Latencies dash;
  std::mt19937 rng(42);
  int tick = 0;
  const auto end = m0 + std::chrono::seconds(opt.duration_s);
  while (Clock::now() < end) {
    const auto next = Clock::now() + milliseconds(100);
    std::string name;
    std::string path;
    switch (tick % 5) {
      case 0:
        name = "GET overview";
        path = "/api/v1/admin/overview";
        break;
      case 1:
        name = "GET agents/{id}";
        path = "/api/v1/admin/agents/" + agents[rng() % agents.size()].id;
        break;
      case 2:
        name = "GET history day";
        path = "/api/v1/admin/history?range=day";
        break;
      case 3:
        name = "GET history week region";
        path = std::string("/api/v1/admin/history?range=week&region=") + kRegions[rng() % 12];
        break;
      default:
        name = "GET alerts";
        path = "/api/v1/admin/alerts";
        break;
    }
    if (tick % 50 == 25) {
      name = "GET agents (all)";
      path = "/api/v1/admin/agents";
    } else if (tick % 50 == 49) {
      name = "GET indicators";
      path = "/api/v1/admin/indicators?at=2025-12-31";
    }
    const auto r = request(admin, "GET", path, "", session);
    dash.add(name, r.ms, r.status == 200);
    if (r.status != 200) {
      std::fprintf(stderr, "hub-bench: %s: %d %s\n", path.c_str(), r.status,
                   r.body.substr(0, 200).c_str());
    }
    ++tick;
    std::this_thread::sleep_until(next);
  }
  const double wall = std::chrono::duration<double>(Clock::now() - m0).count();
  const double cpu_after = hub.cpuTimes().total();
  const int64_t rss_kb = hub.statusKb("VmRSS");
  const int64_t hwm_kb = hub.statusKb("VmHWM");
  stop = true;
  for (auto& t : workers) {
    t.join();
  }
  const double cpu = (cpu_after - cpu_before) / wall;

  std::printf("\ndashboard API (one admin session, 10 requests/s, %.0f s):\n", wall);
  const std::vector<std::string> pages = {"GET overview", "GET agents/{id}", "GET history day",
                                          "GET history week region", "GET alerts"};
  std::vector<std::string> order = pages;
  order.push_back("GET agents (all)");
  order.push_back("GET indicators");
  dash.print(order, "dashboard pages (p99 target 100 ms)", pages);
  std::printf("\nsimulated agents:\n");
  agent_lat.print({"POST /status (heartbeat)", "POST /sync (batch)"}, "", {});
  std::printf("  rows sent: %lld\n", static_cast<long long>(rows_sent.load()));
  std::printf(
      "\nhub process: CPU %.0f %% of one core over the measured window, RSS %.1f MiB "
      "(peak %.1f MiB)\n",
      cpu * 100.0, static_cast<double>(rss_kb) / 1024.0, static_cast<double>(hwm_kb) / 1024.0);
  std::printf("central.db: %.1f MiB (+ WAL %.1f MiB)\n",
              static_cast<double>(fs::file_size(dir + "/data/central.db")) / 1048576.0,
              fs::exists(dir + "/data/central.db-wal")
                  ? static_cast<double>(fs::file_size(dir + "/data/central.db-wal")) / 1048576.0
                  : 0.0);
  hub.terminate(std::chrono::seconds(30));
  const int64_t errors = dash.errors() + agent_lat.errors();
  check(errors == 0, std::to_string(errors) + " requests refused or failed");
  return 0;
}

}  // namespace
}  // namespace exportsync::bench

int main(int argc, char** argv) { return exportsync::bench::run(argc, argv); }
