// exportsyncctl: the operator's command line for a local agent. Commands read the agent's
// config and work on its store directly (SQLite serialises them with the running daemon).
//
// THREAD: single-threaded tool.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace exportsync::agent {

/// Runs `exportsyncctl args...`; writes what a person reads to `out`, problems to `err`.
/// Returns the process exit code (0 ok, 1 failure, 64 usage, 78 config).
int runCtl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace exportsync::agent
