// SPDX-License-Identifier: BSD-3-Clause
// pam_sm_setcred's work: mint the Zendesk JWT into the PAM environment as
// ZENDESK_JWT, or take it away.
#pragma once

#include <security/pam_modules.h>

#include "context.hpp"

namespace zsso::pam {

inline constexpr const char* kTokenVariable = "ZENDESK_JWT";

// Re-checks the policy (a stack that forgot the account line must not get a
// token), signs the claims for the PAM user and pam_putenv()s the token.
// PAM_SUCCESS, PAM_USER_UNKNOWN, PAM_CRED_ERR, or PAM_SERVICE_ERR when the
// config or the secret file is unusable.
int establish_token(pam_handle_t* pamh, const CallContext& ctx);

// Removes ZENDESK_JWT; PAM_SUCCESS also when it was not set.
int delete_token(pam_handle_t* pamh, const CallContext& ctx);

}  // namespace zsso::pam
