// SPDX-License-Identifier: BSD-3-Clause
// Enrolment codes (issue 23, point 3): how a person gets a first security key
// when the admin says so. `zendesk-sso keys invite USER` makes a one-time code
// (12 characters of an alphabet without look-alikes, ~59 bits from
// RAND_bytes, printed in groups of 4) and stores only SHA-256(user NUL code)
// and its expiry in authfile + ".invites.json" (0600, under the store's lock;
// beside the authfile, named after it like the side file, so an authfile in
// /etc does not put an "invites.json" there). A new invite for a user
// replaces the old. The broker's enrolment redeems it once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zsso/result.hpp"

namespace zsso::authfile {

inline constexpr int kInviteDefaultMinutes = 15;
inline constexpr int kInviteMaxMinutes = 1440;
inline constexpr std::size_t kInviteCodeChars = 12;

std::string invites_path(const std::string& authfile);  // authfile + ".invites.json"

// A fresh code, as printed ("ABCD-EFGH-JKMN"); wiped when destroyed.
struct InviteCode {
  std::string text;
  std::int64_t expires = 0;
  InviteCode() = default;
  InviteCode(const InviteCode&) = delete;
  InviteCode& operator=(const InviteCode&) = delete;
  InviteCode(InviteCode&&) = default;
  ~InviteCode();
};

// Makes user's invite, valid for minutes (1..kInviteMaxMinutes) from now,
// replacing any earlier one. The code is only in the result: print it, never log it.
Result<InviteCode> create_invite(const std::string& authfile_path, const std::string& user, int minutes, std::int64_t now);

// The broker's enrolment: ok once, then the invite is gone. A wrong code is
// "invalid enrolment code" and the invite stays (the broker's throttle counts
// the guess like a bad password: that is the caller's job, not this one's);
// an expired invite is refused and removed. Case, spaces and dashes in code
// do not matter. Compared in constant time; our copy of the code is wiped.
Result<void> redeem_invite(const std::string& authfile_path, std::string_view user, std::string_view code,
                           std::int64_t now);

// Whether user has an invite that has not expired (the file unreadable: false).
bool has_invite(const std::string& authfile_path, std::string_view user, std::int64_t now);

}  // namespace zsso::authfile
