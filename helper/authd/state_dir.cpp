// SPDX-License-Identifier: BSD-3-Clause
#include "state_dir.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "zsso/text.hpp"

namespace zsso::authd {

Result<void> check_state_dir(const std::string& dir, const struct stat& st) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (!S_ISDIR(st.st_mode))
    return Error{dir + ": exists and is not a directory; remove it and start the broker again"};
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return Error{dir + ": owned by uid " + std::to_string(st.st_uid) + ", mode " + mode +
                 "; it must belong to the broker's user (uid " + std::to_string(::geteuid()) +
                 ") and be writable by nobody else: remove it (the broker makes it again) or fix it "
                 "(chown " + std::to_string(::geteuid()) + " " + dir + "; chmod go-w " + dir + ")"};
  return {};
}

Result<void> prepare_state_dir(const std::string& dir, mode_t mode, bool create) {
  if (dir.empty()) return Error{"the socket path has no directory for the broker's state folders"};
  if (create && ::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return Error{dir + ": mkdir: " + errno_text(errno)};
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (!create && errno == ENOENT) return {};
    return Error{dir + ": " + errno_text(errno)};
  }
  if (auto ok = check_state_dir(dir, st); !ok) return ok;
  // Ours: mkdir's mode went through the umask, and an older one may be looser.
  if ((st.st_mode & 07777) != mode && ::chmod(dir.c_str(), mode) != 0) return Error{dir + ": chmod: " + errno_text(errno)};
  return {};
}

}  // namespace zsso::authd
