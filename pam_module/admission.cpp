// SPDX-License-Identifier: BSD-3-Clause
#include "admission.hpp"

#include <optional>
#include <string>
#include <string_view>

#include <security/pam_ext.h>

#include "zsso/policy.hpp"
#include "zsso/text.hpp"

namespace zsso::pam {

namespace {

std::optional<std::string_view> remote_host(pam_handle_t* pamh) {
  const void* item = nullptr;
  if (pam_get_item(pamh, PAM_RHOST, &item) != PAM_SUCCESS || !item) return std::nullopt;
  return std::string_view(static_cast<const char*>(item));
}

std::string rhost_for_log(std::optional<std::string_view> rhost) {
  return rhost ? quote_for_log(*rhost, 64) : "(none)";
}

}  // namespace

AdmissionResult admit(pam_handle_t* pamh, const CallContext& ctx, const Config& cfg, bool log_allowed) {
  AdmissionResult r;
  const char* user = nullptr;
  int rc = pam_get_user(pamh, &user, nullptr);
  if (rc == PAM_CONV_AGAIN) {
    r.status = Admission::conversation_again;
    return r;
  }
  if (rc != PAM_SUCCESS || !user || !*user) {
    ctx.log.refused(std::string("no user name: ") + pam_strerror(pamh, rc));
    r.status = Admission::unknown_user;
    return r;
  }
  auto rhost = remote_host(pamh);
  // The name is logged only once the account exists (user_for_log, debug
  // lines too): an unknown "user" is sometimes a password typed into the
  // wrong field.
  if (ctx.args.debug) ctx.log.debug("checking user " + user_for_log(user) + " rhost " + rhost_for_log(rhost));

  if (auto d = check_address(cfg.network, rhost); !d.allowed()) {
    ctx.log.refused("refused: " + d.reason);
    r.status = Admission::refused;
    return r;
  }
  auto found = lookup_account(user);
  if (found.status == LookupStatus::unknown) {
    ctx.log.refused("refused: unknown user (rhost " + rhost_for_log(rhost) + ")");
    r.status = Admission::unknown_user;
    return r;
  }
  if (found.status != LookupStatus::found) {
    ctx.log.error("cannot look up the user: " + found.error);
    r.status = Admission::lookup_failed;
    return r;
  }
  r.account = std::move(found.account);
  std::string who = quote_for_log(r.account.user, 64) + " (uid " + std::to_string(r.account.uid) +
                    ", rhost " + rhost_for_log(rhost) + ")";
  auto d = check_account(cfg.access, r.account);
  if (!d.allowed()) {
    ctx.log.refused("refused " + who + ": " + d.reason);
    r.status = Admission::refused;
    return r;
  }
  if (log_allowed) ctx.log.allowed("allowed " + who + ": " + d.reason);
  r.status = Admission::allowed;
  return r;
}

}  // namespace zsso::pam
