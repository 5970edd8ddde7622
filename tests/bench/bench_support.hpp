// What the benchmark programs share (exportsync-bench, exportsync-sync-bench,
// exportsync-hub-bench, exportsync-industrie-bench): failing loudly with die() and check(),
// which SIGKILL the child processes still running and keep the scratch folders for inspection;
// scratch folders; child processes (the real agent and hub, support/child_process.hpp); the
// command line; wall and CPU time; medians, spreads and percentiles; the host's
// load. The benchmarks assert nothing timed: they fail only when something did not run or
// stored the wrong rows.
//
// THREAD: die() and check() may be called from any thread; the rest from the main thread.
// OWNERSHIP: a ScratchDir owns its folder and a Process its child process.
#pragma once

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.hpp"
#include "support/files.hpp"

namespace exportsync::bench {

using Clock = std::chrono::steady_clock;

// --- failing --------------------------------------------------------------------------------

namespace detail {

// What a failure cleans up: the processes to kill, the folders to name.
struct Failure {
  std::mutex mutex;
  std::string program = "exportsync-bench";              // Guarded by mutex.
  std::set<const test_support::ChildProcess*> children;  // Guarded by mutex.
  std::vector<std::string> scratch_dirs;                 // Guarded by mutex.
};

inline Failure& failure() {
  static Failure f;
  return f;
}

}  // namespace detail

/// The name die() puts before its messages; call once at the start of main().
inline void setProgramName(const std::string& name) {
  auto& f = detail::failure();
  const std::lock_guard<std::mutex> lock(f.mutex);
  f.program = name;
}

/// Prints `msg` on stderr, SIGKILLs the child processes still running, names the scratch
/// folders it keeps for inspection, and exits with 1.
[[noreturn]] inline void die(const std::string& msg) {
  std::fflush(stdout);
  auto& f = detail::failure();
  {
    const std::lock_guard<std::mutex> lock(f.mutex);
    std::fprintf(stderr, "%s: %s\n", f.program.c_str(), msg.c_str());
    for (const auto* child : f.children) {
      if (!child->exited()) {
        ::kill(child->pid(), SIGKILL);
      }
    }
    for (const auto& dir : f.scratch_dirs) {
      std::fprintf(stderr, "%s: kept %s for inspection\n", f.program.c_str(), dir.c_str());
    }
  }
  std::exit(1);
}

/// die("FAILED: <what>") unless `ok`.
inline void check(bool ok, const std::string& what) {
  if (!ok) {
    die("FAILED: " + what);
  }
}

/// A whole number >= `min` from the command line; dies naming `flag` otherwise.
inline int64_t parseCount(const std::string& flag, const char* value, int64_t min) {
  int64_t out = 0;
  const char* end = value == nullptr ? nullptr : value + std::strlen(value);
  if (value == nullptr || *value == '\0' || std::from_chars(value, end, out).ptr != end ||
      out < min) {
    die(flag + " takes a whole number >= " + std::to_string(min));
  }
  return out;
}

/// Walks a command line: flag() is the current argument, value() takes the next one as its
/// value and count() as a whole number.
///
///   for (ArgReader args(argc, argv); args.next();) {
///     if (args.flag() == "--rows") { o.rows = args.count(1); } else if ...
///   }
class ArgReader {
 public:
  ArgReader(int argc, char** argv) : argc_(argc), argv_(argv) {}
  /// Moves to the next argument; false after the last one.
  bool next() {
    if (++i_ >= argc_) {
      return false;
    }
    flag_ = argv_[i_];
    return true;
  }
  const std::string& flag() const { return flag_; }
  /// The argument after the flag; dies when there is none.
  const char* value() {
    if (i_ + 1 >= argc_) {
      die(flag_ + " needs a value");
    }
    return argv_[++i_];
  }
  /// value() as a whole number >= `min`; dies otherwise.
  int64_t count(int64_t min) { return parseCount(flag_, value(), min); }
  /// For a flag no option took: --help or -h prints `usage` and exits with 0; anything else
  /// prints it and dies naming the flag.
  [[noreturn]] void unknown(void (*usage)()) const {
    usage();
    if (flag_ == "--help" || flag_ == "-h") {
      std::exit(0);
    }
    die("unknown option '" + flag_ + "'");
  }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string flag_;
};

// --- folders and processes -------------------------------------------------------------------

/// A fresh folder <parent>/<prefix>-XXXXXX, mode 0755: removed at the end unless `keep` (then
/// named on stdout); die() keeps it and names it.
class ScratchDir {
 public:
  ScratchDir(const std::string& parent, const std::string& prefix, bool keep) : keep_(keep) {
    path_ = test_support::makeTempDir(parent, prefix);
    if (path_.empty()) {
      die("cannot create a scratch folder in '" + parent + "': " + std::strerror(errno) +
          "; pass --dir PARENT");
    }
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms(0755), ec);
    auto& f = detail::failure();
    const std::lock_guard<std::mutex> lock(f.mutex);
    f.scratch_dirs.push_back(path_);
  }
  ~ScratchDir() {
    {
      auto& f = detail::failure();
      const std::lock_guard<std::mutex> lock(f.mutex);
      f.scratch_dirs.erase(std::remove(f.scratch_dirs.begin(), f.scratch_dirs.end(), path_),
                           f.scratch_dirs.end());
    }
    if (keep_) {
      std::printf("(kept scratch folder %s)\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool keep_;
};

/// Creates `path` and its parents (mode 0755); dies when it cannot.
inline void makeDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  check(!ec, "creating " + path + ": " + ec.message());
  std::filesystem::permissions(path, std::filesystem::perms(0755), ec);
}

/// Replaces `path` with `text`; dies when it cannot.
inline void writeFile(const std::string& path, const std::string& text) {
  check(test_support::writeFile(path, text), "writing " + path);
}

/// A child process (support/child_process.hpp) that die() SIGKILLs while it runs; one that
/// cannot be started is fatal. Destroyed while it runs: SIGKILLed.
class Process : public test_support::ChildProcess {
 public:
  /// stdout and stderr into the files given (the same path twice: both into one file).
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::string& stdout_path, const std::string& stderr_path)
      : ChildProcess(binary, args, stdout_path, stderr_path) {
    check(error().empty(), error());
    auto& f = detail::failure();
    const std::lock_guard<std::mutex> lock(f.mutex);
    f.children.insert(this);
  }
  /// stdout and stderr into <log_base>.stdout and <log_base>.stderr.
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::string& log_base)
      : Process(binary, args, log_base + ".stdout", log_base + ".stderr") {}
  ~Process() {
    auto& f = detail::failure();
    const std::lock_guard<std::mutex> lock(f.mutex);
    f.children.erase(this);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// What it wrote, each file under a "--- <path>" line; one file when both go to it.
  std::string logs() const {
    std::string text = "--- " + stdoutPath() + "\n" + out();
    if (stderrPath() != stdoutPath()) {
      text += "--- " + stderrPath() + "\n" + err();
    }
    return text;
  }
  /// The last `max` bytes of its stdout (all of it when shorter).
  std::string tail(size_t max = 2000) const {
    const std::string s = out();
    return s.size() > max ? "..." + s.substr(s.size() - max) : s;
  }
};

// --- time and statistics -----------------------------------------------------------------------

inline double secondsOf(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// CPU time of this process (user + system, every thread), in seconds: steadier than wall time
/// on a busy host.
inline double cpuSeconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

/// Wall and CPU seconds of one timed section.
struct Timing {
  double wall = 0;
  double cpu = 0;
};

/// Started when constructed; elapsed() is the wall and CPU time since.
class Stopwatch {
 public:
  Stopwatch() : wall_(Clock::now()), cpu_(cpuSeconds()) {}
  Timing elapsed() const { return {secondsOf(Clock::now() - wall_), cpuSeconds() - cpu_}; }

 private:
  Clock::time_point wall_;
  double cpu_;
};

/// Median, smallest and largest of a series (all 0 when it is empty).
struct Summary {
  double median = 0;
  double min = 0;
  double max = 0;
  /// (max - min) / median, in percent.
  double spread() const { return median > 0 ? (max - min) / median * 100.0 : 0; }
};

inline Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) {
    return s;
  }
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v.front();
  s.max = v.back();
  return s;
}

inline double median(std::vector<double> v) { return summarize(std::move(v)).median; }

/// The nearest-rank percentile `p` (0 to 100): the smallest value with at least p % of the
/// samples at or below it; 0 for no samples.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

/// The host's load averages over 1, 5 and 15 minutes, as /proc/loadavg gives them.
inline std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a;
  std::string b;
  std::string c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace exportsync::bench
