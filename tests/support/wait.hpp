// Polling with a deadline, for the tests and the benchmarks: the condition is checked first,
// then every `poll` until it holds or the timeout passes (STYLE.md §7: deadlines, not sleeps).
//
// THREAD: any thread; `done` runs on the caller's thread.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace exportsync::test_support {

/// Polls `done` every `poll` until it is true or `timeout` passes; returns its last value.
inline bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace exportsync::test_support
