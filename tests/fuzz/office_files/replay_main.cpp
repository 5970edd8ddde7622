// Replays fuzz inputs through the office-file target, so the corpus runs as a CTest under any
// compiler: `office_files_replay DIR_OR_FILE...`. Seed files state what they are by name:
// `ok-*` must open, `bad-*` must be refused; other names (inputs the fuzzer found) only must
// keep the target's invariants. Exit status 1 on a broken expectation (a broken invariant
// aborts).
#include <cstdio>
#include <string>

#include "office_files_fuzz.hpp"
#include "replay_inputs.hpp"

using exportsync::files::fuzz::checkInput;

int main(int argc, char** argv) {
  const auto files = exportsync::fuzz::replayInputs(argc, argv);
  if (files.empty()) {
    std::fprintf(stderr, "office_files_replay: no input; pass corpus folders or files\n");
    return 1;
  }
  int failures = 0;
  size_t opened = 0;
  for (const auto& file : files) {
    const std::string bytes = exportsync::fuzz::readInput(file);
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
