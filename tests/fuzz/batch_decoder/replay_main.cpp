// Replays fuzz inputs through the batch decoder target, so the corpus runs as a CTest under any
// compiler: `batch_decoder_replay DIR_OR_FILE...`. Seed files state what they are by name:
// `batch-*` must decode as a batch, `payload-*` as a bare payload, `bad-*` as neither; other
// names (inputs the fuzzer found) only must not crash. Exit status 1 on a broken expectation.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "batch_decoder_fuzz.hpp"

namespace fs = std::filesystem;
using exportsync::protocol::fuzz::checkBatch;
using exportsync::protocol::fuzz::checkPayload;

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
    std::fprintf(stderr, "batch_decoder_replay: no input; pass corpus folders or files\n");
    return 1;
  }
  int failures = 0;
  size_t batches = 0;
  size_t payloads = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool batch = checkBatch(bytes);
    const bool payload = checkPayload(bytes);
    batches += batch ? 1 : 0;
    payloads += payload ? 1 : 0;
    const std::string name = file.filename().string();
    const bool ok = (name.rfind("batch-", 0) == 0 && !batch)             ? false
                    : (name.rfind("payload-", 0) == 0 && !payload)       ? false
                    : (name.rfind("bad-", 0) == 0 && (batch || payload)) ? false
                                                                         : true;
    if (!ok) {
      std::fprintf(stderr, "batch_decoder_replay: %s: decoded as batch %d, as payload %d\n",
                   file.c_str(), batch ? 1 : 0, payload ? 1 : 0);
      ++failures;
    }
  }
  std::printf(
      "batch_decoder_replay: %zu inputs, %zu decoded as batches, %zu as payloads, %d "
      "unexpected\n",
      files.size(), batches, payloads, failures);
  return failures == 0 ? 0 : 1;
}
