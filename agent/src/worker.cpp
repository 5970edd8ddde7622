#include "exportsync/agent/worker.hpp"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <sstream>
#include <vector>

namespace exportsync::agent {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr size_t kMaxRequestBytes = 1 << 20;
constexpr size_t kMaxMessageBytes = 4 << 20;
constexpr auto kStopGrace = std::chrono::seconds(3);

std::string toJson(const Object& o) {
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

Object::Ptr parseObject(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Object::Ptr>();
}

bool writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

Object::Ptr specToJson(const DatasetSpec& d) {
  Object::Ptr o = new Object;
  o->set("name", d.name);
  o->set("version", static_cast<int64_t>(d.version));
  Array::Ptr cols = new Array;
  for (const auto& c : d.columns) {
    Object::Ptr col = new Object;
    col->set("name", c.name);
    col->set("type", std::string(typeName(c.type)));
    col->set("key", c.key);
    col->set("nullable", c.nullable);
    cols->add(col);
  }
  o->set("columns", cols);
  return o;
}

DatasetSpec specFromJson(const Object::Ptr& o) {
  DatasetSpec d;
  d.name = o->getValue<std::string>("name");
  d.version = static_cast<uint32_t>(o->getValue<int64_t>("version"));
  auto cols = o->getArray("columns");
  for (size_t i = 0; cols && i < cols->size(); ++i) {
    auto c = cols->getObject(static_cast<unsigned>(i));
    Column col;
    col.name = c->getValue<std::string>("name");
    col.type = parseTypeName(c->getValue<std::string>("type")).value_or(ColumnType::Text);
    col.key = c->getValue<bool>("key");
    col.nullable = c->getValue<bool>("nullable");
    d.columns.push_back(std::move(col));
  }
  return d;
}

std::string encodeRequest(const WorkerRequest& r) {
  Object o;
  o.set("mode", r.mode == WorkerRequest::Mode::Collect ? "collect" : "describe");
  o.set("file", r.file);
  o.set("expect_name", r.expect_name);
  o.set("store", r.store);
  o.set("region", r.settings.region);
  Object::Ptr settings = new Object;
  for (const auto& [k, v] : r.settings.values) {
    settings->set(k, v);
  }
  o.set("settings", settings);
  o.set("memory_limit_mb", r.memory_limit_mb);
  o.set("cpu_limit_s", r.cpu_limit_s);
  return toJson(o);
}

WorkerRequest decodeRequest(const std::string& text) {
  auto o = parseObject(text);
  WorkerRequest r;
  r.mode = o->getValue<std::string>("mode") == "collect" ? WorkerRequest::Mode::Collect
                                                         : WorkerRequest::Mode::Describe;
  r.file = o->getValue<std::string>("file");
  r.expect_name = o->getValue<std::string>("expect_name");
  r.store = o->getValue<std::string>("store");
  r.settings.region = o->getValue<std::string>("region");
  auto settings = o->getObject("settings");
  for (const auto& [k, v] : *settings) {
    r.settings.values[k] = v.convert<std::string>();
  }
  r.memory_limit_mb = o->getValue<int64_t>("memory_limit_mb");
  r.cpu_limit_s = o->getValue<int64_t>("cpu_limit_s");
  return r;
}

// --- worker side ---------------------------------------------------------------------------

std::atomic<bool> g_cancel{false};  // set by SIGTERM in the worker
extern "C" void onTerm(int /*sig*/) { g_cancel.store(true); }

void applyLimits(const WorkerRequest& r) {
#if !defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer reserves terabytes of address space: an RLIMIT_AS would kill every
  // sanitized worker, so the memory limit applies to normal builds only.
  if (r.memory_limit_mb > 0) {
    const auto bytes = static_cast<rlim_t>(r.memory_limit_mb) * 1024 * 1024;
    const rlimit lim{bytes, bytes};
    (void)setrlimit(RLIMIT_AS, &lim);
  }
#endif
  if (r.cpu_limit_s > 0) {
    const rlimit lim{static_cast<rlim_t>(r.cpu_limit_s), static_cast<rlim_t>(r.cpu_limit_s + 1)};
    (void)setrlimit(RLIMIT_CPU, &lim);
  }
}

Object::Ptr statusJson(const Status& st) {
  Object::Ptr o = new Object;
  o->set("type", "result");
  o->set("ok", st.isOk());
  o->set("code", static_cast<int>(st.code()));
  o->set("message", st.message());
  return o;
}

}  // namespace

std::string currentExecutable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

int runPluginWorker(int in_fd, int out_fd) {
  struct sigaction sa {};
  sa.sa_handler = onTerm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(in_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxRequestBytes) {
      return 2;
    }
  }
  WorkerRequest req;
  try {
    req = decodeRequest(text);
  } catch (const Poco::Exception& e) {
    (void)writeAll(
        out_fd,
        toJson(*statusJson(Status::internal("bad worker request: " + e.displayText()))) + "\n");
    return 2;
  }
  applyLimits(req);

