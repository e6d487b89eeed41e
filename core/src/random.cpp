// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/random.hpp"

#include <sys/random.h>

#include <cerrno>

namespace zsso {

bool random_bytes(unsigned char* buf, std::size_t n) noexcept {
  std::size_t done = 0;
  while (done < n) {
    // flags 0: the urandom pool, blocking only until it is first initialised.
    ssize_t got = ::getrandom(buf + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace zsso
