// SPDX-License-Identifier: BSD-3-Clause
// In-process PAM transaction (direct mode): authenticate, account, setcred,
// then take the token pam_zendesk.so exported as ZENDESK_JWT.
#include <security/pam_appl.h>

#include <algorithm>
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
constexpr int kPasswordChangeTries = 3;   // as Cockpit and login(1)
constexpr std::size_t kMaxMessageLogged = 120;

struct ConversationData {
  const SecureBytes* password = nullptr;   // null in REMOTE_USER mode: nothing to answer with
  Asker* asker = nullptr;                  // broker mode: asks the browser; null: refuse more prompts
  bool password_used = false;              // with an asker, the form's password answers one prompt only
  bool no_answer = false;                  // the asker got no answer (timeout, gone)
  int prompts_refused = 0;
  int passwords_given = 0;
  // Hidden prompts the asker answered after the form's password (a code).
  int hidden_after_password = 0;
  int binary_refused = 0;
  long fail_delay_skipped_ms = -1;         // what libpam would have slept (skip_fail_delay)
  // What the modules told the user (pam_faillock: "The account is locked due
  // to 3 failed logins."), kept for the log.
  std::vector<std::string> said;
  // Messages not shown yet: they go above the next page of prompts, or to
  // the final answer.
  std::vector<broker::Message> pending;
};

