// Where the build tree puts what the tests run: the agent, exportsyncctl and hub programs, the
// example plugin and the test plugins. ES_BINARY_DIR, ES_PLUGIN_DIR and ES_TEST_PLUGIN_DIR are
// set for every test target (cmake/EsTest.cmake).
//
// THREAD: constants.
#pragma once

#include <string>

namespace exportsync::test_support {

inline const std::string kAgentBinary = ES_BINARY_DIR "/agent/exportsync-agent";
inline const std::string kCtlBinary = ES_BINARY_DIR "/agent/exportsyncctl";
inline const std::string kHubBinary = ES_BINARY_DIR "/central/exportsync-hub";
inline const std::string kExamplePlugin = ES_PLUGIN_DIR "/example.so";
inline const std::string kTestPluginDir = ES_TEST_PLUGIN_DIR;

}  // namespace exportsync::test_support
