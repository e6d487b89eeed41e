// SPDX-License-Identifier: BSD-3-Clause
// The pages' language (issue 17.2): which one a request gets, and the
// translated text. Translations are GNU gettext catalogues (po/*.po compiled
// by msgfmt into LANG/LC_MESSAGES/zendesk-sso.mo), read by a small .mo reader
// of our own rather than glibc's gettext(3). Measured on Debian 12 (glibc
// 2.36): gettext translates under setlocale("C.UTF-8") + LANGUAGE=de, but not
// under the "C" locale a CGI usually gets (LANGUAGE is then ignored), nor
// under de_DE.UTF-8 unless that locale was generated. So glibc would need
// process-global setlocale + environment juggling per request, would pick
// catalogues by its own LANGUAGE fallback rules, and cannot say whether a
// catalogue exists (which Accept-Language negotiation must know to try the
// next language). Ours takes the language per call, needs no system locale,
// and reads one file per request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "zsso/result.hpp"

namespace zsso::cgi {

// Marks a msgid for xgettext (--keyword=N_) where the text is translated
// later, by whoever shows it. Returns its argument.
constexpr std::string_view N_(std::string_view msgid) { return msgid; }

inline constexpr std::string_view kTextDomain = "zendesk-sso";

// One compiled catalogue (.mo). Only UTF-8 catalogues are accepted.
class Catalog {
 public:
  // Parses a .mo image (either byte order); an error names what is wrong.
  static Result<Catalog> parse(std::string_view mo);
  // The translation, or msgid itself when there is none (or it is empty).
  std::string_view lookup(std::string_view msgid) const;
  std::size_t size() const { return entries_.size(); }

 private:
  std::unordered_map<std::string, std::string> entries_;
};

// The language a page is written in.
struct Language {
  std::string tag = "en";   // for <html lang>: "de", "pt-BR"
  Catalog catalog;          // empty for the built-in English
};

// The translated text of msgid in lang (English when there is none).
std::string_view tr(const Language& lang, std::string_view msgid);

// Replaces each {name} in text by its value (text is raw; the page escapes
// the result). Unknown {names} stay as they are.
std::string fill(std::string_view text, const std::vector<std::pair<std::string_view, std::string_view>>& values);

// Accept-Language (RFC 9110 12.5.4): the tags in order of preference
// (q-value, then position); q=0, "*" and malformed entries are dropped.
std::vector<std::string> accept_language_tags(std::string_view header);

// Zendesk's locale_id (from /api/v2/locales/public.json) to a language tag:
// the admin's extra map first, then the ids verified against Zendesk's list.
// "" when unknown.
std::string zendesk_locale_tag(std::int64_t id, const std::vector<std::pair<std::int64_t, std::string>>& extra);

// The catalogue directory names to try for a tag, best first:
// "pt-br" -> {"pt_BR", "pt"}; "de" -> {"de"}; not a tag -> {}.
std::vector<std::string> catalog_names(std::string_view tag);

// Where catalogues are searched: the admin's directory (helper.locale_dir)
// first, then the one compiled in (share/locale).
struct LocaleSearch {
  std::vector<std::string> dirs;
  std::string problems;   // catalogues found but refused, for the log line
};
LocaleSearch locale_search(std::string_view admin_dir);

// The first candidate tag that has a catalogue (English always has one, the
// built-in text), else English. Candidates in order: Zendesk's locale, the
// browser's, the configured default.
Language choose_language(const std::vector<std::string>& candidates, LocaleSearch& where);

}  // namespace zsso::cgi
