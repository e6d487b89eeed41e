// SPDX-License-Identifier: BSD-3-Clause
// In-process PAM transaction (direct mode): authenticate, account, setcred,
// then take the token pam_zendesk.so exported as ZENDESK_JWT.
#include <security/pam_appl.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "login.hpp"
#include "zsso/jwt.hpp"
#include "zsso/secret.hpp"
#include "zsso/text.hpp"

namespace zsso {

namespace {

constexpr std::size_t kMaxMessagesKept = 3;
constexpr std::size_t kMaxMessageLogged = 120;

struct ConversationData {
  const SecureBytes* password = nullptr;   // null in REMOTE_USER mode: nothing to answer with
  int prompts_refused = 0;
  int passwords_given = 0;
  // What the modules told the user (pam_faillock: "The account is locked due
  // to 3 failed logins."): never shown by a web form, so kept for the log.
  std::vector<std::string> said;
};

void keep_message(ConversationData& data, const char* text) {
  if (!text || data.said.size() >= kMaxMessagesKept) return;
  try {
    data.said.push_back(quote_for_log(text, kMaxMessageLogged));
  } catch (...) {   // nothing may escape into libpam; the message is only for the log
  }
}

// "; PAM said "a" "b"" for the log line, or nothing.
std::string what_pam_said(const ConversationData& data) {
  std::string out;
  for (const auto& m : data.said) out += (out.empty() ? "; PAM said " : " ") + m;
  return out;
}

void free_responses(pam_response* r, int n) {
  if (!r) return;
  for (int i = 0; i < n; ++i) {
    if (r[i].resp) {
      secure_wipe(r[i].resp, std::strlen(r[i].resp));
      std::free(r[i].resp);
    }
  }
  std::free(r);
}

// Answers password prompts with the password, accepts informational
// messages, refuses anything else (a stack that wants more than a password
// cannot be served by a web form). Memory handed to PAM is malloc'ed, as PAM
// frees it; PAM wipes and frees it, we wipe on our own failure path.
extern "C" int answer_password(int n, const struct pam_message** msg, struct pam_response** resp, void* appdata) {
  auto* data = static_cast<ConversationData*>(appdata);
  if (n <= 0 || n > PAM_MAX_NUM_MSG || !resp || !data) return PAM_CONV_ERR;
  auto* out = static_cast<pam_response*>(std::calloc(static_cast<std::size_t>(n), sizeof(pam_response)));
  if (!out) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    switch (msg[i]->msg_style) {
      case PAM_PROMPT_ECHO_OFF: {
        if (!data->password || data->password->empty()) {
          ++data->prompts_refused;
          free_responses(out, n);
          return PAM_CONV_ERR;
        }
        const auto& pw = *data->password;
        char* copy = static_cast<char*>(std::malloc(pw.size() + 1));
        if (!copy) { free_responses(out, n); return PAM_BUF_ERR; }
        std::memcpy(copy, pw.data(), pw.size());
        copy[pw.size()] = '\0';
        out[i].resp = copy;
        ++data->passwords_given;
        break;
      }
      case PAM_ERROR_MSG:
      case PAM_TEXT_INFO:
        keep_message(*data, msg[i]->msg);
        break;
      default:   // PAM_PROMPT_ECHO_ON and binary prompts
        ++data->prompts_refused;
        free_responses(out, n);
        return PAM_CONV_ERR;
    }
  }
  *resp = out;
  return PAM_SUCCESS;
}

// Owns the handle; pam_end gets the status of the last call, as modules expect.
class PamTransaction {
 public:
  PamTransaction(const std::string& service, const std::string& user, const pam_conv* conv) {
    status_ = pam_start(service.c_str(), user.c_str(), conv, &h_);
    if (status_ != PAM_SUCCESS) h_ = nullptr;
  }
  ~PamTransaction() {
    if (h_) pam_end(h_, status_);
  }
  PamTransaction(const PamTransaction&) = delete;
  PamTransaction& operator=(const PamTransaction&) = delete;

  pam_handle_t* get() const { return h_; }
  int started() const { return status_; }
  int track(int rc) { return status_ = rc; }
  std::string error(int rc) const { return pam_strerror(h_, rc); }

