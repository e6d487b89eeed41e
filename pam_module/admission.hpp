// SPDX-License-Identifier: BSD-3-Clause
// Who is asking and may they: the PAM user, PAM_RHOST and the core policy
// (zsso::check_address, zsso::check_account). Each entry point maps the
// outcome to the return codes its PAM function type defines.
#pragma once

#include <security/pam_modules.h>

#include "context.hpp"
#include "zsso/account.hpp"
#include "zsso/config.hpp"

namespace zsso::pam {

enum class Admission {
  allowed,
  refused,          // policy: address, root, min_uid, groups
  unknown_user,     // no such account (or no user name at all)
  lookup_failed,    // NSS error: the directory is down, not the user's fault
  conversation_again,  // pam_get_user needs the application to call again
};

struct AdmissionResult {
  Admission status = Admission::lookup_failed;
  Account account;    // with allowed (and refused once the user is known)
};

// The address is checked before the account is looked up, so a caller from
// outside ip_ranges learns nothing about which users exist. Logs one line
// for the decision (allowed lines only when log_allowed is set).
AdmissionResult admit(pam_handle_t* pamh, const CallContext& ctx, const Config& cfg, bool log_allowed);

}  // namespace zsso::pam
