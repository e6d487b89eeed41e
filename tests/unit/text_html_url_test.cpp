// SPDX-License-Identifier: BSD-3-Clause
// The small helpers: text.hpp, html.hpp, url.hpp.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "zsso/html.hpp"
#include "zsso/text.hpp"
#include "zsso/url.hpp"

namespace zsso {
namespace {

// --- html ----------------------------------------------------------------------

TEST(HtmlEscape, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape(R"(<a href="x" title='y'>&</a>)"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(HtmlEscape, LeavesOtherTextAlone) {
  EXPECT_EQ(html_escape("Zoë Ñandú 李 / = ; : `"), "Zoë Ñandú 李 / = ; : `");
  EXPECT_EQ(html_escape(""), "");
}

TEST(HtmlEscape, EscapesAmpersandsOnlyOnce) {
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");
}

TEST(HtmlEscape, AppendKeepsPrefix) {
  std::string out = "<p>";
  html_escape_append(out, "<b>");
  EXPECT_EQ(out, "<p>&lt;b&gt;");
}

// --- percent-encoding ---------------------------------------------------------------

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode(" /?#[]@!$&'()*+,;=%"), "%20%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25");
}

TEST(PercentEncode, EncodesUtf8AndControlBytesWithUpperCaseHex) {
  EXPECT_EQ(percent_encode("é"), "%C3%A9");
  EXPECT_EQ(percent_encode(std::string("\0\r\n\x7f\xff", 5)), "%00%0D%0A%7F%FF");
}

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(percent_decode("%41%2f%2F%c3%A9", false), "A//é");
  EXPECT_EQ(percent_decode("", false), "");
}

TEST(PercentDecode, PlusIsSpaceOnlyInForms) {
  EXPECT_EQ(percent_decode("a+b%2B", true), "a b+");
  EXPECT_EQ(percent_decode("a+b%2B", false), "a+b+");
}

TEST(PercentDecode, RejectsBrokenEscapes) {
  for (const char* bad : {"%", "%4", "a%", "%zz", "%G1", "%1G", "%%41", "abc%4", "% 41"})
    EXPECT_FALSE(percent_decode(bad, true).has_value()) << bad;
}

TEST(PercentDecode, DecodesNulForCallersToCheck) {
  EXPECT_EQ(percent_decode("a%00b", false), std::string("a\0b", 3));
}

TEST(PercentEncoding, RoundTripsRandomBytes) {
  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    std::string s(static_cast<std::size_t>(rng() % 64), '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    std::string enc = percent_encode(s);
    EXPECT_EQ(enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"),
              std::string::npos);
    EXPECT_EQ(percent_decode(enc, true), s);
  }
}

// --- forms ---------------------------------------------------------------------------

TEST(ParseForm, ParsesFieldsInOrder) {
  auto f = parse_form("return_to=%2Fhc%2Fen-us&brand_id=5&name=Zo%C3%AB+N");
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ(*form_get(*f, "return_to"), "/hc/en-us");
  EXPECT_EQ(*form_get(*f, "brand_id"), "5");
  EXPECT_EQ(*form_get(*f, "name"), "Zoë N");
  EXPECT_EQ(form_get(*f, "missing"), nullptr);
}

TEST(ParseForm, RepeatedKeysAreCountedAndTheFirstWins) {
  auto f = parse_form("a=1&b=2&a=3");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(form_count(*f, "a"), 2u);
  EXPECT_EQ(form_count(*f, "b"), 1u);
  EXPECT_EQ(form_count(*f, "c"), 0u);
  EXPECT_EQ(*form_get(*f, "a"), "1");
}

TEST(ParseForm, EdgeShapes) {
  auto f = parse_form("&&flag&=v&k=a=b&");
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ(*form_get(*f, "flag"), "");
  EXPECT_EQ(*form_get(*f, ""), "v");
  EXPECT_EQ(*form_get(*f, "k"), "a=b");
  EXPECT_TRUE(parse_form("")->empty());
  EXPECT_EQ(*form_get(*parse_form("a%3Db=c"), "a=b"), "c");   // an encoded '=' belongs to the key
}

TEST(ParseForm, RejectsBrokenEscapesInKeysOrValues) {
  EXPECT_FALSE(parse_form("a=%zz").has_value());
  EXPECT_FALSE(parse_form("%=1").has_value());
  EXPECT_FALSE(parse_form("ok=1&b=%4").has_value());
}

TEST(ParseForm, RefusesTooManyFields) {
  std::string s;
  for (int i = 0; i < 64; ++i) s.append("f").append(std::to_string(i)).append("=1&");
  EXPECT_TRUE(parse_form(s).has_value());
  EXPECT_FALSE(parse_form(s + "one=more").has_value());
  EXPECT_FALSE(parse_form("a=1&b=2&c=3", 2).has_value());
  EXPECT_TRUE(parse_form("a=1&&&b=2", 2).has_value());   // empty parts are not fields
}

// --- text ------------------------------------------------------------------------------

TEST(Utf8, AcceptsValidText) {
  for (const std::string& s : std::vector<std::string>{"", "ascii", "Zoë Ñandú 李", "😀", "\xc2\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
                        std::string("a\0b", 3)})
    EXPECT_TRUE(is_valid_utf8(s)) << s;
}

TEST(Utf8, RejectsMalformedText) {
  for (const char* s : {"\x80", "\xbf", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
                        "\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
                        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
                        "ok\xc3(", "\xe2\x28\xa1"})
    EXPECT_FALSE(is_valid_utf8(s)) << testing::PrintToString(std::string(s));
}

TEST(ControlChars, FindsC0AndDel) {
  for (int c = 0; c < 0x20; ++c) EXPECT_TRUE(has_control_chars(std::string("a") + static_cast<char>(c) + "b")) << c;
  EXPECT_TRUE(has_control_chars("\x7f"));
  EXPECT_FALSE(has_control_chars("plain text ~"));
  EXPECT_FALSE(has_control_chars("Zoë \xc2\x85"));   // bytes >= 0x80 are UTF-8's business
  EXPECT_FALSE(has_control_chars(""));
}

TEST(AsciiLower, LowersOnlyAscii) {
  EXPECT_EQ(ascii_lower("ACME.Zendesk.COM"), "acme.zendesk.com");
  EXPECT_EQ(ascii_lower("ÀB"), "Àb");
  EXPECT_EQ(ascii_lower("[@]_`{"), "[@]_`{");
}

TEST(Trim, RemovesSpacesTabsAndLineEndsAtBothEnds) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim(" \t\r\n "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim("\va\v"), "\va\v");
}

