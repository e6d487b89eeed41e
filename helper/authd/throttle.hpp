// SPDX-License-Identifier: BSD-3-Clause
// Throttling of failed sign-ins, kept by the broker in throttle/ beside its
// socket: one small file per tally, named by a hash (the directory lists no
// account) and holding whose tally it is, so `zendesk-sso unlock` can lift
// one person's bans. Two kinds of tally:
// - per (account, client address): guessing one account from one address
//   is slowed down hard; the account's owner, from their own address, is
//   not (pam_faillock remains the account-wide ceiling);
// - per client address, any account: a spray of names from one address
//   bans that address.
// An IPv6 client counts by its /64 (one host holds a whole /64). The store
// is bounded, and never fails open: when full it forgets the oldest tallies
// that hold no ban, and when every tally holds one it refuses sign-ins it
// could not count.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/config.hpp"
#include "zsso/result.hpp"

namespace zsso::authd {

// The account a tally counts: the name NSS resolves (getpwnam's pw_name),
// so "Alice", "ALICE" and "alice@AD.EXAMPLE" share one tally where names are
// case-insensitive (SSSD with AD); a name NSS does not know stays as typed.
struct ThrottleAccount {
  std::string name;
  bool known = false;   // NSS knows it (the tally may name it; else only its hash)
};
ThrottleAccount throttle_account(std::string_view typed);
// The address a tally counts: IPv4 as is, IPv6 as its /64 ("2001:db8:1:2::/64");
// "" when it is not an address.
std::string throttle_address(std::string_view client_address);

// One tally as the store holds it.
struct TallyRecord {
  std::int64_t failures = 0;       // in the current window
  std::int64_t window_start = 0;
  std::int64_t bans = 0;           // so far (each lasts twice as long as the last)
  std::int64_t banned_until = 0;
  bool address_wide = false;       // counts every account from `address`
  std::string account;             // NSS's name of a known account
  std::string account_sha256;      // else the hex SHA-256 of the name as typed (may be a password)
  std::string address;             // throttle_address()
  std::string file;                // its path
};

// Every tally in dir (for zendesk-sso unlock), or why the folder cannot be read.
Result<std::vector<TallyRecord>> read_tallies(const std::string& dir);
// Whether a tally counts the account named `name` (pw_name or as typed).
bool tally_is_of(const TallyRecord& t, std::string_view name);

class Throttle {
 public:
  // dir: where the tallies live; empty or cfg.max_failures == 0: off.
  Throttle(std::string dir, const BrokerConfig& cfg);

  bool enabled() const { return !dir_.empty() && cfg_.max_failures > 0; }

  struct Refusal {
    std::int64_t wait = 0;   // seconds
    std::string why;         // for the log: starts "throttled: "
  };
  // Why `account` may not try from client_address now, or nothing when it may.
  std::optional<Refusal> refused(const ThrottleAccount& account, std::string_view client_address,
                                 std::int64_t now) const;
  // After a failed password check: counts for the pair and for the address.
  void failed(const ThrottleAccount& account, std::string_view client_address, std::int64_t now) const;
  // After a successful sign-in: the pair starts afresh (the address does not:
  // an attacker with one account of their own could otherwise clear it).
  void succeeded(const ThrottleAccount& account, std::string_view client_address) const;

  static constexpr std::size_t kMaxTallies = 10000;   // a spray of names cannot fill /run
  std::size_t capacity() const { return cap_; }

 private:
  std::string dir_;
  const BrokerConfig& cfg_;
  std::size_t cap_;
};

// The tallies' directory beside a broker socket path.
std::string throttle_dir(const std::string& socket_path);

}  // namespace zsso::authd
