// The inputs a fuzz replay driver runs: every regular file of the folders given (and the files
// given), in name order, with their bytes. Shared by the replay drivers of tests/fuzz.
//
// THREAD: the driver's main thread. OWNERSHIP: returns values.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace exportsync::fuzz {

/// The files named by `argv[1..]` (folders are listed, one level), sorted by path.
inline std::vector<std::filesystem::path> replayInputs(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) {
          files.push_back(entry.path());
        }
      }
    } else {
      files.push_back(arg);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// The bytes of `file` (empty when it cannot be read).
inline std::string readInput(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace exportsync::fuzz
