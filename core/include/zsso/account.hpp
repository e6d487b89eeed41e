// SPDX-License-Identifier: BSD-3-Clause
// A local or directory account, read through NSS (getpwnam_r, getgrouplist).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <string>
#include <string_view>
#include <vector>

#include "zsso/result.hpp"

namespace zsso {

struct Account {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string gecos;                 // full-name field: GECOS up to the first comma
  std::string home;
  std::string group;                 // primary group name ("" if unnamed)
  std::vector<std::string> groups;   // all group names, primary first

  bool in_group(std::string_view g) const;
};

enum class LookupStatus { found, unknown, error };

struct AccountLookup {
  LookupStatus status = LookupStatus::error;
  Account account;
  std::string error;                 // for unknown/error
};

// Thread-safe lookup. Never says more than "unknown user" in its message.
AccountLookup lookup_account(std::string_view user);
// The same by uid (getpwuid_r, then lookup_account on its name).
AccountLookup lookup_account_by_uid(uid_t uid);

// The shadow entry's verdict where it can be read: expired (sp_expire is
// today or earlier, as pam_unix's account stage refuses) or locked (the
// password starts with '!', as `usermod -L` / `passwd -l` leave it).
// unreadable: no shadow entry, or no permission (directory accounts, a
// process outside the shadow group) - then nothing is concluded.
// Not thread-safe (getspnam); for the CLI.
enum class Standing { active, locked, expired, unreadable };
Standing read_standing(const std::string& user, std::int64_t now);

// A user name someone submitted, as a log field: quoted (quote_for_log, cut
// at 64 bytes) when NSS knows the account, else only its length,
// "unknown(N bytes)" - people type their password into the user field, and
// the name of an account that does not exist is not worth keeping.
std::string user_for_log(std::string_view user);

}  // namespace zsso
