// SPDX-License-Identifier: BSD-3-Clause
#include "credentials.hpp"

#include <ctime>
#include <string>

#include <security/pam_ext.h>

#include "admission.hpp"
#include "zsso/mint.hpp"
#include "zsso/secret.hpp"
#include "zsso/text.hpp"

namespace zsso::pam {

namespace {

// The token is a bearer credential for a few minutes: our copies are wiped
// once libpam holds its own.
struct WipedString {
  std::string value;
  ~WipedString() { secure_wipe(value.data(), value.size()); }
};

}  // namespace

int establish_token(pam_handle_t* pamh, const CallContext& ctx) {
  auto cfg = load_module_config(pamh, ctx);
  if (!cfg) return PAM_SERVICE_ERR;

  auto who = admit(pamh, ctx, *cfg, /*log_allowed=*/false);
  switch (who.status) {
    case Admission::allowed: break;
    case Admission::unknown_user: return PAM_USER_UNKNOWN;
    case Admission::refused:
    case Admission::lookup_failed:
    case Admission::conversation_again: return PAM_CRED_ERR;
  }
  const std::string user = quote_for_log(who.account.user, 64);

  // A bearer token is minted only for the service the config names
  // (pam.service, the profile's own with profile=): in su, login or sshd,
  // whose auth stack may include this module too, ZENDESK_JWT would land in
  // the user's session environment (pam_getenvlist) for any process to read.
  const void* service = nullptr;
  if (pam_get_item(pamh, PAM_SERVICE, &service) != PAM_SUCCESS || !service ||
      cfg->pam.service != static_cast<const char*>(service)) {
    ctx.log.refused("no token for " + user + ": PAM service " +
                    quote_for_log(service ? static_cast<const char*>(service) : "", 64) +
                    " is not the config's pam.service " + quote_for_log(cfg->pam.service, 64));
    return PAM_IGNORE;
  }

  auto secret = load_secret_file(cfg->zendesk.secret_file);
  if (!secret) {
    ctx.log.error("cannot use the secret: " + secret.error());
    return PAM_SERVICE_ERR;
  }
  auto minted = mint_token(*cfg, who.account, *secret, static_cast<std::int64_t>(std::time(nullptr)));
  if (!minted) {
    ctx.log.error("no token for " + user + ": " + minted.error());
    return PAM_CRED_ERR;
  }
  WipedString assignment{std::string(kTokenVariable) + "=" + minted->token};
  if (int rc = pam_putenv(pamh, assignment.value.c_str()); rc != PAM_SUCCESS) {
    ctx.log.error("no token for " + user + ": pam_putenv: " + pam_strerror(pamh, rc));
    return PAM_CRED_ERR;
  }
  // The jti lets an admin match this line with Zendesk's view of the sign-in.
  ctx.log.allowed("issued a token for " + user + " (jti " + minted->jti + ")");
  return PAM_SUCCESS;
}

int delete_token(pam_handle_t* pamh, const CallContext& ctx) {
  int rc = pam_putenv(pamh, kTokenVariable);
  if (rc == PAM_SUCCESS || rc == PAM_BAD_ITEM) {   // PAM_BAD_ITEM: it was not set
    ctx.log.debug("removed ZENDESK_JWT");
    return PAM_SUCCESS;
  }
  ctx.log.error(std::string("cannot remove ZENDESK_JWT: ") + pam_strerror(pamh, rc));
  return PAM_CRED_ERR;
}

}  // namespace zsso::pam
