// A child process for the tests and the benchmarks (the real exportsync-agent, exportsync-hub,
// exportsyncctl…): started with posix_spawn, stdin from /dev/null, stdout and stderr into files;
// reaped with wait4, so its exit status and resource use (peak RSS of it and of the children it
// waited for) are known. Plus readers of /proc/<pid>: the kB fields of `status` (VmHWM, VmRSS…),
// CPU time, live children; and no core files. No GoogleTest here: a start failure is reported by
// error(), and the caller turns it into a test failure or a benchmark's die().
//
// THREAD: a ChildProcess is used from one thread. OWNERSHIP: a ChildProcess that is destroyed
// while its process still runs SIGKILLs and reaps it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/files.hpp"
#include "support/wait.hpp"

extern char** environ;

namespace exportsync::test_support {

/// No core file for this process, nor for the children it starts from now on (they inherit
/// the limit): crashing or killed test processes must not leave them behind.
inline void disableCoreDumps() {
  const rlimit none{0, 0};
  (void)setrlimit(RLIMIT_CORE, &none);
}

/// The fields of /proc/<pid>/status given in kB (VmHWM, VmRSS, RssAnon…); empty when the
/// process is gone.
inline std::map<std::string, int64_t> procStatusKb(pid_t pid) {
  std::map<std::string, int64_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.find(" kB") == std::string::npos) {
      continue;
    }
    out[line.substr(0, colon)] = std::strtoll(line.c_str() + colon + 1, nullptr, 10);
  }
  return out;
}

/// One kB field of /proc/<pid>/status (e.g. "VmHWM", the peak RSS); -1 when unknown.
inline int64_t procStatusKb(pid_t pid, const std::string& field) {
  const auto all = procStatusKb(pid);
  const auto it = all.find(field);
  return it == all.end() ? -1 : it->second;
}

/// CPU time a process used so far (threads included), in seconds; -1 each when unknown.
struct CpuTimes {
  double user = -1;
  double system = -1;
  double total() const { return user < 0 || system < 0 ? -1 : user + system; }
};

/// From /proc/<pid>/stat (utime and stime, fields 14 and 15, in clock ticks).
inline CpuTimes procCpuTimes(pid_t pid) {
  CpuTimes t;
  const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  // pid (comm) state ppid ...: comm may hold spaces and ')', so count fields after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) {
    return t;
  }
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  int i = 3;
  for (; i <= 15 && in >> field; ++i) {
    if (i == 14) {
      utime = std::strtoull(field.c_str(), nullptr, 10);
    } else if (i == 15) {
      stime = std::strtoull(field.c_str(), nullptr, 10);
    }
  }
  if (i <= 15) {
    return t;
  }
  const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  t.user = static_cast<double>(utime) / ticks;
  t.system = static_cast<double>(stime) / ticks;
  return t;
}

/// Live children of `pid` (those of every one of its threads).
inline std::vector<pid_t> childrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    pid_t child = 0;
    while (in >> child) {
      out.push_back(child);
    }
  }
  return out;
}

/// A started child process (see the top of this file).
class ChildProcess {
 public:
  /// Starts `binary` with `args` (argv[0] is `binary`). stdout and stderr go to the files given,
  /// created or truncated; the same path twice puts both into one file. When the process cannot
  /// be started, error() says why and the object behaves as a process that exited with 127.
  ChildProcess(const std::string& binary, const std::vector<std::string>& args,
               std::string stdout_path, std::string stderr_path)
      : stdout_path_(std::move(stdout_path)), stderr_path_(std::move(stderr_path)) {
    std::vector<std::string> store{binary};
    store.insert(store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : store) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    if (stderr_path_ == stdout_path_) {
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
      posix_spawn_file_actions_addopen(&fa, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0644);
    }
    const int rc = ::posix_spawn(&pid_, binary.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      error_ = "cannot start " + binary + ": " + std::strerror(rc);
      pid_ = -1;
      exited_ = true;
      status_ = 127 << 8;  // as a shell reports a command it could not run
    }
  }
  ~ChildProcess() { kill9(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Why the process could not be started; "" when it was.
  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }
  /// True until the process has ended (reaps it when it has, without blocking).
  bool running() {
    reap(false);
    return !exited_;
  }
  /// True once running() or wait() saw it end.
  bool exited() const { return exited_; }
  /// Waits up to `timeout` for the process to end; true when it did.
  bool wait(std::chrono::milliseconds timeout) {
    return waitUntil([this] { return !running(); }, timeout, std::chrono::milliseconds(10));
  }
  /// Sends `sig`; false when the process has ended or the signal could not be sent.
  bool signal(int sig) const { return pid_ > 0 && !exited_ && ::kill(pid_, sig) == 0; }
  /// SIGKILL and reap; nothing when it has ended already.
  void kill9() {
    if (!running()) {
      return;
    }
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  /// SIGTERM, then up to `timeout` for the process to end (SIGKILL after). True when it ended
  /// within the timeout (or had already); exitCode() tells how.
  bool terminate(std::chrono::milliseconds timeout) {
    if (!running()) {
      return true;
    }
    ::kill(pid_, SIGTERM);
    if (wait(timeout)) {
      return true;
    }
    kill9();
    return false;
  }
  /// Exit code, or -signal when a signal ended it. Precondition: it ended.
  int exitCode() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_); }

  const std::string& stdoutPath() const { return stdout_path_; }
  const std::string& stderrPath() const { return stderr_path_; }
  /// What it wrote so far to stdout and to stderr.
  std::string out() const { return readFile(stdout_path_); }
  std::string err() const { return readFile(stderr_path_); }

  /// A kB field of its /proc/<pid>/status while it runs (e.g. "VmHWM"); -1 when unknown.
  int64_t statusKb(const std::string& field) const { return procStatusKb(pid_, field); }
  /// CPU time it used so far (while it runs).
  CpuTimes cpuTimes() const { return procCpuTimes(pid_); }
  /// Once it ended: resource use of it and of the children it waited for, as wait4 reports it
  /// (ru_maxrss, in kB, is the largest peak RSS among them).
  const rusage& usage() const { return usage_; }

 private:
  void reap(bool block) {
    if (exited_ || pid_ <= 0) {
      return;
    }
    exited_ = ::wait4(pid_, &status_, block ? 0 : WNOHANG, &usage_) == pid_;
  }

  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  rusage usage_{};
  std::string error_;
  std::string stdout_path_;
  std::string stderr_path_;
};

}  // namespace exportsync::test_support
