// SPDX-License-Identifier: BSD-3-Clause
// Per (account, client address) throttling of failed sign-ins, kept by the
// broker in throttle/ beside its socket: one small file per pair, named by
// a hash so the directory names no account. Guessing from one address is
// slowed down hard; the account's owner, from their own address, is not
// (pam_faillock remains the account-wide ceiling).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zsso/config.hpp"

namespace zsso::authd {

class Throttle {
 public:
  // dir: where the tallies live; empty or cfg.max_failures == 0: off.
  Throttle(std::string dir, const BrokerConfig& cfg) : dir_(std::move(dir)), cfg_(cfg) {}

  bool enabled() const { return !dir_.empty() && cfg_.max_failures > 0; }
  // Seconds the pair must still wait, or nothing when it may try.
  std::optional<std::int64_t> banned(std::string_view user, std::string_view address, std::int64_t now) const;
  // After a failed password check (a ban starts at max_failures failures).
  void failed(std::string_view user, std::string_view address, std::int64_t now) const;
  // After a successful sign-in: the pair starts afresh.
  void succeeded(std::string_view user, std::string_view address) const;

  static constexpr std::size_t kMaxTallies = 10000;   // a spray of names cannot fill /run

 private:
  std::string path_of(std::string_view user, std::string_view address) const;
  std::string dir_;
  const BrokerConfig& cfg_;
};

// The tallies' directory beside a broker socket path.
std::string throttle_dir(const std::string& socket_path);

}  // namespace zsso::authd
