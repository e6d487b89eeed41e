// SPDX-License-Identifier: BSD-3-Clause
// --listen PATH: the broker makes its own socket and forks a child per
// connection (for hosts without systemd, and for tests).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "serve.hpp"

namespace zsso::authd {

struct ListenOptions {
  std::string path;
  mode_t mode = 0660;
  std::optional<gid_t> group;  // default: from broker.allowed_peers
  int max_children = 64;       // more connections wait in the backlog
};

// Runs until SIGTERM or SIGINT; returns the process exit status.
int run_listener(const ListenOptions& lo, const ServeOptions& so);

}  // namespace zsso::authd