void keep_message(ConversationData& data, const char* text) {
  if (!text || data.said.size() >= kMaxMessagesKept) return;
  data.said.push_back(quote_for_log(text, kMaxMessageLogged));
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

char* malloc_copy(const unsigned char* p, std::size_t n) {
  char* copy = static_cast<char*>(std::malloc(n + 1));
  if (!copy) return nullptr;
  std::memcpy(copy, p, n);
  copy[n] = '\0';
  return copy;
}

int converse(int n, const struct pam_message** msg, struct pam_response** resp, ConversationData& data) {
  auto* out = static_cast<pam_response*>(std::calloc(static_cast<std::size_t>(n), sizeof(pam_response)));
  if (!out) return PAM_BUF_ERR;
  auto fail = [&](int rc) {
    free_responses(out, n);
    return rc;
  };
  // The page for the person: messages not yet shown, then this call's
  // messages and the prompts the form's password does not answer.
  std::vector<broker::Message> page = std::move(data.pending);
  data.pending.clear();
  std::vector<int> asked;   // msg index of each prompt on the page
  for (int i = 0; i < n; ++i) {
    const int style = msg[i]->msg_style;
    const char* text = msg[i]->msg ? msg[i]->msg : "";
    switch (style) {
      case PAM_PROMPT_ECHO_OFF:
        // Direct mode answers every password prompt with the form's password
        // (it cannot ask twice); the broker answers only the first.
        if (data.password && !data.password->empty() && (!data.asker || !data.password_used)) {
          out[i].resp = malloc_copy(data.password->data(), data.password->size());
          if (!out[i].resp) return fail(PAM_BUF_ERR);
          data.password_used = true;
          ++data.passwords_given;
          break;
        }
        [[fallthrough]];
      case PAM_PROMPT_ECHO_ON:
        if (!data.asker) {
          ++data.prompts_refused;
          return fail(PAM_CONV_ERR);
        }
        if (style == PAM_PROMPT_ECHO_OFF && data.password_used) ++data.hidden_after_password;
        page.push_back({style == PAM_PROMPT_ECHO_ON ? broker::Message::Kind::echo_on : broker::Message::Kind::echo_off,
                        broker::clean_message_text(text)});
        asked.push_back(i);
        break;
      case PAM_ERROR_MSG:
      case PAM_TEXT_INFO:
        keep_message(data, text);
        page.push_back({style == PAM_ERROR_MSG ? broker::Message::Kind::error : broker::Message::Kind::info,
                        broker::clean_message_text(text)});
        break;
      default:   // binary prompts (PAM_BINARY_PROMPT): nothing a web page can answer
        ++data.prompts_refused;
        ++data.binary_refused;
        return fail(PAM_CONV_ERR);
    }
  }
  if (asked.empty()) {
    // Only messages: shown with the next page, or the final answer. The
    // newest are kept when a chatty stack says more than a page holds.
    data.pending = std::move(page);
    if (data.pending.size() > broker::kMaxMessages)
      data.pending.erase(data.pending.begin(),
                         data.pending.end() - static_cast<std::ptrdiff_t>(broker::kMaxMessages));
    *resp = out;
    return PAM_SUCCESS;
  }
  if (asked.size() > broker::kMaxAnswers) {
    ++data.prompts_refused;
    return fail(PAM_CONV_ERR);
  }
  // Room for the prompts: drop the oldest messages first.
  while (page.size() > broker::kMaxMessages) {
    auto it = std::find_if(page.begin(), page.end(), [](const broker::Message& m) { return !m.is_prompt(); });
    if (it == page.end()) break;
    page.erase(it);
  }
  std::vector<SecureBytes> answers;
  if (!data.asker->ask(page, answers) || answers.size() != asked.size()) {
    data.no_answer = true;
    return fail(PAM_CONV_ERR);
  }
  for (std::size_t k = 0; k < asked.size(); ++k) {
    out[asked[k]].resp = malloc_copy(answers[k].data(), answers[k].size());
    if (!out[asked[k]].resp) return fail(PAM_BUF_ERR);
  }
  *resp = out;
  return PAM_SUCCESS;
}

// The PAM conversation function. Memory handed to PAM is malloc'ed, as PAM
// frees it; PAM wipes and frees it, we wipe on our own failure path.
// Nothing may escape into libpam.
extern "C" int answer_prompts(int n, const struct pam_message** msg, struct pam_response** resp, void* appdata) {
  auto* data = static_cast<ConversationData*>(appdata);
  if (n <= 0 || n > PAM_MAX_NUM_MSG || !resp || !data) return PAM_CONV_ERR;
  try {
    return converse(n, msg, resp, *data);
  } catch (...) {
    return PAM_BUF_ERR;
  }
}

// libpam's failure delay, replaced (PAM_FAIL_DELAY) when the caller answers
// refusals at its own deadline: libpam calls this instead of sleeping, with
// the conversation's appdata. Its sleep would be seeded with the second the
// transaction began, the same for requests sent together, so the work before
// it (a password hash only admitted accounts reach) would show (issue 22).
extern "C" void skip_fail_delay(int status, unsigned usec, void* appdata) {
  auto* data = static_cast<ConversationData*>(appdata);
  if (data && status != PAM_SUCCESS) data->fail_delay_skipped_ms = static_cast<long>(usec / 1000);
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

LoginOutcome outcome(LoginStatus s, std::string detail) {
  LoginOutcome o;
  o.status = s;
  o.detail = std::move(detail);
  return o;
}

// What the log line adds about the conversation: prompts nobody could answer.
std::string conversation_note(const ConversationData& data) {
  if (data.binary_refused) return "; a binary prompt (PAM_BINARY_PROMPT) cannot be shown in a browser";
  if (data.prompts_refused && !data.asker)
    return "; the stack asked more than the password: this stack needs zendesk-sso-authd (broker.socket)";
  if (data.prompts_refused) return "; the stack asked more than " + std::to_string(broker::kMaxAnswers) + " prompts at once";
  if (data.no_answer) return "; no answer from the browser";
  return {};
}

}  // namespace

std::string pam_delay_note(const LoginOutcome& out) {
  if (out.pam_delay_skipped_ms < 0) return {};
  return "; libpam's failure delay (" + std::to_string(out.pam_delay_skipped_ms) + " ms) skipped";
}

LoginOutcome pam_login(const Config& cfg, const LoginRequest& req, Asker* asker) {
  if (req.user.empty()) return outcome(LoginStatus::bad_login, "empty user name");
  // pam_zendesk.so signs with the secret at the very end: one it cannot use
  // is found here, before the password is checked or a code used up.
  if (auto secret = load_secret_file(cfg.zendesk.secret_file); !secret)
    return outcome(LoginStatus::unavailable, "zendesk.secret_file: " + secret.error() + " (no password asked)");
  ConversationData data;
  data.password = req.password_checked_by_web_server ? nullptr : &req.password;
  data.asker = asker;
  const pam_conv conv{answer_prompts, &data};

  PamTransaction tx(cfg.pam.service, req.user, &conv);
  if (!tx.get())
    return outcome(LoginStatus::unavailable, "pam_start(" + cfg.pam.service + ") failed: " +
                                                 pam_strerror(nullptr, tx.started()));
  const std::string svc = "PAM service " + cfg.pam.service + ": ";

  if (!req.client_address.empty()) {
    int rc = tx.track(pam_set_item(tx.get(), PAM_RHOST, req.client_address.c_str()));
    if (rc != PAM_SUCCESS) return outcome(LoginStatus::error, svc + "pam_set_item(PAM_RHOST): " + tx.error(rc));
  }

  if (req.caller_paces_failures) {
    int rc = tx.track(pam_set_item(tx.get(), PAM_FAIL_DELAY, reinterpret_cast<const void*>(&skip_fail_delay)));
    if (rc != PAM_SUCCESS) return outcome(LoginStatus::error, svc + "pam_set_item(PAM_FAIL_DELAY): " + tx.error(rc));
  }

  if (!req.password_checked_by_web_server && cfg.webauthn.enabled()) {
    // Security keys are proven by the broker's conversation; without it a
    // key holder (or a member of webauthn.required_groups) would pass on
    // the password alone.
    if (!req.second_factor)
      return outcome(LoginStatus::unavailable, "webauthn.rp_id is set: security keys need zendesk-sso-authd "
                                               "(broker.socket), not direct mode (no password asked)");
    for (const auto& entry : req.second_factor->pam_env()) {
      int rc = pam_putenv(tx.get(), entry.c_str());
      // Removing a name that is not there is fine (PAM_BAD_ITEM).
      if (rc != PAM_SUCCESS && !(rc == PAM_BAD_ITEM && entry.find('=') == std::string::npos))
        return outcome(LoginStatus::error, svc + "pam_putenv: " + tx.error(rc));
    }
  }

  bool other_factor = false;
  if (!req.password_checked_by_web_server) {
    int rc = tx.track(pam_authenticate(tx.get(), PAM_DISALLOW_NULL_AUTHTOK));
    if (rc != PAM_SUCCESS) {
      std::string why = svc + "pam_authenticate: " + tx.error(rc);
      // Refused before any password was asked: a lock (pam_faillock preauth)
      // or a gate, not a wrong password; the modules' own lines say which.
      if (data.passwords_given == 0) why += " (before the password was asked)";
      why += what_pam_said(data) + conversation_note(data);
      // A conversation error after a refused prompt is a stack we cannot
      // serve (misconfiguration), not a wrong password.
      if (data.no_answer) return outcome(LoginStatus::gone, std::move(why));
      // Whatever the module made of it (pam_google_authenticator says
      // PAM_AUTH_ERR), a refused prompt is a stack we cannot serve.
      if (data.prompts_refused) return outcome(LoginStatus::unavailable, std::move(why));
      if (is_service_failure(rc) && rc != PAM_CONV_ERR) return outcome(LoginStatus::unavailable, std::move(why));
      LoginOutcome bad = outcome(LoginStatus::bad_login, std::move(why));
      bad.pam_delay_skipped_ms = data.fail_delay_skipped_ms;
      return bad;
    }
    other_factor = data.hidden_after_password > 0;
    if (cfg.webauthn.enabled() && req.second_factor)
      if (auto refused = req.second_factor->prove()) return std::move(*refused);
  }

  bool changed_password = false;
  int rc = tx.track(pam_acct_mgmt(tx.get(), PAM_DISALLOW_NULL_AUTHTOK));
  if (rc == PAM_NEW_AUTHTOK_REQD) {
    // An expired password. Changed elsewhere (helper.password_change_url, or
    // wherever the help contact says: the page tells the person which), or,
    // when the admin opted in, here through the same pages: up to 3 tries,
    // then the account is checked again, as the policy's answer was hidden
    // behind the expiry. Never "may not sign in": the account is fine.
    const std::string expired = svc + "pam_acct_mgmt: password expired; ";
    if (!cfg.helper.password_change_url.empty())
      return outcome(LoginStatus::password_expired, expired + "sent to helper.password_change_url" + what_pam_said(data));
    if (!cfg.broker.change_expired_passwords)
      return outcome(LoginStatus::password_expired, expired + "told to change it elsewhere (broker.change_expired_passwords "
                                                              "is off, helper.password_change_url empty)" + what_pam_said(data));
    if (!asker)
      return outcome(LoginStatus::password_expired, expired + "told to change it elsewhere (changing it on the pages "
                                                              "needs zendesk-sso-authd, broker.socket)" + what_pam_said(data));
    for (int attempt = 1; attempt <= kPasswordChangeTries; ++attempt) {
      rc = tx.track(pam_chauthtok(tx.get(), PAM_CHANGE_EXPIRED_AUTHTOK));
      if (rc != PAM_AUTHTOK_ERR || data.no_answer) break;
      data.pending.push_back({broker::Message::Kind::error, "The new password was not accepted. Try again."});
    }
    if (rc != PAM_SUCCESS) {
      std::string why = svc + "pam_chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK): " + tx.error(rc) + what_pam_said(data) +
                        conversation_note(data);
      if (data.no_answer) return outcome(LoginStatus::gone, std::move(why));
      if (is_service_failure(rc) && rc != PAM_CONV_ERR) return outcome(LoginStatus::unavailable, std::move(why));
      // Not changed (refused new passwords, a stack that cannot write):
      // still expired, and the page says so.
      return outcome(LoginStatus::password_expired, expired + "not changed: " + why);
    }
    rc = tx.track(pam_acct_mgmt(tx.get(), PAM_DISALLOW_NULL_AUTHTOK));
    changed_password = true;
  }
  if (rc != PAM_SUCCESS) {
    std::string why = svc + "pam_acct_mgmt: " + tx.error(rc) + what_pam_said(data) + conversation_note(data);
    if (data.no_answer) return outcome(LoginStatus::gone, std::move(why));
    if (is_service_failure(rc)) return outcome(LoginStatus::unavailable, std::move(why));
    // After a correct password, a refusal of the account (chage -E, a policy
    // only the account stack checks) would confirm the password if it showed:
    // it looks like a wrong password (page, status and time: the caller's deadline);
    // the log keeps the reason. A password just changed here was known already.
    if (!req.password_checked_by_web_server && !changed_password)
      return outcome(LoginStatus::bad_login, "refused after a correct password (answered as a bad login): " + why);
    return outcome(LoginStatus::not_allowed, std::move(why));
  }

  if (req.account_check_only) {
    LoginOutcome checked = outcome(LoginStatus::ok, "re-authenticated, account checked (no token: enrolment)");
    checked.other_factor = other_factor;
    checked.messages = std::move(data.pending);
    tx.track(PAM_SUCCESS);
    return checked;
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
    result = {LoginStatus::ok, token, changed_password ? "password changed, token minted" : "token minted"};
    result.messages = std::move(data.pending);
  }
  pam_setcred(tx.get(), PAM_DELETE_CRED);   // pam_zendesk.so drops ZENDESK_JWT from the handle
  tx.track(PAM_SUCCESS);
  return result;
}

}  // namespace zsso
