// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/zendesk.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace zsso {
namespace {

ZendeskConfig acme() {
  ZendeskConfig zd;
  zd.subdomain = "acme";
  zd.return_to_hosts = {"help.acme.com", "support.acme.co.uk"};
  return zd;
}

void expect_accepted(std::string_view rt) {
  auto v = validate_return_to(rt, acme());
  ASSERT_TRUE(v.has_value()) << "rejected: " << rt;
  EXPECT_EQ(*v, rt);   // passed on exactly as given
}

void expect_rejected(std::string_view rt) {
  EXPECT_FALSE(validate_return_to(rt, acme()).has_value()) << "accepted: " << rt;
}

TEST(ZendeskEndpoint, IsHttpsOnTheZendeskSubdomain) {
  EXPECT_EQ(zendesk_host(acme()), "acme.zendesk.com");
  EXPECT_EQ(jwt_endpoint(acme()), "https://acme.zendesk.com/access/jwt");
}

TEST(ZendeskEndpoint, NeverUsesAHostMappedDomain) {
  ZendeskConfig zd = acme();
  zd.return_to_hosts = {"help.acme.com"};
  EXPECT_EQ(jwt_endpoint(zd).find("help.acme.com"), std::string::npos);
}

// --- return_to: accepted ---------------------------------------------------------------

TEST(ReturnTo, AcceptsRelativePaths) {
  for (const char* rt : {"/", "/hc/en-us", "/hc/en-us/articles/360001?brand_id=5#comments", "/agent/tickets/1",
                         "/hc/%E2%9C%93", "/a/../b"})
    expect_accepted(rt);
}

TEST(ReturnTo, AcceptsHttpsOnTheZendeskHost) {
  for (const char* rt : {"https://acme.zendesk.com", "https://acme.zendesk.com/", "https://acme.zendesk.com/hc/en-us",
                         "https://acme.zendesk.com?x=1", "https://acme.zendesk.com#top",
                         "https://acme.zendesk.com/hc?return_to=https://evil.com"})
    expect_accepted(rt);
}

TEST(ReturnTo, HostAndSchemeAreCaseInsensitive) {
  expect_accepted("HTTPS://ACME.ZENDESK.COM/hc");
  expect_accepted("https://Acme.Zendesk.Com/hc");
  expect_accepted("HtTpS://help.ACME.com/");
}

TEST(ReturnTo, AcceptsExplicitPort443AndTrailingDot) {
  expect_accepted("https://acme.zendesk.com:443/hc");
  expect_accepted("https://acme.zendesk.com./hc");
  expect_accepted("https://help.acme.com.:443/hc");
}

TEST(ReturnTo, AcceptsConfiguredReturnToHosts) {
  expect_accepted("https://help.acme.com/hc/en-us");
  expect_accepted("https://support.acme.co.uk");
}

TEST(ReturnTo, AcceptsUpTo2048Bytes) {
  std::string rt = "/hc/" + std::string(2048 - 4, 'a');
  expect_accepted(rt);
  expect_rejected(rt + "a");
  expect_rejected("https://acme.zendesk.com/" + std::string(5000, 'a'));
}

// --- return_to: rejected --------------------------------------------------------------------

TEST(ReturnTo, RejectsEmpty) { expect_rejected(""); }

TEST(ReturnTo, RejectsPlainHttp) {
  expect_rejected("http://acme.zendesk.com/hc");
  expect_rejected("HTTP://acme.zendesk.com/hc");
  expect_rejected("http://help.acme.com/");
}

TEST(ReturnTo, RejectsOtherHosts) {
  for (const char* rt : {"https://evil.com/", "https://zendesk.com/", "https://other.zendesk.com/",
                         "https://evilacme.zendesk.com/", "https://acme.zendesk.com.evil.com/",
                         "https://acme.zendesk.com.evil.com", "https://help.acme.com.evil.com/",
                         "https://evil-help.acme.com/", "https://x.help.acme.com/", "https://acme.zendesk.co/",
                         "https://acme.zendesk.com../", "https://.acme.zendesk.com/", "https://127.0.0.1/",
                         "https://[::1]/"})
    expect_rejected(rt);
}

TEST(ReturnTo, RejectsSchemeRelativeAndBackslashTricks) {
  for (const char* rt : {"//evil.com", "//evil.com/hc", "///evil.com", "/\\evil.com", "\\\\evil", "\\/evil.com",
                         "/\\/evil.com", "https:\\\\evil.com", "https://evil.com\\@acme.zendesk.com",
                         "https://acme.zendesk.com\\@evil.com", "/hc\\..\\..\\evil"})
    expect_rejected(rt);
}

TEST(ReturnTo, RejectsUserinfo) {
  expect_rejected("https://acme.zendesk.com@evil.com");
  expect_rejected("https://acme.zendesk.com@evil.com/");
  expect_rejected("https://user:pass@acme.zendesk.com/");
  expect_rejected("https://evil.com@acme.zendesk.com/");
}

TEST(ReturnTo, RejectsHostHiddenInFragmentOrQuery) {
  expect_rejected("https://evil.com#acme.zendesk.com");
  expect_rejected("https://evil.com?acme.zendesk.com");
  expect_rejected("https://evil.com/acme.zendesk.com");
}

TEST(ReturnTo, RejectsScriptAndDataUrls) {
  for (const char* rt : {"javascript:alert(1)", "JaVaScRiPt:alert(1)", "javascript://acme.zendesk.com/%0aalert(1)",
                         "data:text/html,<script>alert(1)</script>", "DATA:text/html;base64,PHNjcmlwdD4=",
                         "vbscript:msgbox(1)", "file:///etc/passwd", "ftp://acme.zendesk.com/",
                         "https:acme.zendesk.com", "https:/acme.zendesk.com", "https:///acme.zendesk.com", "https://"})
    expect_rejected(rt);
}

TEST(ReturnTo, RejectsControlCharactersAndWhitespace) {
  for (const std::string& rt : std::vector<std::string>{"/hc\r\nSet-Cookie: a=b", "/hc\n", "/hc\r", "\t/hc", "/h c", " /hc", "/hc ",
                         "https://acme.zendesk.com\t.evil.com/", "java\tscript:alert(1)", std::string("/hc\0x", 5),
                         "/hc\x7f", "https://acme.zendesk.com/\x0b"})
    expect_rejected(rt);
}

TEST(ReturnTo, RejectsNonAscii) {
  expect_rejected("https://acmé.zendesk.com/");
  expect_rejected("/hc/\xc3\xa9");
  expect_rejected("https://acme.zendesk.com\xe3\x80\x82" "evil.com/");   // ideographic full stop
}

TEST(ReturnTo, RejectsPercentEncodedHosts) {
  for (const char* rt : {"https://acme.zendesk.com%2F@evil.com", "https://evil.com%2F.acme.zendesk.com/",
                         "https://acme%2Ezendesk.com/", "https://%61cme.zendesk.com/", "https://evil.com%23@acme.zendesk.com"})
    expect_rejected(rt);
}

TEST(ReturnTo, RejectsPathStartingWithAnEncodedSlashOrBackslash) {
  // One decoding pass (by Zendesk or a proxy) would make these "//evil.com".
  for (const char* rt : {"/%2F%2Fevil.com", "/%2fevil.com", "/%2F/evil.com", "/%5Cevil.com", "/%5c%5cevil.com"})
    expect_rejected(rt);
  expect_accepted("/hc/%2F");            // an encoded slash later in the path is just a path
  expect_accepted("/%41bc");
}

TEST(ReturnTo, RejectsPathsThatDecodeOrCleanUpToSchemeRelative) {
  // Browsers drop tab/CR/LF from URLs; careless code decodes more than once.
  for (const char* rt : {"/%09/evil.com", "/%0a/evil.com", "/%0D%0A/evil.com", "/%09%5cevil.com",
                         "/%252Fevil.com", "/%25252f%25252fevil.com", "/%2509/evil.com", "/%252525252f"})
    expect_rejected(rt);
  expect_accepted("/%25");                // a literal percent sign
  expect_accepted("/%zz/evil.com");       // a broken escape decodes to nothing
  expect_accepted("/hc/en-us?q=%2F%2Fx");
}

TEST(ReturnTo, ChecksTheWholeValueNotJustItsStart) {
  // 25 encoded tabs push the "//" past the first 64 bytes; decoded, with the
  // tabs dropped as browsers do, it is "//evil.example".
  std::string rt = "/";
  for (int i = 0; i < 25; ++i) rt += "%09";
  expect_rejected(rt + "/evil.example");
  std::string rt2 = "/";
  for (int i = 0; i < 700; ++i) rt2 += "%2509";
  expect_rejected(rt2 + "/evil.example");
}

TEST(ReturnTo, RejectsEncodedControlCharactersAnywhere) {
  for (const char* rt : {"/hc/%09x", "/hc/en-us?q=a%0d%0aSet-Cookie:x", "/hc/%0A", "/hc/%7f", "/hc/%00",
                         "/hc/%1b[31m", "/hc/%2509", "/hc/%252509", "https://acme.zendesk.com/%0d%0a",
                         "https://help.acme.com/hc?x=%09", "https://acme.zendesk.com/a%2500"})
    expect_rejected(rt);
  expect_accepted("/hc/en-us?q=a%20b");   // an encoded space is not a control character
  expect_accepted("https://acme.zendesk.com/hc?q=%C3%A9");
}

TEST(ReturnTo, RejectsPortsOtherThan443) {
  for (const char* rt : {"https://acme.zendesk.com:8443/", "https://acme.zendesk.com:80/", "https://acme.zendesk.com:/",
                         "https://acme.zendesk.com:0443/", "https://acme.zendesk.com:443:443/",
                         "https://acme.zendesk.com:443@evil.com/", "https://help.acme.com:444"})
    expect_rejected(rt);
}

TEST(ReturnTo, RejectsRelativeWithoutLeadingSlash) {
  for (const char* rt : {"hc/en-us", "?return=1", "#frag", ".", "..", "evil.com", "acme.zendesk.com/hc"})
    expect_rejected(rt);
}

TEST(ReturnTo, NoReturnToHostsMeansOnlyTheZendeskHost) {
  ZendeskConfig zd;
  zd.subdomain = "acme";
  EXPECT_TRUE(validate_return_to("https://acme.zendesk.com/", zd).has_value());
  EXPECT_FALSE(validate_return_to("https://help.acme.com/", zd).has_value());
}

// --- delivery -------------------------------------------------------------------------------

constexpr const char* kJwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpYXQiOjF9.sig-_";

TEST(JwtGetUrl, PutsTokenAndEncodedReturnToInTheQuery) {
  EXPECT_EQ(jwt_get_url(acme(), kJwt, ""), std::string("https://acme.zendesk.com/access/jwt?jwt=") + kJwt);
  EXPECT_EQ(jwt_get_url(acme(), kJwt, "https://help.acme.com/hc?a=1&b=2#x"),
            std::string("https://acme.zendesk.com/access/jwt?jwt=") + kJwt +
                "&return_to=https%3A%2F%2Fhelp.acme.com%2Fhc%3Fa%3D1%26b%3D2%23x");
}

TEST(JwtGetUrl, ReturnToCannotAddParameters) {
  std::string url = jwt_get_url(acme(), kJwt, "/hc&jwt=forged");
  EXPECT_EQ(url.find("&jwt="), std::string::npos) << url;
  EXPECT_NE(url.find("return_to=%2Fhc%26jwt%3Dforged"), std::string::npos) << url;
}

TEST(JwtPostForm, PostsTokenAndReturnToToTheEndpoint) {
  std::string f = jwt_post_form(acme(), kJwt, "/hc/en-us");
  EXPECT_NE(f.find(R"(<form id="zendesk-sso" method="post" action="https://acme.zendesk.com/access/jwt">)"),
            std::string::npos) << f;
  EXPECT_NE(f.find(std::string(R"(<input type="hidden" name="jwt" value=")") + kJwt + "\">"), std::string::npos) << f;
  EXPECT_NE(f.find(R"(<input type="hidden" name="return_to" value="/hc/en-us">)"), std::string::npos) << f;
  EXPECT_NE(f.find("<button type=\"submit\">Continue to Zendesk</button>"), std::string::npos) << f;
}

TEST(JwtPostForm, OmitsEmptyReturnTo) {
  EXPECT_EQ(jwt_post_form(acme(), kJwt, "").find("return_to"), std::string::npos);
}

TEST(JwtPostForm, EscapesEveryValue) {
  const std::string evil = R"("><script>alert('x')</script>&)";
  std::string f = jwt_post_form(acme(), evil, evil, evil, evil);
  EXPECT_EQ(f.find("<script"), std::string::npos) << f;
  EXPECT_EQ(f.find("'x'"), std::string::npos) << f;
  const std::string escaped = "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;";
  std::size_t count = 0;
  for (auto pos = f.find(escaped); pos != std::string::npos; pos = f.find(escaped, pos + 1)) ++count;
  EXPECT_EQ(count, 4u) << f;   // id, jwt, return_to, button label
  // Every attribute value stays inside its quotes: quote marks come in pairs per tag.
  EXPECT_EQ(std::count(f.begin(), f.end(), '"') % 2, 0);
}

TEST(JwtPostForm, CustomIdAndLabel) {
  std::string f = jwt_post_form(acme(), kJwt, "", "go", "Weiter zu Zendesk");
  EXPECT_NE(f.find("<form id=\"go\""), std::string::npos);
  EXPECT_NE(f.find(">Weiter zu Zendesk</button>"), std::string::npos);
}

TEST(LoopbackOrigin, AcceptsOnlyLoopback) {
  EXPECT_EQ(*loopback_origin("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
  EXPECT_EQ(*loopback_origin("https://[::1]:443"), "https://[::1]:443");
  EXPECT_EQ(*loopback_origin("http://localhost"), "http://localhost");
  EXPECT_FALSE(loopback_origin("http://10.0.0.1:80").ok());
  EXPECT_FALSE(loopback_origin("https://acme.zendesk.com").ok());
  EXPECT_FALSE(loopback_origin("http://127.0.0.1:80/api").ok());
  EXPECT_FALSE(loopback_origin("ftp://127.0.0.1").ok());
  EXPECT_FALSE(loopback_origin("http://127.0.0.1@evil.example").ok());
}

}  // namespace
}  // namespace zsso
