// SPDX-License-Identifier: BSD-3-Clause
// The CGI's CSRF defence (helper/cgi/csrf.hpp): the random double-submit
// token and the Sec-Fetch-Site / Origin decision (issue 16).
#include "csrf.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "request.hpp"
#include "zsso/base64url.hpp"

namespace zsso::cgi {
namespace {

std::string token() {
  auto t = new_csrf_token();
  EXPECT_TRUE(t.ok());
  return t.ok() ? *t : std::string();
}

TEST(CsrfToken, Is32RandomBytesInBase64url) {
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    const std::string t = token();
    EXPECT_EQ(t.size(), kCsrfTokenChars);
    auto raw = base64url_decode(t);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->size(), kCsrfTokenBytes);
    EXPECT_TRUE(is_csrf_token(t)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 64u) << "every token is new";
}

TEST(CsrfToken, WellFormedOnlyAsIssued) {
  const std::string t = token();
  EXPECT_FALSE(is_csrf_token(""));
  EXPECT_FALSE(is_csrf_token(t.substr(1)));
  EXPECT_FALSE(is_csrf_token(t + "A"));
  EXPECT_FALSE(is_csrf_token(t + "="));
  EXPECT_FALSE(is_csrf_token(std::string(42, 'A') + "B")) << "stray trailing bits";
  EXPECT_TRUE(is_csrf_token(std::string(42, 'A') + "E"));
  EXPECT_FALSE(is_csrf_token(std::string(42, 'A') + "+")) << "base64, not base64url";
  EXPECT_FALSE(is_csrf_token(std::string(42, 'A') + "."));
  EXPECT_FALSE(is_csrf_token(std::string(75, 'A'))) << "the old signed token's length";
}

TEST(CsrfCheck, EqualCookieAndFieldPass) {
  const std::string t = token();
  EXPECT_EQ(check_csrf({t}, t), CsrfCheck::ok);
}

TEST(CsrfCheck, APlantedTwinIsRefused) {
  // Issue 22.7: "Cookie: zsso_csrf=VICTIM; zsso_csrf=ATTACKER" with the
  // form carrying ATTACKER, in either order.
  const std::string victim = token(), attacker = token();
  EXPECT_EQ(check_csrf({victim, attacker}, attacker), CsrfCheck::several);
  EXPECT_EQ(check_csrf({attacker, victim}, attacker), CsrfCheck::several);
  EXPECT_EQ(check_csrf({victim, "junk"}, victim), CsrfCheck::several);
}

TEST(CsrfCheck, EqualCopiesPass) {
  const std::string t = token(), other = token();
  EXPECT_EQ(check_csrf({t, t, t}, t), CsrfCheck::ok);
  EXPECT_EQ(check_csrf({other, other}, t), CsrfCheck::mismatch);
}

TEST(CsrfCheck, NoKeyIsInvolved) {
  // Any well-formed pair passes, not only ours: the token is a value a
  // cross-site page can neither read nor set, not a signature.
  const std::string t = std::string(42, 'Q') + "A";
  EXPECT_EQ(check_csrf({t}, t), CsrfCheck::ok);
}

TEST(CsrfCheck, UnequalIsAMismatch) {
  const std::string a = token(), b = token();
  EXPECT_EQ(check_csrf({a}, b), CsrfCheck::mismatch);
  std::string flipped = a;
  flipped.back() = flipped.back() == 'A' ? 'E' : 'A';   // still well-formed
  EXPECT_EQ(check_csrf({a}, flipped), CsrfCheck::mismatch);
  EXPECT_EQ(check_csrf({a + "A"}, a), CsrfCheck::mismatch) << "a longer cookie is not a prefix match";
  EXPECT_EQ(check_csrf({a.substr(0, 20)}, a), CsrfCheck::mismatch);
}

TEST(CsrfCheck, MissingHalves) {
  const std::string t = token();
  EXPECT_EQ(check_csrf({}, t), CsrfCheck::missing);
  EXPECT_EQ(check_csrf({t}, ""), CsrfCheck::missing);
  EXPECT_EQ(check_csrf({}, ""), CsrfCheck::missing);
}

TEST(CsrfCheck, MalformedEvenWhenEqual) {
  for (std::string bad : {std::string(43, 'x') + "x", std::string("a.b"), std::string(200, 'A'),
                          std::string(42, 'A') + "B", token() + "=", std::string(43, '\xff')}) {
    EXPECT_EQ(check_csrf({bad}, bad), CsrfCheck::malformed) << bad;
  }
}

TEST(CsrfCheck, ReasonsForTheLog) {
  EXPECT_STREQ(to_string(CsrfCheck::missing), "missing");
  EXPECT_STREQ(to_string(CsrfCheck::mismatch), "cookie and form token differ");
  EXPECT_STREQ(to_string(CsrfCheck::malformed), "malformed");
  EXPECT_STREQ(to_string(CsrfCheck::several), "sent in several different cookies");
}

constexpr std::string_view kSelf = "https://intranet.example";

TEST(CrossSite, FetchMetadataDecidesWhenPresent) {
  EXPECT_EQ(cross_site_refusal("same-origin", "", kSelf), "");
  EXPECT_EQ(cross_site_refusal("none", "", kSelf), "") << "typed in or a bookmark";
  EXPECT_EQ(cross_site_refusal(" Same-Origin ", "", kSelf), "");
  EXPECT_EQ(cross_site_refusal("cross-site", "", kSelf), "Sec-Fetch-Site \"cross-site\"");
  EXPECT_EQ(cross_site_refusal("same-site", "", kSelf), "Sec-Fetch-Site \"same-site\"") << "a sibling subdomain";
  EXPECT_NE(cross_site_refusal("bogus", "", kSelf), "");
  // Sec-Fetch-Site wins over Origin either way.
  EXPECT_NE(cross_site_refusal("cross-site", kSelf, kSelf), "");
  EXPECT_EQ(cross_site_refusal("same-origin", "https://evil.example", kSelf), "");
}

TEST(CrossSite, OriginWhenNoFetchMetadata) {
  EXPECT_EQ(cross_site_refusal("", "", kSelf), "") << "neither header: not a browser's cross-site form";
  EXPECT_EQ(cross_site_refusal("", "https://intranet.example", kSelf), "");
  EXPECT_EQ(cross_site_refusal("", "HTTPS://Intranet.Example", kSelf), "");
  EXPECT_EQ(cross_site_refusal("", "http://evil.example", kSelf),
            "Origin \"http://evil.example\" is not this site's \"https://intranet.example\"");
  EXPECT_NE(cross_site_refusal("", "null", kSelf), "");
  // The host is compared, not the scheme (Go's rule): a TLS proxy in front
  // of the CGI makes the browser's https look like http here.
  EXPECT_EQ(cross_site_refusal("", "http://intranet.example", kSelf), "");
  EXPECT_NE(cross_site_refusal("", "http://intranet.example:8080", kSelf), "") << "another port";
  EXPECT_NE(cross_site_refusal("", "intranet.example", kSelf), "") << "no scheme: not an origin";
  EXPECT_NE(cross_site_refusal("", "https://intranet.example:8443", kSelf), "") << "another port";
  EXPECT_NE(cross_site_refusal("", "https://sub.intranet.example", kSelf), "");
  EXPECT_NE(cross_site_refusal("", "https://intranet.example.evil.example", kSelf), "");
  EXPECT_NE(cross_site_refusal("", "https://intranet.example", ""), "") << "no origin of our own to match";
}

TEST(OwnOrigin, FromHostOrServerNameAndPort) {
  Request r;
  r.host = "Intranet.Example";
  EXPECT_EQ(own_origin(r, true), "https://intranet.example");
  EXPECT_EQ(own_origin(r, false), "http://intranet.example");
  r.host = "intranet.example:443";
  EXPECT_EQ(own_origin(r, true), "https://intranet.example") << "a default port is not written in Origin";
  EXPECT_EQ(own_origin(r, false), "http://intranet.example:443");
  r.host = "127.0.0.1:8080";
  EXPECT_EQ(own_origin(r, false), "http://127.0.0.1:8080");
  r.host = "";
  r.server_name = "intranet.example";
  r.server_port = "80";
  EXPECT_EQ(own_origin(r, false), "http://intranet.example");
  r.server_port = "8443";
  EXPECT_EQ(own_origin(r, true), "https://intranet.example:8443");
  r.server_name = "::1";
  EXPECT_EQ(own_origin(r, true), "https://[::1]:8443");
  r.server_name = "";
  EXPECT_EQ(own_origin(r, true), "");
}

}  // namespace
}  // namespace zsso::cgi
