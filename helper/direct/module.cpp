// SPDX-License-Identifier: BSD-3-Clause
// zendesk-sso-direct.so: direct mode's sign-in, loaded by zendesk-sso.cgi
// only for a route without broker.socket (see direct_module.h). It does what
// the broker does for one request, in the CGI's process: the PAM
// transaction, and the session cookie when sessions are on.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "direct_module.h"
#include "failure_deadline.hpp"
#include "login.hpp"
#include "zsso/config.hpp"
#include "zsso/secret.hpp"

namespace {

char* c_copy(const std::string& s) {
  if (s.empty()) return nullptr;
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

const char* or_empty(const char* s) { return s ? s : ""; }

zsso::LoginOutcome run(const zsso_direct_request& in) {
  const auto start = zsso::FailureDeadline::Clock::now();
  auto cfg = zsso::load_config(or_empty(in.config_path), or_empty(in.profile));
  if (!cfg) return {zsso::LoginStatus::unavailable, {}, "direct mode: config: " + cfg.error()};
  if (in.from_session) {
    zsso::SessionSignIn si;
    si.cookie = or_empty(in.session_cookie);
    si.client_address = or_empty(in.client_address);
    si.profile = or_empty(in.profile);
    si.request_id = or_empty(in.request_id);
    return zsso::session_login(*cfg, si, in.now);
  }
  zsso::LoginRequest lr;
  lr.user = or_empty(in.user);
  if (in.password && in.password_len) lr.password.assign(in.password, in.password + in.password_len);
  lr.password_checked_by_web_server = in.remote_user != 0;
  lr.client_address = or_empty(in.client_address);
  lr.profile = or_empty(in.profile);
  lr.request_id = or_empty(in.request_id);
  lr.caller_paces_failures = true;
  zsso::LoginOutcome out = zsso::pam_login(*cfg, lr);
  // As the broker does (answer_refusal): every refusal at one deadline from
  // the request's start, libpam's own delay skipped (issue 22).
  if (out.status == zsso::LoginStatus::bad_login) {
    const zsso::FailureDeadline deadline(std::chrono::milliseconds(cfg->broker.failure_delay_ms));
    const auto a = deadline.wait(start);
    out.detail += pam_delay_note(out) + a.describe();
  }
  // As the broker does (attach_new_session): a new session after a sign-in.
  if (out.status == zsso::LoginStatus::ok && cfg->session.enabled()) {
    auto cookie = zsso::new_session_cookie(*cfg, lr.user, lr.profile, in.now);
    if (cookie) out.session = std::move(*cookie);
    else out.detail += "; no session cookie: " + cookie.error();
  }
  return out;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void zsso_direct_sign_in_v1(const zsso_direct_request* in,
                                                                               zsso_direct_answer* out) {
  if (!out) return;
  std::memset(out, 0, sizeof *out);
  out->status = static_cast<int>(zsso::LoginStatus::error);
  if (!in) return;
  // Nothing C++ crosses back: every failure becomes an error answer.
  try {
    zsso::LoginOutcome r = run(*in);
    out->status = static_cast<int>(r.status);
    out->token = c_copy(r.token);
    out->detail = c_copy(r.detail);
    out->session = c_copy(r.session);
    if (!r.messages.empty()) {
      out->messages = static_cast<zsso_direct_message*>(std::calloc(r.messages.size(), sizeof(zsso_direct_message)));
      if (out->messages) {
        out->message_count = r.messages.size();
        for (std::size_t i = 0; i < r.messages.size(); ++i) {
          out->messages[i].kind = static_cast<int>(r.messages[i].kind);
          out->messages[i].text = c_copy(r.messages[i].text);
        }
      }
    }
  } catch (const std::bad_alloc&) {
    out->detail = c_copy("direct mode: out of memory");
  } catch (...) {
    out->detail = c_copy("direct mode: internal error");
  }
}

extern "C" __attribute__((visibility("default"))) void zsso_direct_free_v1(zsso_direct_answer* a) {
  if (!a) return;
  // The token and the session cookie are bearer credentials: wiped, then freed.
  for (char* s : {a->token, a->session}) {
    if (s) zsso::secure_wipe(s, std::strlen(s));
    std::free(s);
  }
  std::free(a->detail);
  for (std::size_t i = 0; i < a->message_count; ++i) std::free(a->messages[i].text);
  std::free(a->messages);
  std::memset(a, 0, sizeof *a);
}
