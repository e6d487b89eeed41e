// SPDX-License-Identifier: BSD-3-Clause
#include "throttle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::authd {

namespace {

// A tally: failures in the current window, when the window began, bans so
// far and when the current ban ends.
struct Tally {
  std::int64_t failures = 0;
  std::int64_t window_start = 0;
  std::int64_t bans = 0;
  std::int64_t banned_until = 0;
};

Tally read_tally(int fd) {
  Tally t;
  char buf[128] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n > 0) {
    long long a = 0, b = 0, c = 0, d = 0;
    if (std::sscanf(buf, "%lld %lld %lld %lld", &a, &b, &c, &d) == 4) t = {a, b, c, d};
  }
  return t;
}

void write_tally(int fd, const Tally& t) {
  char buf[128];
  int n = std::snprintf(buf, sizeof buf, "%lld %lld %lld %lld\n", static_cast<long long>(t.failures),
                        static_cast<long long>(t.window_start), static_cast<long long>(t.bans),
                        static_cast<long long>(t.banned_until));
  // A tally that cannot be written is simply not kept (pam_faillock still counts).
  if (n > 0 && ::ftruncate(fd, 0) == 0 && ::pwrite(fd, buf, static_cast<std::size_t>(n), 0) != n) return;
}

// Counts the tallies, removing those untouched since before `stale`
// (their window and any ban are long over).
std::size_t prune_and_count(const std::string& dir, std::int64_t stale) {
  std::size_t count = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      struct stat st {};
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < stale) {
        ::unlinkat(::dirfd(d), e->d_name, 0);
        continue;
      }
      ++count;
    }
    ::closedir(d);
  }
  return count;
}

}  // namespace

std::string throttle_dir(const std::string& socket_path) {
  auto slash = socket_path.rfind('/');
  return slash == std::string::npos ? std::string() : socket_path.substr(0, slash) + "/throttle";
}

std::string Throttle::path_of(std::string_view user, std::string_view address) const {
  std::string key(user);
  key.push_back('\0');
  key.append(address);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(key.data(), key.size(), md, &n, EVP_sha256(), nullptr) != 1) return {};
  if (n < 16) return {};
  return dir_ + "/" + hex_lower({md, 16});
}

std::optional<std::int64_t> Throttle::banned(std::string_view user, std::string_view address, std::int64_t now) const {
  if (!enabled()) return std::nullopt;
  std::string path = path_of(user, address);
  if (path.empty()) return std::nullopt;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  ::flock(fd.get(), LOCK_SH);
  Tally t = read_tally(fd.get());
  if (t.banned_until > now) return t.banned_until - now;
  return std::nullopt;
}

void Throttle::failed(std::string_view user, std::string_view address, std::int64_t now) const {
  if (!enabled()) return;
  std::string path = path_of(user, address);
  if (path.empty()) return;
  int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(::open(path.c_str(), flags));
  if (!fd.valid()) {
    // Bounded: past the cap nothing new is recorded (pam_faillock still counts).
    if (prune_and_count(dir_, now - cfg_.failure_window - 3600) >= kMaxTallies) return;
    fd.reset(::open(path.c_str(), flags | O_CREAT, 0600));
    if (!fd.valid()) return;
  }
  ::flock(fd.get(), LOCK_EX);
  Tally t = read_tally(fd.get());
  if (now - t.window_start > cfg_.failure_window) {
    t.failures = 0;
    t.window_start = now;
  }
  if (++t.failures >= cfg_.max_failures) {
    // Each further ban lasts twice as long, at most an hour; the window restarts.
    std::int64_t ban = cfg_.ban_seconds << std::min<std::int64_t>(t.bans, 12);
    t.banned_until = now + std::min<std::int64_t>(ban, 3600);
    ++t.bans;
    t.failures = 0;
    t.window_start = now;
  }
  write_tally(fd.get(), t);
}

void Throttle::succeeded(std::string_view user, std::string_view address) const {
  if (!enabled()) return;
  std::string path = path_of(user, address);
  if (!path.empty()) ::unlink(path.c_str());
}

}  // namespace zsso::authd