  auto send = [out_fd](const Object& o) { (void)writeAll(out_fd, toJson(o) + "\n"); };
  RuntimeHooks hooks;
  hooks.cancel = &g_cancel;
  hooks.log = [&send](int level, const std::string& msg) {
    Object o;
    o.set("type", "log");
    o.set("level", level);
    o.set("msg", msg);
    send(o);
  };

  auto loaded = loadPluginFile(req.file);
  if (!loaded) {
    send(*statusJson(loaded.status()));
    return 1;
  }
  if (req.mode == WorkerRequest::Mode::Describe) {
    // Settings arrive as "<plugin>.<key>" for every enabled plugin; keep this plugin's.
    PluginSettings mine;
    mine.region = req.settings.region;
    const std::string prefix = loaded->name() + ".";
    for (const auto& [k, v] : req.settings.values) {
      if (k.compare(0, prefix.size(), prefix) == 0) {
        mine.values[k.substr(prefix.size())] = v;
      }
    }
    auto d = describePlugin(*loaded, mine, hooks);
    if (!d) {
      // The descriptor passed its checks, so the name is known: the host reports an enabled
      // plugin that failed here by its reason rather than as missing.
      const char* version = loaded->descriptor().version;
      Object o;
      o.set("type", "describe");
      o.set("name", loaded->name());
      o.set("version", std::string(version == nullptr ? "" : version));
      o.set("datasets", Array::Ptr(new Array));
      send(o);
      send(*statusJson(d.status()));
      return 1;
    }
    Object o;
    o.set("type", "describe");
    o.set("name", d->name);
    o.set("version", d->version);
    o.set("description", d->description);
    Array::Ptr sets = new Array;
    for (const auto& spec : d->datasets) {
      sets->add(specToJson(spec));
    }
    o.set("datasets", sets);
    send(o);
    send(*statusJson(Status::ok()));
    return 0;
  }

  if (loaded->name() != req.expect_name) {
    send(*statusJson(Status::invalid("file '" + req.file + "' now holds plugin '" + loaded->name() +
                                     "', not '" + req.expect_name +
                                     "'; restart the agent to rescan the plugin folder")));
    return 1;
  }
  auto store = Store::open(req.store, /*migrate=*/false);
  if (!store) {
    send(*statusJson(store.status()));
    return 1;
  }
  RunStats stats;
  const Status st = collectPlugin(*loaded, **store, req.settings, hooks, stats);
  auto result = statusJson(st);
  result->set("upserted", stats.upserted);
  result->set("removed", stats.removed);
  result->set("rejected", stats.rejected);
  result->set("renamed", stats.renamed);
  Array::Ptr rej = new Array;
  for (const auto& r : stats.first_rejections) {
    rej->add(r);
  }
  result->set("rejections", rej);
  send(*result);
  return st.isOk() ? 0 : 1;
}

// --- launcher side ------------------------------------------------------------------------

WorkerLauncher::WorkerLauncher(std::string executable) : executable_(std::move(executable)) {}

