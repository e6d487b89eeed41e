// SPDX-License-Identifier: BSD-3-Clause
#include "shares.hpp"

#include "throttle.hpp"
#include "zsso/cidr.hpp"
#include "zsso/account.hpp"

namespace zsso::authd {

std::string Shares::address_key(std::string_view client_address) const {
  auto ip = parse_ip(client_address);
  if (!ip || cfg_.limits_exempt.contains(*ip)) return {};
  return throttle_address(client_address);
}

int Shares::count_address(const std::string& address, bool holding) const {
  int n = 0;
  for (const auto& [pid, c] : children_) n += c.share.address == address && (!holding || c.holds);
  return n;
}

std::optional<std::string> Shares::refuse_start(const ChildShare& c) const {
  if (c.address.empty()) return std::nullopt;
  if (int n = count_address(c.address, false); n >= cfg_.max_sign_ins_per_address)
    return std::to_string(n) + " sign-ins from " + c.address + " running (broker.max_sign_ins_per_address)";
  if (c.session) return std::nullopt;
  if (int n = count_address(c.address, true); n >= cfg_.max_conversations_per_address)
    return std::to_string(n) + " conversations held from " + c.address + " (broker.max_conversations_per_address)";
  return std::nullopt;
}

std::optional<std::string> Shares::hold(pid_t pid, const std::string& account) {
  auto me = children_.find(pid);
  if (me == children_.end()) return "unknown child";
  if (me->second.holds) return std::nullopt;
  int held = 0, by_address = 0, by_account = 0;
  for (const auto& [p, c] : children_) {
    if (!c.holds) continue;
    ++held;
    by_address += !me->second.share.address.empty() && c.share.address == me->second.share.address;
    // "": a passkey conversation, its account unknown until the key answers (the address caps it).
    by_account += !account.empty() && c.account == account;
  }
  if (held >= max_children_ - reserved_)
    return std::to_string(held) + " conversations held; the last " + std::to_string(reserved_) +
           " of broker.max_sign_ins are for new sign-ins (broker.reserved_sign_ins)";
  if (by_address >= cfg_.max_conversations_per_address)
    return std::to_string(by_address) + " conversations held from " + me->second.share.address +
           " (broker.max_conversations_per_address)";
  if (by_account >= cfg_.max_conversations_per_account)
    return std::to_string(by_account) + " conversations held for user " + user_for_log(account) +
           " (broker.max_conversations_per_account)";
  me->second.holds = true;
  me->second.account = account;
  return std::nullopt;
}

}  // namespace zsso::authd
