// SPDX-License-Identifier: BSD-3-Clause
// The session cookie the CGI sets after a sign-in (helper/cgi/sessions.cpp),
// driven in-process through handle_request and its broker client, with a
// stand-in broker that answers ok and a session value of a known age.
#include <unistd.h>

#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "csrf.hpp"
#include "cgi_test_support.hpp"
#include "routes.hpp"
#include "test_support.hpp"
#include "zsso/base64url.hpp"
#include "zsso/session_cookie.hpp"

namespace zsso {
namespace {

constexpr std::int64_t kMaxSeconds = 3600;

// A value of the cookie's shape (the CGI never checks the MAC: it holds no key).
std::string session_value(std::int64_t issued, std::int64_t last) {
  Session s;
  s.user = "alice";
  s.issued_at = issued;
  s.last_used = last;
  s.bound = "n";   // bound to no credential (direct mode, directory accounts)
  auto part = session_signed_part(s, "0a1b2c3d");
  EXPECT_TRUE(part.has_value());
  if (!part) return {};
  return *part + "." + base64url_encode(std::string(kSessionMac, '\x5a'));
}

// A password sign-in whose broker signed value at its own clock; this
// process's clock (env.now, read when the request began) says cgi_now.
// The session Set-Cookie the CGI answers with.
std::string session_set_cookie(const std::string& value, std::int64_t cgi_now) {
  testing::TempDir dir;
  const std::string sock = dir.file("authd.sock");
  testing::write_file(dir.file("secret"), "Zx9TqL2vR8mN4bK7wH3jF6dS1aG5yP0cE2uI8oV4nM7rT1kQ\n");
  testing::write_file(dir.file("config.json"),
                      R"({"zendesk": {"subdomain": "acme", "secret_file": ")" + dir.file("secret") +
                          R"("}, "broker": {"socket": ")" + sock + R"("}, "session": {"key_file": ")" +
                          dir.file("session-key") + R"(", "max_seconds": )" + std::to_string(kMaxSeconds) + "}}");
  broker::Response ok{broker::Status::ok, broker::Detail::none, "header.payload.signature"};
  ok.session = value;
  testing::FakeBroker authd(sock, ok);
  EXPECT_TRUE(authd.ok());

  auto token = cgi::new_csrf_token();
  EXPECT_TRUE(token.ok());
  const std::string body = "user=alice&password=pw&csrf=" + *token;
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  EXPECT_EQ(::write(p[1], body.data(), body.size()), static_cast<ssize_t>(body.size()));
  ::close(p[1]);
  cgi::Request req = testing::login_post(body.size(), *token);
  cgi::Environment env;
  env.config_path = dir.file("config.json");
  env.request_id = "maxage";
  env.now = cgi_now;
  env.body_fd = p[0];
  cgi::Response r = cgi::handle_request(req, env);
  ::close(p[0]);
  EXPECT_EQ(r.status, 200) << r.log_message;
  EXPECT_EQ(authd.wait(), 0);
  for (const auto& [name, v] : r.headers)
    if (name == "Set-Cookie" && v.starts_with(session_cookie_name({}) + "=")) return v;
  ADD_FAILURE() << "no session cookie set: " << r.log_message;
  return {};
}

TEST(SessionCookieMaxAge, ANewSessionLivesMaxSecondsEvenWhenTheRequestTookTime) {
  // Issue 22.11: the CGI read its clock 100 s before the broker signed (a
  // slow PAM stack; one second is enough at a second's turn). Max-Age is
  // still max_seconds, not 100 s more than the broker will honour.
  const std::int64_t signed_at = ::time(nullptr);
  const std::string cookie = session_set_cookie(session_value(signed_at, signed_at), signed_at - 100);
  EXPECT_NE(cookie.find("; Max-Age=" + std::to_string(kMaxSeconds) + ";"), std::string::npos) << cookie;
}

TEST(SessionCookieMaxAge, ARefreshedSessionKeepsWhatWasLeftWhenSigned) {
  // Issued 1000 s before the broker refreshed it: 2600 s are left, on the broker's clock.
  const std::int64_t signed_at = ::time(nullptr);
  const std::string cookie = session_set_cookie(session_value(signed_at - 1000, signed_at), signed_at - 100);
  EXPECT_NE(cookie.find("; Max-Age=" + std::to_string(kMaxSeconds - 1000) + ";"), std::string::npos) << cookie;
}

}  // namespace
}  // namespace zsso