WorkerOutcome WorkerLauncher::run(const WorkerRequest& request, std::chrono::milliseconds timeout,
                                  const std::function<void(int, const std::string&)>& log,
                                  const std::atomic<bool>* stop) const {
  using Clock = std::chrono::steady_clock;
  WorkerOutcome out;
  const auto started = Clock::now();
  int req_pipe[2];
  int msg_pipe[2];
  if (::pipe2(req_pipe, O_CLOEXEC) != 0) {
    out.status = Status::io(std::string("cannot create a pipe: ") + std::strerror(errno));
    return out;
  }
  if (::pipe2(msg_pipe, O_CLOEXEC) != 0) {
    out.status = Status::io(std::string("cannot create a pipe: ") + std::strerror(errno));
    ::close(req_pipe[0]);
    ::close(req_pipe[1]);
    return out;
  }
  const std::string exe = executable_;
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::dup2(req_pipe[0], 0);
    ::dup2(2, 1);  // a plugin's stray printf goes to the agent's stderr, not the protocol
    ::dup2(msg_pipe[1], 3);
    ::close_range(4, ~0U, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The daemon blocks SIGTERM/SIGINT in every thread (it sigwait()s for them) and a signal
    // mask survives exec: unblock them, or the worker never sees the cancel request.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const char* argv[] = {exe.c_str(), "--plugin-worker", nullptr};
    ::execv(exe.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(req_pipe[0]);
  ::close(msg_pipe[1]);
  if (pid < 0) {
    out.status = Status::io(std::string("cannot start a plugin worker: ") + std::strerror(errno));
    ::close(req_pipe[1]);
    ::close(msg_pipe[0]);
    return out;
  }
  // A child that died before reading must not kill us with SIGPIPE.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);
  (void)writeAll(req_pipe[1], encodeRequest(request));
  ::close(req_pipe[1]);

  const auto deadline = started + timeout;
  std::optional<Clock::time_point> kill_at;
  bool term_sent = false;
  bool have_result = false;
  std::string pending;
  int wstatus = 0;
  bool reaped = false;
  bool eof = false;

  auto handleLine = [&](const std::string& line) {
    Object::Ptr o;
    try {
      o = parseObject(line);
    } catch (const Poco::Exception&) {
      return;  // not ours: ignore
    }
    const auto type = o->optValue<std::string>("type", "");
    if (type == "log") {
      if (log) {
        log(o->optValue<int>("level", ES_LOG_INFO), o->optValue<std::string>("msg", ""));
      }
    } else if (type == "describe") {
      out.description.name = o->optValue<std::string>("name", "");
      out.description.version = o->optValue<std::string>("version", "");
      out.description.description = o->optValue<std::string>("description", "");
      auto sets = o->getArray("datasets");
      for (size_t i = 0; sets && i < sets->size(); ++i) {
        out.description.datasets.push_back(specFromJson(sets->getObject(static_cast<unsigned>(i))));
      }
    } else if (type == "result") {
      have_result = true;
      const bool ok = o->optValue<bool>("ok", false);
      const int code = o->optValue<int>("code", ES_ERR_INTERNAL);
      out.status = ok ? Status::ok()
                      : Status(static_cast<Code>(code), o->optValue<std::string>("message", ""));
      out.stats.upserted = o->optValue<int64_t>("upserted", 0);
      out.stats.removed = o->optValue<int64_t>("removed", 0);
      out.stats.rejected = o->optValue<int64_t>("rejected", 0);
      out.stats.renamed = o->optValue<int64_t>("renamed", 0);
      if (auto rej = o->getArray("rejections")) {
        for (size_t i = 0; i < rej->size(); ++i) {
          out.stats.first_rejections.push_back(
              rej->getElement<std::string>(static_cast<unsigned>(i)));
        }
      }
    }
  };

  while (!reaped || !eof) {
    const auto now = Clock::now();
    if (!reaped) {
      if (!kill_at && now >= deadline) {
        out.timed_out = true;
        ::kill(pid, SIGKILL);
        kill_at = now;
      } else if (stop != nullptr && stop->load() && !term_sent) {
        ::kill(pid, SIGTERM);  // the worker cancels and rolls back
        term_sent = true;
        kill_at = now + kStopGrace;
      } else if (kill_at && now >= *kill_at) {
        ::kill(pid, SIGKILL);
      }
      const pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
      if (r == pid) {
        reaped = true;
      }
    }
    if (eof) {
      if (!reaped) {
        // Pipe closed but the child lives on: wait for it without spinning.
        struct timespec ts {
          0, 20'000'000
        };
        nanosleep(&ts, nullptr);
      }
      continue;
    }
    pollfd pfd{msg_pipe[0], POLLIN, 0};
    const int pr = ::poll(&pfd, 1, reaped ? 0 : 50);
    if (pr > 0) {
      char buf[65536];
      const ssize_t n = ::read(msg_pipe[0], buf, sizeof buf);
      if (n > 0) {
        pending.append(buf, static_cast<size_t>(n));
        size_t nl = 0;
        while ((nl = pending.find('\n')) != std::string::npos) {
          handleLine(pending.substr(0, nl));
          pending.erase(0, nl + 1);
        }
        if (pending.size() > kMaxMessageBytes) {
          pending.clear();  // an unterminated flood: drop it
        }
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        eof = true;
      }
    } else if (pr == 0 && reaped) {
      eof = true;  // reaped and nothing left to read
    }
  }
  ::close(msg_pipe[0]);
  out.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);

  if (WIFSIGNALED(wstatus)) {
    out.term_signal = WTERMSIG(wstatus);
  }
  const std::string secs = std::to_string(timeout.count() / 1000);
  if (out.timed_out) {
    out.status = Status::cancelled("timed out after " + secs + " s and was killed");
  } else if (term_sent && !have_result) {
    out.status = Status::cancelled("stopped by the agent's shutdown; the run was rolled back");
  } else if (out.term_signal == SIGXCPU) {
    out.status = Status::cancelled("exceeded its CPU-time limit (" +
                                   std::to_string(request.cpu_limit_s) + " s) and was killed");
  } else if (out.term_signal != 0) {
    out.status = Status::internal(std::string(out.term_signal == SIGABRT ? "aborted" : "crashed") +
                                  " (signal " + std::to_string(out.term_signal) + ", " +
                                  ::strsignal(out.term_signal) + "); the run was rolled back");
  } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127 && !have_result) {
    out.status = Status::internal("cannot start the plugin worker '" + executable_ + "'");
  } else if (!have_result) {
    out.status = Status::internal("plugin worker exited with code " +
                                  std::to_string(WEXITSTATUS(wstatus)) + " without a result");
  }
  return out;
}

}  // namespace exportsync::agent
