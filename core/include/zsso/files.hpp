// SPDX-License-Identifier: BSD-3-Clause
// Opening files that steer security: no symlinks, owner and mode checked on
// the open descriptor, size capped before reading.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "zsso/result.hpp"
#include "zsso/secret.hpp"

namespace zsso {

// The rules, in the words every message (the CGI's, the broker's,
// pam_zendesk's, zendesk-sso check's) and the docs use.
inline constexpr std::string_view kOwnerRule = "it must be owned by root or by the user that reads it";
inline constexpr std::string_view kSecretRule =
    "a secret is for its one reader: root:GROUP 0640, GROUP the reading user's (broker mode: zendesk-sso, "
    "direct mode: www-data)";

struct TrustedFileRules {
  std::size_t max_size = 1 << 20;
  bool allow_world_readable = true;  // false for secrets
};

// Reads a whole file opened with O_NOFOLLOW|O_CLOEXEC. Refused unless it is a
// regular file owned by root or the running user and not group/world-writable.
// Errors name the path and the reason.
Result<std::string> read_trusted_file(const std::string& path, const TrustedFileRules& rules);
// The same, also trusting files owned by also_owner: a state folder's owner,
// who could replace them anyway (the security-key store, written by the
// broker's user and read by root's CLI).
Result<std::string> read_trusted_file(const std::string& path, const TrustedFileRules& rules, unsigned also_owner);

// Who may own a trusted file: root, or also the running user.
enum class TrustedOwner { root_or_running_user, root };

// The same owner and mode checks on a file that is not read here (code to
// load, e.g. zendesk-sso-direct.so): not a symlink, regular, owned by root
// (or, unless owner is root, the running user), not group/world-writable.
Result<void> check_trusted_path(const std::string& path, TrustedOwner owner = TrustedOwner::root_or_running_user);

// Same checks; the content lands only in wiped memory.
Result<SecureBytes> read_trusted_secret_file(const std::string& path, const TrustedFileRules& rules);

}  // namespace zsso
