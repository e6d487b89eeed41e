// SPDX-License-Identifier: BSD-3-Clause
// pam_zendesk.so: the PAM entry points. Each one parses its arguments, does
// its work through the files beside this one, and never lets an exception or
// C++ object cross into the host program.
//
//   auth     pam_sm_authenticate  the access gate, before any password check
//            pam_sm_setcred       mint ZENDESK_JWT / remove it
//   account  pam_sm_acct_mgmt     the access gate: ip_ranges, root, min_uid, groups
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "context.hpp"
#include "credentials.hpp"
#include "gate.hpp"

#define ZSSO_PAM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

// Runs one entry point's work; anything thrown (say std::bad_alloc) becomes
// one log line and the given PAM code instead of terminating the host.
template <class Work>
int guarded(pam_handle_t* pamh, int on_exception, int argc, const char** argv, Work work) noexcept {
  try {
    auto ctx = zsso::pam::start_call(pamh, argc, argv);
    if (!ctx) return PAM_SERVICE_ERR;
    return work(*ctx);
  } catch (...) {
    pam_syslog(pamh, LOG_CRIT, "internal error; refusing");
    return on_exception;
  }
}

}  // namespace

// The failure delay this module asks libpam for, as pam_unix does by default.
// libpam waits the longest delay any module of the stack asked for (varied
// around it) after every failed pam_authenticate: asking before any decision
// gives a refusal by this gate (unknown user, root, outside the ranges) the
// delay a wrong password gets, for any program that runs the stack.
// zendesk-sso (broker and direct mode) replaces it (PAM_FAIL_DELAY) with its
// own deadline from the request's start, as libpam's jitter is the same for requests begun in the same
// second and leaves the password hash's time visible (issue 22).
constexpr unsigned kFailDelayMicroseconds = 2'000'000;

ZSSO_PAM_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int /*flags*/, int argc, const char** argv) {
  pam_fail_delay(pamh, kFailDelayMicroseconds);
  return guarded(pamh, PAM_SERVICE_ERR, argc, argv,
                 [&](const zsso::pam::CallContext& ctx) { return zsso::pam::auth_gate(pamh, ctx); });
}

ZSSO_PAM_EXPORT int pam_sm_acct_mgmt(pam_handle_t* pamh, int /*flags*/, int argc, const char** argv) {
  return guarded(pamh, PAM_SERVICE_ERR, argc, argv,
                 [&](const zsso::pam::CallContext& ctx) { return zsso::pam::account_gate(pamh, ctx); });
}

ZSSO_PAM_EXPORT int pam_sm_setcred(pam_handle_t* pamh, int flags, int argc, const char** argv) {
  return guarded(pamh, PAM_SERVICE_ERR, argc, argv, [&](const zsso::pam::CallContext& ctx) {
    if (flags & PAM_DELETE_CRED) return zsso::pam::delete_token(pamh, ctx);
    if (flags & (PAM_ESTABLISH_CRED | PAM_REINITIALIZE_CRED | PAM_REFRESH_CRED))
      return zsso::pam::establish_token(pamh, ctx);
    return PAM_SUCCESS;   // no credential of ours is asked for
  });
}
