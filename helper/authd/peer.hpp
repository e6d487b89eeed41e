// SPDX-License-Identifier: BSD-3-Clause
// Who is on the other end of a Unix socket (SO_PEERCRED), and whether
// broker.allowed_peers lets them in.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "zsso/result.hpp"

namespace zsso::authd {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string describe() const;   // "uid 33 gid 33 pid 1234" for log lines
};

Result<Peer> peer_of(int fd);

// Entries are user names (the peer's uid must be that user's) or "@group"
// (the peer's gid is that group, or the peer's user is a member of it).
// Names that do not resolve match nothing.
bool peer_allowed(const std::vector<std::string>& allowed_peers, const Peer& peer);

// The group a --listen socket gets by default: "@group" itself, or the
// primary group of a user entry. Looks at the first entry only.
Result<gid_t> default_socket_group(const std::vector<std::string>& allowed_peers);

// A group by name, or a number.
Result<gid_t> group_id(const std::string& name);

}  // namespace zsso::authd
