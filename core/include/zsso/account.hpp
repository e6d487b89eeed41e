// SPDX-License-Identifier: BSD-3-Clause
// A local or directory account, read through NSS (getpwnam_r, getgrouplist).
#pragma once

#include <sys/types.h>

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

}  // namespace zsso
