// SPDX-License-Identifier: BSD-3-Clause
// Sign-in sessions (issue 13): a browser that signed in lately gets a token
// without the form, after the account checks; the session cookie the broker
// (or the direct-mode module) signed, and its removal at /logout.
#include <syslog.h>

#include <algorithm>

#include "handler.hpp"
#include "zsso/session_cookie.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

// __Host-: Secure, Path=/, no Domain, so no other host or path can set or
// shadow it. Secure even on plain http: browsers keep it from http://localhost
// and 127.0.0.1 (secure contexts), and drop it elsewhere, so a session never
// travels unencrypted. Lax: Zendesk's redirect to us is a top-level GET.
std::string Handler::session_cookie(std::string_view value, std::int64_t max_age) const {
  return session_cookie_name(route_.profile) + "=" + std::string(value) + "; Path=/; Max-Age=" +
         std::to_string(std::max<std::int64_t>(0, max_age)) + "; Secure; HttpOnly; SameSite=Lax";
}

// The route's session cookie when the browser sent exactly one that is not too long.
std::optional<std::string_view> Handler::session_cookie_sent() const {
  auto values = cookie_values(req_.cookie, session_cookie_name(route_.profile));
  if (values.size() != 1 || values.front().empty() || values.front().size() > kMaxSessionCookie) return std::nullopt;
  return values.front();
}

// GET /login from a browser with a session: a token without the form, after
// the account checks (the broker's, in broker mode; ranges were checked in
// run()). nullopt: no session to use, show the form.
std::optional<Response> Handler::session_sign_in(std::string_view return_to) {
  if (!sessions_on() || req_.method != "GET") return std::nullopt;
  if (cookie_values(req_.cookie, session_cookie_name(route_.profile)).empty()) return std::nullopt;
  auto value = session_cookie_sent();
  SessionSignIn si;
  si.cookie = value ? std::string(*value) : std::string();
  si.client_address = client_;
  si.profile = route_.profile;
  si.request_id = env_.request_id;
  LoginOutcome out = value ? sign_in_from_session(cfg_, si, env_.now)
                           : LoginOutcome{LoginStatus::bad_login, {}, "session cookie sent twice or too long"};
  auto session = parse_session_unverified(si.cookie);
  // The cookie's user only once the cookie is proven (ok): an unverified one names nobody.
  decided(audit::Way::session, out, out.status == LoginStatus::ok && session ? std::string_view(session->user) : "");
  if (out.status == LoginStatus::ok && session) {
    const std::string age = std::to_string(std::max<std::int64_t>(0, env_.now - session->issued_at));
    Response r = deliver(out.token, return_to,
                         "200 signed in from session user=" + quote_for_log(session->user, 64) + " age=" + age + "s");
    note(out.detail);
    set_session(r, out, session->user);
    return r;
  }
  if (out.status == LoginStatus::ok) out.detail += "; the refreshed cookie did not parse";
  // Refused or broken: the form; a cookie that will never work again goes.
  Response r = login_form(200, return_to, {}, {}, "200 form, session not used: " + out.detail);
  if (out.status == LoginStatus::unavailable || out.status == LoginStatus::error) r.log_priority = LOG_ERR;
  else r.header("Set-Cookie", session_cookie("", 0));
  return r;
}

// After a sign-in: the cookie the broker (or the direct-mode module) made;
// this process never holds session.key_file. Max-Age is what is left of the
// session when it was signed, on the signer's clock (last_used is its "now"
// then): never past issued_at + max_seconds. This process's clock, read when
// the request began, would add the time the sign-in took.
void Handler::set_session(Response& r, const LoginOutcome& out, std::string_view) {
  if (!sessions_on()) return;
  const std::string& value = out.session;
  auto s = parse_session_unverified(value);
  if (!s) return;
  r.header("Set-Cookie", session_cookie(value, s->issued_at + cfg_.session.max_seconds - s->last_used));
}

// /logout: every session cookie this browser sent goes, not only the route's
// profile's (Path=/: a browser holding one sends it). None sent: no Set-Cookie.
void Handler::clear_sessions(Response& r) const {
  const std::string base = session_cookie_name({});
  std::string_view rest = req_.cookie;
  std::vector<std::string> names;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view pair = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    std::string_view name = trim(pair.substr(0, pair.find('=')));
    const bool ours = name == base || (name.size() > base.size() + 1 && name.substr(0, base.size() + 1) == base + "_" &&
                                       is_profile_name(name.substr(base.size() + 1)));
    if (ours && std::find(names.begin(), names.end(), name) == names.end())
      names.emplace_back(name);
  }
  for (const auto& n : names) r.header("Set-Cookie", n + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
}

}  // namespace zsso::cgi
