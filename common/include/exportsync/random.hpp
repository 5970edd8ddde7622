// Random identifiers and secrets from the system CSPRNG (/dev/urandom).
//
// THREAD: safe from any thread.
#pragma once

#include <cstddef>
#include <string>

namespace exportsync {

/// `bytes` random bytes as lower-case hex (2 × bytes characters). Aborts if the system has no
/// entropy source, since nothing sensible (tokens, store ids) can be made without one.
std::string randomHex(size_t bytes);

}  // namespace exportsync
