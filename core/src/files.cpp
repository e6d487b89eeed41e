// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso {

namespace {

std::string mode_text(const struct stat& st) {
  char m[8];
  std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return m;
}

// "zendesk-sso (uid 101)", or the number alone for a uid without a name.
std::string describe_uid(uid_t uid) {
  std::string out = "uid " + std::to_string(uid);
  if (const passwd* pw = ::getpwuid(uid)) return pw->pw_name + (" (" + out + ")");
  return out;
}

// Regular, owned by root (or us), writable by nobody else.
Result<void> check_owner_and_mode(const std::string& path, const struct stat& st,
                                  TrustedOwner owner = TrustedOwner::root_or_running_user,
                                  std::optional<uid_t> also_owner = std::nullopt) {
  if (!S_ISREG(st.st_mode)) return Error{path + ": not a regular file"};
  if (owner == TrustedOwner::root && st.st_uid != 0)
    return Error{path + ": owned by " + describe_uid(st.st_uid) + "; it must be owned by root"};
  if (st.st_uid != 0 && st.st_uid != ::geteuid() && st.st_uid != also_owner)
    return Error{path + ": owned by " + describe_uid(st.st_uid) + ", read here by " + describe_uid(::geteuid()) +
                 "; " + std::string(kOwnerRule)};
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Error{path + ": group- or world-writable (mode " + mode_text(st) + "); run chmod go-w"};
  return {};
}

template <class Buffer>
Result<Buffer> read_checked(const std::string& path, const TrustedFileRules& rules,
                            std::optional<uid_t> also_owner = std::nullopt) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    int e = errno;
    if (e == ELOOP) return Error{path + ": is a symbolic link; refusing to follow it"};
    return Error{path + ": " + errno_text(e)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{path + ": " + errno_text(errno)};
  if (auto ok = check_owner_and_mode(path, st, TrustedOwner::root_or_running_user, also_owner); !ok) return Error{ok.error()};
  if (!rules.allow_world_readable && (st.st_mode & S_IROTH))
    return Error{path + ": world-readable (mode " + mode_text(st) + "); " + std::string(kSecretRule)};
  if (static_cast<std::size_t>(st.st_size) > rules.max_size)
    return Error{path + ": larger than " + std::to_string(rules.max_size) + " bytes"};

  // Sized from fstat (+1 to see EOF in one go), grown only if the file grew
  // meanwhile: zero-filling max_size up front cost a CGI request 1 MiB of
  // page faults and resident memory for a 2 KiB config.
  Buffer buf;
  buf.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  while (true) {
    if (got == buf.size()) {
      if (buf.size() > rules.max_size) break;
      buf.resize(std::min(buf.size() * 2, rules.max_size + 1));
    }
    ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{path + ": " + errno_text(errno)};
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > rules.max_size)
    return Error{path + ": larger than " + std::to_string(rules.max_size) + " bytes"};
  buf.resize(got);
  return buf;
}

}  // namespace

Result<void> check_trusted_path(const std::string& path, TrustedOwner owner) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return Error{path + ": " + errno_text(errno)};
  if (S_ISLNK(st.st_mode)) return Error{path + ": is a symbolic link; refusing to follow it"};
  return check_owner_and_mode(path, st, owner);
}

Result<std::string> read_trusted_file(const std::string& path, const TrustedFileRules& rules) {
  return read_checked<std::string>(path, rules);
}

Result<std::string> read_trusted_file(const std::string& path, const TrustedFileRules& rules, unsigned also_owner) {
  return read_checked<std::string>(path, rules, static_cast<uid_t>(also_owner));
}

Result<SecureBytes> read_trusted_secret_file(const std::string& path, const TrustedFileRules& rules) {
  return read_checked<SecureBytes>(path, rules);
}

}  // namespace zsso
