#include "exportsync/random.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace exportsync {

std::string randomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  size_t got = 0;
  while (fd >= 0 && got < bytes) {
    const ssize_t n = ::read(fd, raw.data() + got, bytes - got);
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  if (fd >= 0) {
    ::close(fd);
  }
  if (got < bytes) {
    std::abort();
  }
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace exportsync
