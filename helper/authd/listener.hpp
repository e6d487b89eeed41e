// SPDX-License-Identifier: BSD-3-Clause
// --listen PATH: the broker makes its own socket and forks a child per
// connection (for hosts without systemd, and for tests).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "serve.hpp"
#include "zsso/result.hpp"

namespace zsso::authd {

struct ListenOptions {
  std::string path;
  mode_t mode = 0660;
  std::optional<gid_t> group;  // default: from broker.allowed_peers
  // Sign-ins at once (each child holds one); more are answered "busy" at
  // once. Default: broker.max_sign_ins.
  std::optional<int> max_children;
  // A listening socket systemd passed (Accept=no): served instead of path,
  // which is then only read back from it, and left in place at the end.
  int inherited_fd = -1;
  // Runs once the socket is bound and the broker's directories are made,
  // before the first connection is accepted (main.cpp drops privileges
  // here); an error stops the listener.
  std::function<Result<void>()> after_bind;
};

// Runs until SIGTERM or SIGINT; returns the process exit status.
int run_listener(const ListenOptions& lo, const ServeOptions& so);

}  // namespace zsso::authd