TEST(QuoteForLog, QuotesAndEscapesControlBytesQuotesAndBackslashes) {
  EXPECT_EQ(quote_for_log("a\"b\\c\n\x7f"), "\"a\\x22b\\x5cc\\x0a\\x7f\"");
  EXPECT_EQ(quote_for_log(""), "\"\"");
  EXPECT_EQ(quote_for_log("Zoë"), "\"Zoë\"");
}

TEST(QuoteForLog, BytesThatAreNotUtf8AreEscapedNeverPassedRaw) {
  EXPECT_EQ(quote_for_log("a\xff\xfe" "b"), "\"a\\xff\\xfeb\"");
  EXPECT_EQ(quote_for_log("\xc3"), "\"\\xc3\"");                  // truncated sequence
  EXPECT_EQ(quote_for_log("\xc0\xaf"), "\"\\xc0\\xaf\"");          // overlong '/'
  EXPECT_EQ(quote_for_log("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");  // surrogate
}

TEST(QuoteForLog, EscapesC1ControlsLineSeparatorsAndBidiOverrides) {
  EXPECT_EQ(quote_for_log("\xc2\x9b" "31m"), "\"\\xc2\\x9b31m\"");        // 8-bit CSI
  EXPECT_EQ(quote_for_log("a\xe2\x80\xa8" "b"), "\"a\\xe2\\x80\\xa8b\"");  // U+2028
  EXPECT_EQ(quote_for_log("\xe2\x80\xae" "evil"), "\"\\xe2\\x80\\xaeevil\"");  // U+202E
  EXPECT_EQ(quote_for_log("\xe6\x97\xa5\xf0\x9f\x94\x91"), "\"\xe6\x97\xa5\xf0\x9f\x94\x91\"");
}

TEST(QuoteForLog, EscapesEveryBidiControlAndNel) {
  // U+0085 NEL, U+061C ALM, U+200E/F, U+202A-202E, U+2066-2069, U+2029.
  EXPECT_EQ(quote_for_log("\xc2\x85"), "\"\\xc2\\x85\"");
  EXPECT_EQ(quote_for_log("\xd8\x9c"), "\"\\xd8\\x9c\"");
  for (const char* s : {"\xe2\x80\x8e", "\xe2\x80\x8f", "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac",
                        "\xe2\x80\xad", "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9",
                        "\xe2\x80\xa9"}) {
    std::string q = quote_for_log(s);
    EXPECT_EQ(q.find(s), std::string::npos) << q;
    EXPECT_EQ(q.size(), 2u + 12u) << q;   // three \xNN
  }
  EXPECT_EQ(quote_for_log("\xd8\xa7"), "\"\xd8\xa7\"");   // a letter of the same script stays readable
}

TEST(DisplayExcerpt, NeutralisesWhatQuoteForLogEscapes) {
  EXPECT_EQ(display_excerpt("a\xe2\x80\xae" "b\nc\x1b[1m\xc2\x85", 100), "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd[1m\xef\xbf\xbd");
  EXPECT_EQ(display_excerpt("Zo\xc3\xab <b>", 100), "Zo\xc3\xab <b>");   // markup is the page's job to escape
  EXPECT_FALSE(display_excerpt("a\xff", 100).has_value());
}

TEST(DisplayExcerpt, CutsAtACharacterBoundaryWithAnEllipsis) {
  EXPECT_EQ(display_excerpt("abcdef", 6), "abcdef");
  EXPECT_EQ(display_excerpt("abcdefg", 6), "abcdef\xe2\x80\xa6");
  EXPECT_EQ(display_excerpt("ab\xc3\xab", 3), "ab\xe2\x80\xa6");
}

TEST(QuoteForLog, CutNeverSplitsACharacter) {
  EXPECT_EQ(quote_for_log("ab\xc3\xab", 3), "\"ab...\"");
  EXPECT_EQ(quote_for_log("ab\xc3\xab", 4), "\"ab\xc3\xab\"");
}

TEST(QuoteForLog, CutsLongValues) {
  EXPECT_EQ(quote_for_log(std::string(10, 'x'), 10), R"("xxxxxxxxxx")");
  EXPECT_EQ(quote_for_log(std::string(11, 'x'), 10), R"("xxxxxxxxxx...")");
  EXPECT_EQ(quote_for_log(std::string(500, 'x')).size(), 120u + 5u);
}

}  // namespace
}  // namespace zsso

namespace zsso {
namespace {

TEST(Text, LanguageTagsAreTheSimpleFormOnly) {
  for (const char* ok : {"de", "DE", "pt-BR", "pt_br", "es-419", "fil"}) EXPECT_TRUE(is_language_tag(ok)) << ok;
  for (const char* bad : {"", "d", "deut", "de-", "de-DEU", "de-D1", "zh-Hant", "../de", "de/x", "de-DE-x", "*", "d e"})
    EXPECT_FALSE(is_language_tag(bad)) << bad;
}

}  // namespace
}  // namespace zsso
