// SPDX-License-Identifier: BSD-3-Clause
// Shares of the broker (issue 22.1): the listener's count of its children by
// client address and account, and whether one more may start or hold a
// conversation. One address (an IPv6 /64) or one account must never take
// every slot: the excess is refused at once, before any fork.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "zsso/config.hpp"

namespace zsso::authd {

// What the listener learnt of a request before giving it a slot.
struct ChildShare {
  bool session = false;       // a session sign-in (no conversation ever)
  std::string address;        // throttle_address() of the client's; empty: none given, or exempt
};

class Shares {
 public:
  // max_children: broker.max_sign_ins or --max-children; the reserved slots
  // (an eighth unless set) are of it, and always leave one for a conversation.
  Shares(const BrokerConfig& cfg, int max_children)
      : cfg_(cfg), max_children_(max_children),
        reserved_(std::min<std::int64_t>(cfg.reserved_sign_ins >= 0 ? cfg.reserved_sign_ins : max_children / 8,
                                         std::max(0, max_children - 1))) {}

  // The share key of a client address: its /64 for IPv6; empty (not
  // capped per address) when none is given or it is in broker.limits_exempt.
  std::string address_key(std::string_view client_address) const;

  bool full() const { return static_cast<int>(children_.size()) >= max_children_; }
  int running() const { return static_cast<int>(children_.size()); }
  // Children holding a conversation (the metrics' gauge: a killed child
  // leaves it when it is reaped, whatever it could not do itself).
  int holding() const {
    return static_cast<int>(std::count_if(children_.begin(), children_.end(), [](const auto& c) { return c.second.holds; }));
  }
  // Why a new request may not start now (nullopt: it may, when a slot is free).
  std::optional<std::string> refuse_start(const ChildShare& c) const;
  void started(pid_t pid, ChildShare c) { children_[pid] = Child{std::move(c), false, {}}; }
  void ended(pid_t pid) { children_.erase(pid); }
  // A child asks to hold a conversation for account (after its password):
  // nullopt and counted, or why not.
  std::optional<std::string> hold(pid_t pid, const std::string& account);

 private:
  struct Child {
    ChildShare share;
    bool holds = false;
    std::string account;
  };
  int count_address(const std::string& address, bool holding) const;

  BrokerConfig cfg_;
  int max_children_;
  std::int64_t reserved_;
  std::map<pid_t, Child> children_;
};

}  // namespace zsso::authd
