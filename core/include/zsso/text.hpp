// SPDX-License-Identifier: BSD-3-Clause
// Small checks on text from outside.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace zsso {

bool is_valid_utf8(std::string_view s);
// Any byte < 0x20 or 0x7f.
bool has_control_chars(std::string_view s);
std::string ascii_lower(std::string_view s);
// A language tag of the simple form the pages' translations use: two or
// three letters, optionally '-' or '_' and a region (two letters or three
// digits): "de", "pt-BR", "es_419". Nothing else (no scripts, no variants).
bool is_language_tag(std::string_view s);
std::string_view trim(std::string_view s);
// Quotes a value for a one-line message: "value". Quotes, backslashes,
// control characters (C0, C1), line separators, bidi overrides and bytes
// that are not UTF-8 become \xNN; valid UTF-8 stays readable; values longer
// than max bytes are cut at a character boundary with "...".
std::string quote_for_log(std::string_view s, std::size_t max = 120);
// Outside text made safe to show as plain text inside a page: characters a
// renderer may act on rather than show (the ones quote_for_log escapes:
// C0/C1 controls, line separators, bidi controls) become U+FFFD, and values
// longer than max bytes are cut at a character boundary with "\u2026".
// nullopt when s is not UTF-8.
std::optional<std::string> display_excerpt(std::string_view s, std::size_t max);
// Lower-case hex of bytes (two digits a byte).
std::string hex_lower(std::span<const unsigned char> bytes);
// The bytes of lower-case hex (hex_lower's inverse); nullopt for an odd
// length or any other character.
std::optional<std::string> bytes_from_hex_lower(std::string_view hex);
// strerror, thread-safe.
std::string errno_text(int e);

}  // namespace zsso
