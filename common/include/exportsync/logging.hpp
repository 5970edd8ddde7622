// Sets up Poco logging (console, file with rotation, or syslog) from the agent config.
//
// THREAD: call once at start-up, before other threads log.
#pragma once

#include <string>

namespace exportsync {

/// Routes the root logger to `target` ("console", "file" or "syslog") at `level`.
/// `file` is the log file for the "file" target. `ident` names the program in syslog.
void configureLogging(const std::string& target, const std::string& file, const std::string& level,
                      const std::string& ident);

}  // namespace exportsync
