// SPDX-License-Identifier: BSD-3-Clause
// Who may sign in from where: the access policy shared by pam_zendesk.so,
// the CGI and the CLI.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "zsso/account.hpp"
#include "zsso/config.hpp"

namespace zsso {

enum class Verdict { allow, deny };

struct Decision {
  Verdict verdict = Verdict::deny;
  std::string reason;   // for syslog, never shown to the user
  bool allowed() const { return verdict == Verdict::allow; }
};

// Address check alone: with ranges set, a missing or unparsable address is denied.
Decision check_address(const NetworkConfig& net, std::optional<std::string_view> rhost);
// Account check alone: root, min_uid, denied_groups, allowed_groups.
Decision check_account(const AccessConfig& access, const Account& a);
// Both, address first.
Decision check_access(const Config& cfg, const Account& a, std::optional<std::string_view> rhost);

}  // namespace zsso
