// A temporary folder for one GoogleTest test: a fresh <$TMPDIR or /tmp>/<prefix>-XXXXXX, mode
// 0755 (the agent refuses plugin folders others may write, and reads its own files back), removed
// with everything in it at the end, unless the test failed and ES_KEEP_TEST_DIRS is set (then
// it is kept, and named on stderr).
//
//   TempDir dir("es-unit");
//   writeFile(dir.file("agent.properties"), "...");
//   const std::string inbox = dir.sub("inbox");  // created
//
// THREAD: test thread only. OWNERSHIP: a TempDir owns its folder.
#pragma once

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "support/files.hpp"

namespace exportsync::test_support {

class TempDir {
 public:
  /// Creates the folder; a test failure when it cannot be made.
  explicit TempDir(const std::string& prefix = "es-test") {
    path_ = makeTempDir(tempParent(), prefix);
    if (path_.empty()) {
      const int error = errno;
      // Never "": paths built from it would land in the root folder.
      path_ = tempParent() + "/" + prefix + "-XXXXXX";
      ADD_FAILURE() << "cannot create a temporary folder " << path_ << ": " << std::strerror(error);
      return;
    }
    made_ = true;
    std::filesystem::permissions(path_, std::filesystem::perms(0755));
  }
  ~TempDir() {
    if (!made_) {
      return;
    }
    if (::testing::Test::HasFailure() && std::getenv("ES_KEEP_TEST_DIRS") != nullptr) {
      std::fprintf(stderr, "kept test folder %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// <path>/<name>; nothing is created.
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Creates <path>/<name> (and its parents, mode 0755) and returns it.
  std::string sub(const std::string& name) const {
    const std::string p = file(name);
    std::filesystem::create_directories(p);
    std::filesystem::permissions(p, std::filesystem::perms(0755));
    return p;
  }

 private:
  std::string path_;
  bool made_ = false;
};

}  // namespace exportsync::test_support
