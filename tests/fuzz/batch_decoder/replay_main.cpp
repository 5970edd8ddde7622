// Replays fuzz inputs through the batch decoder target, so the corpus runs as a CTest under any
// compiler: `batch_decoder_replay DIR_OR_FILE...`. Seed files state what they are by name:
// `batch-*` must decode as a batch, `payload-*` as a bare payload, `bad-*` as neither; other
// names (inputs the fuzzer found) only must not crash. Exit status 1 on a broken expectation.
#include <cstdio>
#include <string>

#include "batch_decoder_fuzz.hpp"
#include "replay_inputs.hpp"

using exportsync::protocol::fuzz::checkBatch;
using exportsync::protocol::fuzz::checkPayload;

int main(int argc, char** argv) {
  const auto files = exportsync::fuzz::replayInputs(argc, argv);
  if (files.empty()) {
    std::fprintf(stderr, "batch_decoder_replay: no input; pass corpus folders or files\n");
    return 1;
  }
  int failures = 0;
  size_t batches = 0;
  size_t payloads = 0;
  for (const auto& file : files) {
    const std::string bytes = exportsync::fuzz::readInput(file);
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
