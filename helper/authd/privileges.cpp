// SPDX-License-Identifier: BSD-3-Clause
#include "privileges.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "zsso/text.hpp"

namespace zsso::authd {

void close_inherited_fds() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
  {
    long max = ::sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 ? max : 1024); ++fd) ::close(fd);
  }
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
      ::close(null);
    }
  }
}

Result<void> resolve_run_as(RunAs& who) {
  if (who.user.empty()) {
    if (!who.groups.empty()) return Error{"--groups goes with --user"};
    return {};
  }
  const passwd* pw = ::getpwnam(who.user.c_str());
  if (!pw) return Error{"--user " + quote_for_log(who.user) + ": no such user"};
  who.uid = pw->pw_uid;
  who.gid = pw->pw_gid;
  who.gids = {pw->pw_gid};
  for (const auto& g : who.groups) {
    const group* gr = ::getgrnam(g.c_str());
    if (!gr) return Error{"--groups " + quote_for_log(g) + ": no such group"};
    who.gids.push_back(gr->gr_gid);
  }
  std::sort(who.gids.begin(), who.gids.end());
  who.gids.erase(std::unique(who.gids.begin(), who.gids.end()), who.gids.end());
  if (who.uid == 0) return Error{"--user " + who.user + " is root: name the broker's own user (zendesk-sso)"};
  if (::geteuid() != 0) return Error{"--user " + who.user + ": only root can switch to another user; start as root"};
  return {};
}

Result<void> make_runtime_dir(const std::string& socket_path, const RunAs& who) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(socket_path).parent_path();
  if (dir.empty()) return {};
  auto make = [&](const fs::path& d, mode_t mode) -> Result<void> {
    if (::mkdir(d.c_str(), mode) != 0) {
      if (errno == EEXIST) return {};
      int e = errno;
      return Error{"cannot create " + d.string() + ": " + errno_text(e) +
                   (e == EACCES ? " (start as root, or create it: install -d -m 0755" +
                                      (who.user.empty() ? std::string() : " -o " + who.user) + " " + d.string() + ")"
                                : std::string())};
    }
    // mkdir's mode is filtered by the umask: say exactly what we mean.
    if (::chmod(d.c_str(), mode) != 0) return Error{"chmod " + d.string() + ": " + errno_text(errno)};
    if (!who.user.empty() && ::chown(d.c_str(), who.uid, who.gid) != 0)
      return Error{"chown " + d.string() + " to " + who.user + ": " + errno_text(errno)};
    return {};
  };
  if (auto ok = make(dir, 0755); !ok) return ok;
  // The packaged PAM stack keeps pam_faillock's tallies here (the unit's RuntimeDirectory=zendesk-sso/faillock).
  if (!who.user.empty())
    if (auto ok = make(dir / "faillock", 0700); !ok) return ok;
  return {};
}

Result<void> forbid_new_privileges() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error{"prctl(PR_SET_NO_NEW_PRIVS): " + errno_text(errno)};
  return {};
}

Result<void> drop_privileges(const RunAs& who) {
  if (who.user.empty()) return {};
  if (::setgroups(who.gids.size(), who.gids.data()) != 0) return Error{"setgroups: " + errno_text(errno)};
  if (::setresgid(who.gid, who.gid, who.gid) != 0) return Error{"setresgid " + std::to_string(who.gid) + ": " + errno_text(errno)};
  if (::setresuid(who.uid, who.uid, who.uid) != 0) return Error{"setresuid " + std::to_string(who.uid) + ": " + errno_text(errno)};
  if (::setuid(0) == 0 || ::geteuid() == 0) return Error{"could regain root after dropping to " + who.user};
  // setuid clears the dumpable flag; the broker never dumps core anyway (RLIMIT_CORE 0).
  return {};
}

}  // namespace zsso::authd
