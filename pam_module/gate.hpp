// SPDX-License-Identifier: BSD-3-Clause
// The access gate as the account and auth function types answer it.
#pragma once

#include <security/pam_modules.h>

#include "context.hpp"

namespace zsso::pam {

// PAM_SUCCESS, PAM_PERM_DENIED, PAM_USER_UNKNOWN, PAM_SERVICE_ERR.
int account_gate(pam_handle_t* pamh, const CallContext& ctx);

// The same policy before any password is checked ("auth requisite"):
// PAM_SUCCESS, PAM_AUTH_ERR, PAM_USER_UNKNOWN, PAM_AUTHINFO_UNAVAIL,
// PAM_INCOMPLETE, PAM_SERVICE_ERR.
int auth_gate(pam_handle_t* pamh, const CallContext& ctx);

}  // namespace zsso::pam
