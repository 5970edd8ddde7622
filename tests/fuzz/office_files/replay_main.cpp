// Replays fuzz inputs through the office-file target, so the corpus runs as a CTest under any
// compiler: `office_files_replay DIR_OR_FILE...`. Seed files state what they are by name:
// `ok-*` must open, `bad-*` must be refused; other names (inputs the fuzzer found) only must
// keep the target's invariants. Exit status 1 on a broken expectation (a broken invariant
// aborts).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "office_files_fuzz.hpp"

namespace fs = std::filesystem;
using exportsync::files::fuzz::checkInput;

int main(int argc, char** argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg)) {
        if (entry.is_regular_file()) {
          files.push_back(entry.path());
        }
      }
    } else {
      files.push_back(arg);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "office_files_replay: no input; pass corpus folders or files\n");
    return 1;
  }
  int failures = 0;
  size_t opened = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool ok = checkInput(bytes);
    opened += ok ? 1 : 0;
    const std::string name = file.filename().string();
    if ((name.rfind("ok-", 0) == 0 && !ok) || (name.rfind("bad-", 0) == 0 && ok)) {
      std::fprintf(stderr, "office_files_replay: %s: %s\n", file.c_str(),
                   ok ? "opened, but should be refused" : "refused, but should open");
      ++failures;
    }
  }
  std::printf("office_files_replay: %zu inputs, %zu opened, %d unexpected\n", files.size(), opened,
              failures);
  return failures == 0 ? 0 : 1;
}
