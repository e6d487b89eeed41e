// SPDX-License-Identifier: BSD-3-Clause
#include "peer.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>

#include <charconv>
#include <string_view>

#include "zsso/account.hpp"
#include "zsso/text.hpp"

namespace zsso::authd {

namespace {

// getpwuid_r/getgrnam_r need a scratch buffer; 64 KiB covers
// large directory groups.
constexpr std::size_t kNssBuffer = 64 * 1024;

bool user_name_of(uid_t uid, std::string& name) {
  std::vector<char> buf(kNssBuffer);
  passwd pw{}, *res = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) != 0 || !res) return false;
  name = pw.pw_name;
  return true;
}

bool group_by_name(const std::string& name, gid_t& gid) {
  std::vector<char> buf(kNssBuffer);
  group gr{}, *res = nullptr;
  if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || !res) return false;
  gid = gr.gr_gid;
  return true;
}

}  // namespace

std::string Peer::describe() const {
  return "uid " + std::to_string(uid) + " gid " + std::to_string(gid) + " pid " + std::to_string(pid);
}

Result<Peer> peer_of(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return Error{"SO_PEERCRED: " + errno_text(errno)};
  if (len != sizeof cred) return Error{"SO_PEERCRED: short answer"};
  return Peer{cred.pid, cred.uid, cred.gid};
}

bool peer_allowed(const std::vector<std::string>& allowed_peers, const Peer& peer) {
  std::string peer_user;
  bool peer_user_known = false, peer_user_looked_up = false;
  for (const auto& entry : allowed_peers) {
    if (entry.starts_with('@')) {
      std::string name = entry.substr(1);
      gid_t gid = 0;
      if (!group_by_name(name, gid)) continue;
      if (peer.gid == gid) return true;
      if (!peer_user_looked_up) {
        peer_user_looked_up = true;
        peer_user_known = user_name_of(peer.uid, peer_user);
      }
      if (!peer_user_known) continue;
      // Membership through NSS, like getgrouplist: the peer's user is in the group.
      AccountLookup acct = lookup_account(peer_user);
      if (acct.status == LookupStatus::found && acct.account.uid == peer.uid && acct.account.in_group(name))
        return true;
    } else {
      AccountLookup acct = lookup_account(entry);
      if (acct.status == LookupStatus::found && acct.account.uid == peer.uid) return true;
    }
  }
  return false;
}

Result<gid_t> group_id(const std::string& name) {
  gid_t gid = 0;
  if (group_by_name(name, gid)) return gid;
  unsigned long n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec == std::errc{} && end == name.data() + name.size() && !name.empty() && n < static_cast<gid_t>(-1))
    return static_cast<gid_t>(n);
  return Error{"unknown group " + quote_for_log(name)};
}

Result<gid_t> default_socket_group(const std::vector<std::string>& allowed_peers) {
  if (allowed_peers.empty())
    return Error{"broker.allowed_peers is empty: no one could use the broker (add the web server user, e.g. www-data)"};
  const std::string& first = allowed_peers.front();
  if (first.starts_with('@')) {
    auto gid = group_id(first.substr(1));
    if (!gid) return Error{"broker.allowed_peers[0]: " + gid.error()};
    return *gid;
  }
  AccountLookup acct = lookup_account(first);
  if (acct.status != LookupStatus::found)
    return Error{"broker.allowed_peers[0]: unknown user " + quote_for_log(first)};
  return acct.account.gid;
}

}  // namespace zsso::authd
