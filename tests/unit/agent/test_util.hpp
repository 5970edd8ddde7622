// Helpers shared by the agent unit tests: a temporary folder removed at the end of the test.
#pragma once

#include "support/temp_dir.hpp"

namespace exportsync::agent::testing {

/// A fresh folder under $TMPDIR (or /tmp), removed with its contents when destroyed; file(name)
/// gives a path in it (support/temp_dir.hpp).
using TempDir = test_support::TempDir;

}  // namespace exportsync::agent::testing
