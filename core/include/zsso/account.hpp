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

// A user name someone submitted, as a log field: quoted (quote_for_log, cut
// at 64 bytes) when NSS knows the account, else only its length,
// "unknown(N bytes)" - people type their password into the user field, and
// the name of an account that does not exist is not worth keeping.
std::string user_for_log(std::string_view user);

}  // namespace zsso