 private:
  pam_handle_t* h_ = nullptr;
  int status_ = PAM_SYSTEM_ERR;
};

// A JWS compact token is three base64url parts; anything else in ZENDESK_JWT
// is not ours (and must not reach a URL or a page unchecked).
bool looks_like_jwt(std::string_view t) {
  if (t.empty() || t.size() > kMaxTokenSize) return false;
  int dots = 0;
  for (char c : t) {
    if (c == '.') { ++dots; continue; }
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return dots == 2;
}

// Failures of the service itself (broken stack, unreachable directory) rather than of the user.
bool is_service_failure(int rc) {
  return rc == PAM_SERVICE_ERR || rc == PAM_ABORT || rc == PAM_SYSTEM_ERR || rc == PAM_BUF_ERR ||
         rc == PAM_AUTHINFO_UNAVAIL || rc == PAM_MODULE_UNKNOWN || rc == PAM_SYMBOL_ERR ||
         rc == PAM_CONV_ERR;
}

LoginOutcome outcome(LoginStatus s, std::string detail) { return {s, {}, std::move(detail)}; }

}  // namespace

LoginOutcome pam_login(const Config& cfg, const LoginRequest& req) {
  if (req.user.empty()) return outcome(LoginStatus::bad_login, "empty user name");
  ConversationData data;
  data.password = req.password_checked_by_web_server ? nullptr : &req.password;
  const pam_conv conv{answer_password, &data};

  PamTransaction tx(cfg.pam.service, req.user, &conv);
  if (!tx.get())
    return outcome(LoginStatus::unavailable, "pam_start(" + cfg.pam.service + ") failed: " +
                                                 pam_strerror(nullptr, tx.started()));
  const std::string svc = "PAM service " + cfg.pam.service + ": ";

  if (!req.client_address.empty()) {
    int rc = tx.track(pam_set_item(tx.get(), PAM_RHOST, req.client_address.c_str()));
    if (rc != PAM_SUCCESS) return outcome(LoginStatus::error, svc + "pam_set_item(PAM_RHOST): " + tx.error(rc));
  }

  if (!req.password_checked_by_web_server) {
    int rc = tx.track(pam_authenticate(tx.get(), PAM_DISALLOW_NULL_AUTHTOK));
    if (rc != PAM_SUCCESS) {
      std::string why = svc + "pam_authenticate: " + tx.error(rc);
      // Refused before any password was asked: a lock (pam_faillock preauth)
      // or a gate, not a wrong password; the modules' own lines say which.
      if (data.passwords_given == 0) why += " (before the password was asked)";
      why += what_pam_said(data);
      // A conversation error after a refused prompt is a stack we cannot
      // serve (misconfiguration), not a wrong password.
      if (is_service_failure(rc) && !(rc == PAM_CONV_ERR && data.prompts_refused == 0))
        return outcome(LoginStatus::unavailable, std::move(why));
      return outcome(LoginStatus::bad_login, std::move(why));
    }
  }

  int rc = tx.track(pam_acct_mgmt(tx.get(), PAM_DISALLOW_NULL_AUTHTOK));
  if (rc != PAM_SUCCESS) {
    std::string why = svc + "pam_acct_mgmt: " + tx.error(rc) + what_pam_said(data);
    if (is_service_failure(rc)) return outcome(LoginStatus::unavailable, std::move(why));
    return outcome(LoginStatus::not_allowed, std::move(why));
  }

  rc = tx.track(pam_setcred(tx.get(), PAM_ESTABLISH_CRED));
  if (rc != PAM_SUCCESS)
    return outcome(LoginStatus::unavailable, svc + "pam_setcred(PAM_ESTABLISH_CRED): " + tx.error(rc));

  LoginOutcome result;
  const char* token = pam_getenv(tx.get(), "ZENDESK_JWT");
  if (!token || !*token) {
    result = outcome(LoginStatus::unavailable, svc + "no ZENDESK_JWT after pam_setcred (pam_setcred runs the auth modules: is pam_zendesk.so an auth line of this service?)");
  } else if (!looks_like_jwt(token)) {
    result = outcome(LoginStatus::unavailable, svc + "ZENDESK_JWT is not a JWS compact token");
  } else {
    result = {LoginStatus::ok, token, "token minted"};
  }
  pam_setcred(tx.get(), PAM_DELETE_CRED);   // pam_zendesk.so drops ZENDESK_JWT from the handle
  tx.track(PAM_SUCCESS);
  return result;
}

}  // namespace zsso
