// SPDX-License-Identifier: BSD-3-Clause
// The CGI's pages: language negotiation, the .mo reader, Zendesk error
// causes, the logo's type and the branded style (issues 17.2, 17.3, 18.8).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "branding.hpp"
#include "i18n.hpp"
#include "pages.hpp"
#include "response.hpp"
#include "test_support.hpp"
#include "zendesk_errors.hpp"
#include "zsso/sha256.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {
namespace {

using zsso::testing::TempDir;
using zsso::testing::write_file;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kBuiltPo = ZSSO_PO_BUILD_DIR;

TEST(AcceptLanguage, OrdersByQualityThenPosition) {
  EXPECT_EQ(accept_language_tags("fr;q=0.5, de-DE, de;q=0.9, en;q=0.8"),
            (std::vector<std::string>{"de-DE", "de", "en", "fr"}));
  EXPECT_EQ(accept_language_tags("nl, it"), (std::vector<std::string>{"nl", "it"}));
}

TEST(AcceptLanguage, DropsZeroQualityWildcardsAndMalformedEntries) {
  EXPECT_EQ(accept_language_tags("de;q=0, *, fr;q=2, es;q=abc, ja;q=0.001, x-klingon, ../etc, pt-BR;Q=1.000"),
            (std::vector<std::string>{"pt-BR", "ja"}));
  EXPECT_TRUE(accept_language_tags("").empty());
  EXPECT_TRUE(accept_language_tags(",,,;;;").empty());
}

TEST(AcceptLanguage, LongHeadersAreCutNotTrustedWhole) {
  std::string h;
  for (int i = 0; i < 500; ++i) h += "de;q=0.5,";
  EXPECT_LE(accept_language_tags(h + "fr").size(), 32u);
}

TEST(Catalog, NamesToTryForATag) {
  EXPECT_EQ(catalog_names("pt-br"), (std::vector<std::string>{"pt_BR", "pt"}));
  EXPECT_EQ(catalog_names("DE"), (std::vector<std::string>{"de"}));
  EXPECT_EQ(catalog_names("es-419"), (std::vector<std::string>{"es_419", "es"}));
  EXPECT_TRUE(catalog_names("../../etc").empty());
  EXPECT_TRUE(catalog_names("de/x").empty());
}

TEST(Catalog, ReadsTheBuiltGermanCatalogue) {
  auto c = Catalog::parse(read_bytes(kBuiltPo + "/de/LC_MESSAGES/zendesk-sso.mo"));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->lookup("Password"), "Passwort");
  EXPECT_EQ(c->lookup("Not in the catalogue"), "Not in the catalogue");
  EXPECT_EQ(c->lookup(""), "");
}

TEST(Catalog, RefusesBrokenFilesWithoutReadingOutsideThem) {
  const std::string good = read_bytes(kBuiltPo + "/fr/LC_MESSAGES/zendesk-sso.mo");
  ASSERT_GT(good.size(), 100u);
  EXPECT_FALSE(Catalog::parse("").ok());
  EXPECT_FALSE(Catalog::parse(std::string(28, '\0')).ok());
  EXPECT_FALSE(Catalog::parse(good.substr(0, good.size() / 2)).ok());
  std::string huge_count = good;
  huge_count[8] = '\xff', huge_count[9] = '\xff', huge_count[10] = '\xff', huge_count[11] = '\x7f';
  EXPECT_FALSE(Catalog::parse(huge_count).ok());
  // Every one-byte corruption of the header and tables parses or fails, never crashes.
  for (std::size_t i = 0; i < 200 && i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x80);
    (void)Catalog::parse(bad).ok();
  }
}

TEST(Language, NegotiationFindsRegionalAndPrimaryCatalogues) {
  LocaleSearch where{{kBuiltPo}, {}};
  EXPECT_EQ(choose_language({"de-DE", "en"}, where).tag, "de");
  EXPECT_EQ(choose_language({"pt-br"}, where).tag, "pt-BR");
  EXPECT_EQ(choose_language({"sv", "fr-CA", "de"}, where).tag, "fr");
  EXPECT_EQ(choose_language({"en-GB", "de"}, where).tag, "en") << "English is there without a catalogue";
  EXPECT_EQ(choose_language({"sv", "fi"}, where).tag, "en");
  EXPECT_EQ(tr(choose_language({"ja"}, where), "Password"), "パスワード");
  EXPECT_TRUE(where.problems.empty()) << where.problems;
}

