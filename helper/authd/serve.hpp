// SPDX-License-Identifier: BSD-3-Clause
// One connection, one PAM transaction: the whole life of a broker child.
#pragma once

#include <chrono>
#include <string>

namespace zsso::authd {

struct ServeOptions {
  std::string config_path;
  // The request must have arrived completely within this time (slow clients
  // cannot hold a process), and the answer must be written within it.
  std::chrono::seconds io_timeout{5};
  // Everything, PAM included; past it the process ends without an answer.
  std::chrono::seconds deadline{20};
};

// Serves the connected socket fd and closes it. Returns the exit status for
// the process: 0 when an answer was sent (whatever it said), 1 otherwise.
int serve_connection(int fd, const ServeOptions& opt);

}  // namespace zsso::authd
