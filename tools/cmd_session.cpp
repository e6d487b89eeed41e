// SPDX-License-Identifier: BSD-3-Clause
// zendesk-sso session revoke-all: a fresh session key ends every sign-in
// session at once (and makes the first key when there is none).
// zendesk-sso session rotate: the same, but the old key becomes
// session.previous_key_file, so sessions go on during a grace period.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "zsso/session.hpp"
#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::cli {

namespace {

// Writes text to a new file beside path with mode/owner, then renames it over
// path: readers see the old key or the new one, never half of one.
Result<void> replace_file(const std::string& path, const std::string& text, mode_t mode, uid_t uid, gid_t gid) {
  std::string tmp = path + ".new-XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) return Error{path + ": cannot create a file beside it: " + errno_text(errno)};
  auto fail = [&](const std::string& what) -> Result<void> {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error{tmp + ": " + what + ": " + errno_text(e)};
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("chmod");
  if ((uid != ::geteuid() || gid != ::getegid()) && ::fchown(fd.get(), uid, gid) != 0) return fail("chown");
  for (std::size_t off = 0; off < text.size();) {
    ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  return {};
}

// Where a key file's replacement gets its mode and owner: the file's own, or
// for a first key 0640 and the Zendesk secret file's group.
struct Ownership {
  mode_t mode = 0640;
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
};

// rotate: the current key, byte for byte, becomes previous_key_file.
Result<void> keep_as_previous(const Config& cfg, const Ownership& own) {
  auto current = load_secret_file(cfg.session.key_file);
  if (!current) return Error{current.error()};
  std::string text = std::string(current->view()) + "\n";
  auto done = replace_file(cfg.session.previous_key_file, text, own.mode ? own.mode : 0600, own.uid, own.gid);
  secure_wipe(text.data(), text.size());
  return done;
}

int new_key(const Config& cfg, bool keep_previous) {
  const std::string& path = cfg.session.key_file;
  if (path.empty()) {
    std::fprintf(stderr, "zendesk-sso: session.key_file is not set: sessions are off\n");
    return kUsage;
  }
  // Keep the key file's mode and owner (the broker's or web server's group
  // reads it); a first key gets 0640 and the Zendesk secret file's group.
  Ownership own;
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      std::fprintf(stderr, "zendesk-sso: %s is not a regular file; not replaced\n", path.c_str());
      return kFail;
    }
    own = {static_cast<mode_t>(st.st_mode & 0640), st.st_uid, st.st_gid};
  } else if (errno != ENOENT) {
    std::fprintf(stderr, "zendesk-sso: %s: %s\n", path.c_str(), errno_text(errno).c_str());
    return kFail;
  } else if (keep_previous) {
    std::fprintf(stderr, "zendesk-sso: %s: %s; nothing to rotate (make the first key with `session revoke-all`)\n",
                 path.c_str(), errno_text(ENOENT).c_str());
    return kFail;
  } else if (::stat(cfg.zendesk.secret_file.c_str(), &st) == 0) {
    own.gid = st.st_gid;
  }
  if (keep_previous) {
    if (cfg.session.previous_key_file.empty()) {
      std::fprintf(stderr, "zendesk-sso: session.previous_key_file is not set: set it first, so the old key "
                           "stays accepted during the grace period\n");
      return kUsage;
    }
    if (auto kept = keep_as_previous(cfg, own); !kept) {
      std::fprintf(stderr, "zendesk-sso: %s; nothing changed\n", kept.error().c_str());
      return kFail;
    }
  }
  auto key = new_session_key_text();
  if (!key) {
    std::fprintf(stderr, "zendesk-sso: %s\n", key.error().c_str());
    return kFail;
  }
  std::string text = *key + "\n";
  secure_wipe(key->data(), key->size());
  auto written = replace_file(path, text, own.mode ? own.mode : 0600, own.uid, own.gid);
  secure_wipe(text.data(), text.size());
  if (!written) {
    std::fprintf(stderr, "zendesk-sso: %s\n", written.error().c_str());
    return kFail;
  }
  if (!keep_previous && !cfg.session.previous_key_file.empty()) {
    if (::unlink(cfg.session.previous_key_file.c_str()) == 0)
      std::printf("removed the previous key %s\n", cfg.session.previous_key_file.c_str());
    else if (errno != ENOENT)
      std::fprintf(stderr, "zendesk-sso: %s: %s (sessions signed with it still work until it is gone)\n",
                   cfg.session.previous_key_file.c_str(), errno_text(errno).c_str());
  }
  auto keys = SessionKeys::load(cfg.session);
  if (!keys) {
    std::fprintf(stderr, "zendesk-sso: the new key does not load: %s\n", keys.error().c_str());
    return kFail;
  }
  if (keep_previous)
    std::printf("new session key in %s (key id %s); the old key is %s: sessions go on until you remove it\n",
                path.c_str(), keys->current_id().c_str(), cfg.session.previous_key_file.c_str());
  else
    std::printf("new session key in %s (key id %s): every sign-in session has ended\n", path.c_str(),
                keys->current_id().c_str());
  return kOk;
}

}  // namespace

int cmd_session(const Context& ctx) {
  if (ctx.args.size() != 1 || (ctx.args[0] != "revoke-all" && ctx.args[0] != "rotate")) {
    std::fprintf(stderr, "zendesk-sso: usage: zendesk-sso session revoke-all|rotate\n");
    return kUsage;
  }
  auto cfg = load_or_report(ctx);
  if (!cfg) return kUsage;
  return new_key(*cfg, ctx.args[0] == "rotate");
}

}  // namespace zsso::cli