TEST(Language, AnAdminsCatalogueIsFoundFirstAndABadOneIsReportedNotUsed) {
  TempDir dir;
  const std::string good = read_bytes(kBuiltPo + "/nl/LC_MESSAGES/zendesk-sso.mo");
  std::filesystem::create_directories(dir.path() / "sv" / "LC_MESSAGES");
  std::filesystem::create_directories(dir.path() / "de" / "LC_MESSAGES");
  write_file(dir.path().string() + "/sv/LC_MESSAGES/zendesk-sso.mo", good, 0644);   // any catalogue, to prove it is read
  write_file(dir.path().string() + "/de/LC_MESSAGES/zendesk-sso.mo", "this is not a gettext catalogue at all", 0644);
  LocaleSearch where{{dir.path().string(), kBuiltPo}, {}};
  Language sv = choose_language({"sv-SE"}, where);
  EXPECT_EQ(sv.tag, "sv");
  EXPECT_EQ(tr(sv, "Password"), "Wachtwoord");
  EXPECT_EQ(choose_language({"de"}, where).tag, "de") << "the broken one is skipped, the built one used";
  EXPECT_NE(where.problems.find("bad magic"), std::string::npos) << where.problems;
}

TEST(Language, ADirectoryThatCannotBeSearchedIsReported) {
  TempDir dir;
  write_file(dir.path().string() + "/de", "a file where a directory should be", 0644);
  LocaleSearch where{{dir.path().string() + "/de/x"}, {}};   // ENOTDIR: as good as missing
  EXPECT_EQ(choose_language({"de"}, where).tag, "en");
  EXPECT_TRUE(where.problems.empty()) << where.problems;
  LocaleSearch looped{{dir.path().string() + "/loop"}, {}};
  std::filesystem::create_directory_symlink(dir.path() / "loop", dir.path() / "loop");   // ELOOP
  EXPECT_EQ(choose_language({"de"}, looped).tag, "en");
  EXPECT_NE(looped.problems.find("/loop/de/LC_MESSAGES/zendesk-sso.mo"), std::string::npos) << looped.problems;
}

TEST(Language, ZendeskLocaleIdsFromTheirPublicList) {
  EXPECT_EQ(zendesk_locale_tag(1, {}), "en-US");
  EXPECT_EQ(zendesk_locale_tag(2, {}), "es");
  EXPECT_EQ(zendesk_locale_tag(8, {}), "de");
  EXPECT_EQ(zendesk_locale_tag(16, {}), "fr");
  EXPECT_EQ(zendesk_locale_tag(999999, {}), "");
  EXPECT_EQ(zendesk_locale_tag(19, {{19, "pt-BR"}}), "pt-BR");
  EXPECT_EQ(zendesk_locale_tag(8, {{8, "nl"}}), "nl") << "the admin's map wins";
}

TEST(Language, FillReplacesNamedPlaceholdersOnly) {
  EXPECT_EQ(fill("Sign in with your {site} account {x}.", {{"site", "Acme"}}), "Sign in with your Acme account {x}.");
  EXPECT_EQ(fill("{site}{site}", {{"site", "<b>"}}), "<b><b>");
  EXPECT_EQ(fill("{unclosed", {{"unclosed", "x"}}), "{unclosed");
}

TEST(ZendeskErrors, KnownMessagesMapToCauses) {
  EXPECT_EQ(classify_zendesk_error("Invalid iat parameter. Please check your system clock").category, "clock-skew");
  EXPECT_EQ(classify_zendesk_error("JWT signature invalid. The signature cannot be verified, check that your tokens match.").category,
            "wrong-secret");
  EXPECT_EQ(classify_zendesk_error("Token has already been used").category, "replay");
  EXPECT_EQ(classify_zendesk_error("Users with the email address a@b.c are not allowed to sign up for this help desk").category,
            "account");
  EXPECT_EQ(classify_zendesk_error("Email is invalid").category, "bad-claims");
  EXPECT_EQ(classify_zendesk_error("The email is associated with another user").category, "bad-claims")
      << "'associated' contains 'iat' but is not about the clock";
  EXPECT_EQ(classify_zendesk_error("Invalid JWT").category, "unknown");
  EXPECT_EQ(classify_zendesk_error("").category, "unknown");
}

