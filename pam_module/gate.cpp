// SPDX-License-Identifier: BSD-3-Clause
#include "gate.hpp"

#include "admission.hpp"

namespace zsso::pam {

namespace {

// The PAM code each admission outcome becomes for one function type.
struct GateCodes {
  int allowed, refused, unknown_user, lookup_failed, conversation_again;
};

int run_gate(pam_handle_t* pamh, const CallContext& ctx, const GateCodes& codes) {
  auto cfg = load_module_config(pamh, ctx);
  if (!cfg) return PAM_SERVICE_ERR;
  switch (admit(pamh, ctx, *cfg, /*log_allowed=*/true).status) {
    case Admission::allowed: return codes.allowed;
    case Admission::refused: return codes.refused;
    case Admission::unknown_user: return codes.unknown_user;
    case Admission::lookup_failed: return codes.lookup_failed;
    case Admission::conversation_again: return codes.conversation_again;
  }
  return PAM_SERVICE_ERR;
}

}  // namespace

int account_gate(pam_handle_t* pamh, const CallContext& ctx) {
  return run_gate(pamh, ctx, {PAM_SUCCESS, PAM_PERM_DENIED, PAM_USER_UNKNOWN, PAM_SERVICE_ERR, PAM_SERVICE_ERR});
}

int auth_gate(pam_handle_t* pamh, const CallContext& ctx) {
  return run_gate(pamh, ctx, {PAM_SUCCESS, PAM_AUTH_ERR, PAM_USER_UNKNOWN, PAM_AUTHINFO_UNAVAIL, PAM_INCOMPLETE});
}

}  // namespace zsso::pam
