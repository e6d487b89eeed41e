// SPDX-License-Identifier: BSD-3-Clause
// What the systemd unit gives the broker, for --listen without systemd:
// a clean descriptor table, the runtime directory, no new privileges, and
// the configured user and supplementary groups once the socket is bound.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "zsso/result.hpp"

namespace zsso::authd {

struct RunAs {
  std::string user;                 // empty: stay who we are
  std::vector<std::string> groups;  // supplementary groups (e.g. shadow), besides the user's primary group
  // Resolved by resolve_run_as():
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> gids;          // primary + supplementary, as setgroups() takes them
};

// Closes every descriptor above stderr (a launcher's leftovers), and points
// 0-2 at /dev/null when they are closed. Call first, before openlog().
void close_inherited_fds();

// Looks the user and groups up; an error names the one that does not exist,
// or says that only root may switch users.
Result<void> resolve_run_as(RunAs& who);

// The socket's directory (and its faillock/ for the packaged PAM stack) as
// the unit's RuntimeDirectory would make them: owned by the broker's user,
// 0755 (faillock/ 0700). Existing directories are left as they are.
Result<void> make_runtime_dir(const std::string& socket_path, const RunAs& who);

// PR_SET_NO_NEW_PRIVS: no setuid/setgid/file capability ever applies to this
// process or its PAM helpers again (systemd's NoNewPrivileges=).
Result<void> forbid_new_privileges();

// setgroups, setgid, setuid, in that order; then checks root cannot be regained.
Result<void> drop_privileges(const RunAs& who);

}  // namespace zsso::authd
