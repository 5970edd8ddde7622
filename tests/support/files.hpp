// Whole-file reads and writes, properties and port files, and fresh folders under $TMPDIR, for the
// tests and the benchmarks. No GoogleTest here: callers report failures their own way (a test
// failure, or a benchmark's die()).
//
// THREAD: any thread; no shared state. OWNERSHIP: plain values; a folder made by makeTempDir()
// belongs to the caller, who removes it.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace exportsync::test_support {

/// The bytes of `path`; "" when it cannot be read.
inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Replaces `path` with `bytes`; false when they could not all be written.
inline bool writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  return static_cast<bool>(out);
}

/// Keys and values of a properties file (agent.properties, hub.properties).
using Properties = std::map<std::string, std::string>;

/// `base` with `changes` applied: a key given an empty value is removed, any other is set.
inline Properties withChanges(Properties base, const Properties& changes) {
  for (const auto& [key, value] : changes) {
    if (value.empty()) {
      base.erase(key);
    } else {
      base[key] = value;
    }
  }
  return base;
}

/// A properties file's text: "# <comment>", then one "key = value" line per key, in key order.
inline std::string propertiesText(const Properties& keys, const std::string& comment) {
  std::string text = "# " + comment + "\n";
  for (const auto& [key, value] : keys) {
    text += key + " = " + value + "\n";
  }
  return text;
}

/// The port a daemon wrote to a port file (the hub's hub.port_file, the agent's status.port);
/// 0 while there is none.
inline uint16_t readPortFile(const std::string& path) {
  std::ifstream in(path);
  unsigned port = 0;
  return in >> port && port <= 65535 ? static_cast<uint16_t>(port) : 0;
}

/// Where temporary folders go: $TMPDIR, or /tmp when it is unset or empty.
inline std::string tempParent() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

/// Creates a fresh folder <parent>/<prefix>-XXXXXX (mode 0700, mkdtemp). Returns its path, or
/// "" with errno set when it could not be made.
inline std::string makeTempDir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "-XXXXXX";
  return ::mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
}

}  // namespace exportsync::test_support
