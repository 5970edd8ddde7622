// Text reports the agent prints for a person: the plugin list (--list-plugins) and the summary
// of a --once run.
//
// THREAD: pure functions.
#pragma once

#include <string>
#include <vector>

#include "exportsync/agent/agent.hpp"

namespace exportsync::agent {

/// One line per plugin file: name, version, state (loaded / refused: reason / not enabled).
std::string formatPluginList(const std::vector<PluginRecord>& plugins);

/// Each plugin's run result, then the rows each dataset holds and the change-log size.
std::string formatRunSummary(const std::vector<RunOutcome>& outcomes, Store& store);

}  // namespace exportsync::agent