TEST(Branding, ImageTypeComesFromTheBytesNotTheName) {
  EXPECT_EQ(sniff_image_type(std::string("\x89PNG\r\n\x1a\n....", 12)), "image/png");
  EXPECT_EQ(sniff_image_type("\xff\xd8\xff\xe0"), "image/jpeg");
  EXPECT_EQ(sniff_image_type("GIF89a.."), "image/gif");
  EXPECT_EQ(sniff_image_type("RIFF1234WEBPVP8 "), "image/webp");
  EXPECT_EQ(sniff_image_type("<?xml version=\"1.0\"?>\n<!-- logo -->\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            "image/svg+xml");
  EXPECT_EQ(sniff_image_type("<html><svg></svg></html>"), "");
  EXPECT_EQ(sniff_image_type("<svgx>"), "");
  EXPECT_EQ(sniff_image_type("plain text"), "");
}

TEST(Branding, LogoBecomesADataUrlAndOversizedOrOddFilesAreRefused) {
  TempDir dir;
  write_file(dir.path().string() + "/logo.gif", "GIF89a\x01\x00", 0644);
  auto url = logo_data_url(dir.path().string() + "/logo.gif");
  ASSERT_TRUE(url.ok()) << url.error();
  EXPECT_EQ(*url, "data:image/gif;base64,R0lGODlhAQ==");
  write_file(dir.path().string() + "/big.png", "\x89PNG\r\n\x1a\n" + std::string(kMaxLogo, 'x'), 0644);
  EXPECT_FALSE(logo_data_url(dir.path().string() + "/big.png").ok());
  write_file(dir.path().string() + "/logo.png", "<script>alert(1)</script>", 0644);
  EXPECT_NE(logo_data_url(dir.path().string() + "/logo.png").error().find("not a PNG"), std::string::npos);
  write_file(dir.path().string() + "/writable.gif", "GIF89a", 0666);
  EXPECT_FALSE(logo_data_url(dir.path().string() + "/writable.gif").ok());
}

TEST(Branding, ColourPicksReadableTextAndInvalidColoursChangeNothing) {
  EXPECT_EQ(page_style(""), std::string(kPageStyle));
  EXPECT_EQ(page_style("red;}body{display:none"), std::string(kPageStyle));
  EXPECT_EQ(page_style("#FFD700"), std::string(kPageStyle) + ":root{--zp:#ffd700;--zf:#1b1f24}");
  EXPECT_EQ(page_style("#1f73b7"), std::string(kPageStyle) + ":root{--zp:#1f73b7;--zf:#fff}");
}

TEST(Pages, BrandingAndLanguageAreEscapedAndSet) {
  LocaleSearch where{{kBuiltPo}, {}};
  Language de = choose_language({"de"}, where);
  const std::string style = page_style("#123456");
  PageFrame f{"Acme <b>", "rid1", &de, style,
              {"IT <desk>", "https://help.acme.test/?a=1&b=\"2\"", "data:image/gif;base64,R0lG", "Nur f\xc3\xbcr <befugte> Nutzer"}};
  const std::string page = login_form_page(f, {"/zendesk/login", "tok", "", "", ""});
  EXPECT_NE(page.find("<html lang=\"de\">"), std::string::npos);
  EXPECT_NE(page.find("<label for=\"user\">Benutzername</label>"), std::string::npos);
  EXPECT_NE(page.find("Nur f\xc3\xbcr &lt;befugte&gt; Nutzer"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"https://help.acme.test/?a=1&amp;b=&quot;2&quot;\">IT &lt;desk&gt;</a>"), std::string::npos);
  EXPECT_NE(page.find("<img class=\"logo\" src=\"data:image/gif;base64,R0lG\" alt=\"\">"), std::string::npos);
  EXPECT_NE(page.find("<input type=\"hidden\" name=\"lang\" value=\"de\">"), std::string::npos);
  EXPECT_NE(page.find("<style>" + style + "</style>"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_EQ(page.find("<desk>"), std::string::npos);
}

TEST(Pages, CspAllowsDataImagesOnlyWhenAsked) {
  EXPECT_EQ(build_csp("'sha256-x'", {}, {}).find("img-src"), std::string::npos);
  EXPECT_NE(build_csp("'sha256-x'", {}, {}, true).find("; img-src data:;"), std::string::npos);
}

// Issue 25.11: the prompts we know get a translated label; a code is not masked.
TEST(Pages, KnownPromptsGetATranslatedLabelAndACodeIsNotMasked) {
  LocaleSearch where{{kBuiltPo}, {}};
  Language de = choose_language({"de"}, where);
  using K = broker::Message::Kind;
  const std::vector<broker::Message> messages = {
      {K::echo_off, "One-time password (OATH) for `alice': "},
      {K::echo_off, "Verification code: "},
      {K::echo_off, "Password: "},
      {K::echo_off, "New password: "},
      {K::echo_off, "Retype new password: "},
      {K::echo_off, "Enter PASSCODE <x>:"}};
  const std::string page = prompt_page({"Acme", "rid", &de, "", {}},
                                       {"/zendesk/login", "tok", "", "00", 1, messages, "/zendesk/login"});
  auto field = [&](int k) {
    const std::string id = "answer" + std::to_string(k);
    auto at = page.find("<label for=\"" + id + "\">");
    EXPECT_NE(at, std::string::npos) << page;
    return page.substr(at, page.find('>', page.find("<input", at)) - at + 1);
  };
  EXPECT_EQ(field(0), "<label for=\"answer0\">Einmalcode</label>\n<input id=\"answer0\" name=\"answer0\" type=\"text\" "
                      "autocomplete=\"one-time-code\" inputmode=\"numeric\" autofocus>");
  EXPECT_EQ(field(1), "<label for=\"answer1\">Einmalcode</label>\n<input id=\"answer1\" name=\"answer1\" type=\"text\" "
                      "autocomplete=\"one-time-code\" inputmode=\"numeric\">");
  EXPECT_NE(field(2).find(">Passwort</label>"), std::string::npos);
  EXPECT_NE(field(2).find("type=\"password\" autocomplete=\"current-password\""), std::string::npos);
  EXPECT_NE(field(3).find(">Neues Passwort</label>"), std::string::npos);
  EXPECT_NE(field(3).find("type=\"password\" autocomplete=\"new-password\""), std::string::npos);
  EXPECT_NE(field(4).find(">Neues Passwort wiederholen</label>"), std::string::npos);
  EXPECT_NE(field(4).find("type=\"password\" autocomplete=\"new-password\""), std::string::npos);
  // An unknown prompt keeps the module's text (escaped), and a passcode (PIN + code) its mask.
  EXPECT_NE(field(5).find(">Enter PASSCODE &lt;x&gt;:</label>"), std::string::npos);
  EXPECT_NE(field(5).find("type=\"password\""), std::string::npos);
  EXPECT_EQ(page.find("alice"), std::string::npos);
}

// Issue 23 slice 3: the key step's page carries the broker's values as data
// (base64url, escaped), never in its one script, whose hash the CSP allows.
TEST(Pages, KeyPageCarriesTheChallengeAsDataAndOneFixedScript) {
  LocaleSearch where{{kBuiltPo}, {}};
  Language de = choose_language({"de"}, where);
  broker::KeyChallenge key;
  key.challenge = std::string(32, '\xfb');
  key.rp_id = "sso.example.com";
  key.user_verification = broker::KeyChallenge::Verification::required;
  key.credential_ids = {std::string("\xff\xfe\x01", 3), "alice-key-1"};
  const std::vector<broker::Message> messages = {{broker::Message::Kind::info, "Touch <it>"}};
  const std::string page = key_page({"Acme", "rid", &de, "", {}},
                                    {"/zendesk/login", "tok", "https://x.test/?a=1&b=2", "0a1b", 3, key, messages,
                                     "/zendesk/login?return_to=x"});
  EXPECT_NE(page.find("<form id=\"zsso-key\" method=\"post\" action=\"/zendesk/login\" "
                      "data-challenge=\"-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s\" data-rp-id=\"sso.example.com\" "
                      "data-user-verification=\"required\" data-credentials=\"__4B YWxpY2Uta2V5LTE\">"),
            std::string::npos) << page;
  EXPECT_NE(page.find("<p class=\"note pam\">Touch &lt;it&gt;</p>"), std::string::npos);
  EXPECT_NE(page.find("<input type=\"hidden\" name=\"return_to\" value=\"https://x.test/?a=1&amp;b=2\">"),
            std::string::npos);
  for (auto field : {"csrf\" value=\"tok", "conversation\" value=\"0a1b", "step\" value=\"3", "lang\" value=\"de",
                     "key_id\" value=\"", "key_client_data\" value=\"", "key_authenticator_data\" value=\"",
                     "key_signature\" value=\""})
    EXPECT_NE(page.find(std::string("<input type=\"hidden\" name=\"") + field + "\">"), std::string::npos) << field;
  // In German, the cancelled prompt's and the no-WebAuthn texts hidden until the script shows them.
  EXPECT_NE(page.find("<h2>Sicherheitsschl\xc3\xbcssel</h2>"), std::string::npos);
  EXPECT_NE(page.find("<p id=\"zsso-key-failed\" class=\"alert\" role=\"alert\" hidden>Der Sicherheitsschl"),
            std::string::npos);
  EXPECT_NE(page.find("<p id=\"zsso-key-unsupported\" class=\"alert\" role=\"alert\" hidden>Dieser Browser"),
            std::string::npos);
  EXPECT_NE(page.find("<noscript><p class=\"alert\">Ihr Sicherheitsschl"), std::string::npos);
  EXPECT_NE(page.find("<button type=\"button\" id=\"zsso-key-again\" hidden>Erneut versuchen</button>"),
            std::string::npos);
  EXPECT_NE(page.find("<a href=\"/zendesk/login?return_to=x\">Neu beginnen</a>"), std::string::npos);
  // Exactly one script, byte for byte kKeyScript, whose digest is the CSP's.
  const auto open = page.find("<script>");
  ASSERT_NE(open, std::string::npos);
  EXPECT_EQ(page.find("<script", open + 1), std::string::npos);
  const auto close = page.find("</script>", open);
  EXPECT_EQ(page.substr(open + 8, close - open - 8), kKeyScript);
  EXPECT_EQ(sha256(page.substr(open + 8, close - open - 8)), kKeyScriptSha256);
  EXPECT_EQ(kKeyScript.find("sso.example.com"), std::string_view::npos);
  EXPECT_NE(kKeyScript.find("navigator.credentials.get("), std::string_view::npos);
}

TEST(Pages, EnrolPageCarriesTheRegistrationAsDataAndOneFixedScript) {
  LocaleSearch where{{kBuiltPo}, {}};
  Language de = choose_language({"de"}, where);
  broker::KeyRegistration reg;
  reg.challenge = std::string(32, '\xfb');
  reg.rp_id = "sso.example.com";
  reg.user_verification = broker::KeyChallenge::Verification::discouraged;
  reg.invite_needed = true;
  reg.user_handle = std::string(3, '\xff');
  reg.user_name = "al\"ice";
  reg.exclude_ids = {std::string("\xff\xfe\x01", 3), "alice-key-1"};
  const std::vector<broker::KeyListEntry> keys = {{"AbC<d>", "es256"}};
  const std::vector<broker::Message> messages;
  const std::string page = enrol_page({"Acme", "rid", &de, "", {}},
                                      {"/zendesk/keys", "tok", "", "0a1b", 2, reg, keys, messages, "/zendesk/keys"});
  EXPECT_NE(page.find("<form id=\"zsso-enrol\" method=\"post\" action=\"/zendesk/keys\" "
                      "data-challenge=\"-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s\" data-rp-id=\"sso.example.com\" "
                      "data-user-handle=\"____\" data-user-name=\"al&quot;ice\" data-user-verification=\"discouraged\" "
                      "data-attestation=\"none\" data-resident-key=\"discouraged\" "
                      "data-exclude=\"__4B YWxpY2Uta2V5LTE\">"),
            std::string::npos) << page;
  // webauthn.aaguids asks the browser for the maker's attestation, passwordless for a passkey.
  const std::string certified = enrol_page({"Acme", "rid", &de, "", {}}, {"/zendesk/keys", "tok", "", "0a1b", 2, reg,
                                                                          keys, messages, "/zendesk/keys", true, true});
  EXPECT_NE(certified.find("data-attestation=\"direct\" data-resident-key=\"preferred\" "), std::string::npos)
      << certified;
  EXPECT_NE(page.find("<li><code>AbC&lt;d&gt;</code> (es256)</li>"), std::string::npos) << page;
  // Each listed key has its own small form: "Remove" posts its id with the step's fields.
  EXPECT_NE(page.find("<button type=\"submit\" name=\"remove_key\" value=\"AbC&lt;d&gt;\">AbC&lt;d&gt; entfernen"
                      "</button>\n</form>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<input id=\"invite_code\" name=\"invite_code\""), std::string::npos);
  EXPECT_NE(page.find("<label for=\"invite_code\">Einladungscode"), std::string::npos);
  for (auto field : {"csrf\" value=\"tok", "conversation\" value=\"0a1b", "step\" value=\"2", "lang\" value=\"de",
                     "reg_client_data\" value=\"", "reg_attestation\" value=\""})
    EXPECT_NE(page.find(std::string("<input type=\"hidden\" name=\"") + field + "\">"), std::string::npos) << field;
  EXPECT_NE(page.find("<h2>Sicherheitsschl\xc3\xbcssel</h2>"), std::string::npos);
  EXPECT_NE(page.find("<button type=\"submit\" id=\"zsso-enrol-add\">Sicherheitsschl\xc3\xbcssel hinzuf\xc3\xbcgen"),
            std::string::npos);
  // No invite field when the broker needs none.
  reg.invite_needed = false;
  EXPECT_EQ(enrol_page({"Acme", "rid", &de, "", {}},
                       {"/zendesk/keys", "tok", "", "0a1b", 2, reg, keys, messages, "/zendesk/keys"})
                .find("invite_code"),
            std::string::npos);
  // Exactly one script, byte for byte kEnrolScript, whose digest is the CSP's.
  const auto open = page.find("<script>");
  ASSERT_NE(open, std::string::npos);
  EXPECT_EQ(page.find("<script", open + 1), std::string::npos);
  const auto close = page.find("</script>", open);
  EXPECT_EQ(page.substr(open + 8, close - open - 8), kEnrolScript);
  EXPECT_EQ(sha256(page.substr(open + 8, close - open - 8)), kEnrolScriptSha256);
  EXPECT_EQ(kEnrolScript.find("sso.example.com"), std::string_view::npos);
  EXPECT_NE(kEnrolScript.find("navigator.credentials.create("), std::string_view::npos);
}

TEST(Pages, KeyAddedPageListsTheKeys) {
  const std::vector<broker::KeyListEntry> keys = {{"AbCdEf012345", "es256"}, {"*XyZ", "eddsa"}};
  const std::string page = key_added_page({"Acme", "rid", nullptr, "", {}}, keys, "/zendesk/keys");
  EXPECT_NE(key_added_page({"Acme", "rid", nullptr, "", {}}, keys, "/zendesk/keys", true)
                .find("<h2>Security key removed</h2>\n<p>It no longer signs in to your account.</p>"),
            std::string::npos);
  EXPECT_NE(page.find("<h2>Security key added</h2>"), std::string::npos);
  EXPECT_NE(page.find("<li><code>AbCdEf012345</code> (es256)</li>\n<li><code>*XyZ</code> (eddsa)</li>"),
            std::string::npos);
  EXPECT_NE(page.find("<a href=\"/zendesk/keys\">Add another security key</a>"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace zsso::cgi
