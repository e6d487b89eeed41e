// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/policy.hpp"

#include "zsso/text.hpp"

namespace zsso {

namespace {
Decision allow(std::string reason) { return {Verdict::allow, std::move(reason)}; }
Decision deny(std::string reason) { return {Verdict::deny, std::move(reason)}; }
}  // namespace

Decision check_address(const NetworkConfig& net, std::optional<std::string_view> rhost) {
  if (net.ranges.empty()) return allow("no ip_ranges set");
  if (!rhost || rhost->empty()) return deny("no client address (PAM_RHOST unset) and ip_ranges are set");
  auto addr = parse_ip(*rhost);
  if (!addr) return deny("client address " + quote_for_log(*rhost) + " is not an IP address");
  if (!net.ranges.contains(*addr)) return deny("client address " + addr->to_string() + " is outside ip_ranges");
  return allow("client address " + addr->to_string() + " is inside ip_ranges");
}

Decision check_account(const AccessConfig& access, const Account& a) {
  if (a.uid == 0 && !access.allow_root) return deny("root is not allowed (access.allow_root)");
  if (a.uid != 0 && static_cast<std::int64_t>(a.uid) < access.min_uid)
    return deny("uid " + std::to_string(a.uid) + " is below access.min_uid " + std::to_string(access.min_uid));
  for (const auto& g : access.denied_groups)
    if (a.in_group(g)) return deny("member of denied group " + quote_for_log(g));
  if (!access.allowed_groups.empty()) {
    for (const auto& g : access.allowed_groups)
      if (a.in_group(g)) return allow("member of allowed group " + quote_for_log(g));
    return deny("not a member of any access.allowed_groups");
  }
  return allow("account policy passed");
}

Decision check_access(const Config& cfg, const Account& a, std::optional<std::string_view> rhost) {
  if (auto d = check_address(cfg.network, rhost); !d.allowed()) return d;
  return check_account(cfg.access, a);
}

}  // namespace zsso
