// SPDX-License-Identifier: BSD-3-Clause
// Percent-encoding and application/x-www-form-urlencoded parsing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zsso {

// Encodes everything but RFC 3986 unreserved characters.
std::string percent_encode(std::string_view s);
// Decodes %XX (and '+' as space when form is true); nullopt on a broken escape.
std::optional<std::string> percent_decode(std::string_view s, bool form);

using FormFields = std::vector<std::pair<std::string, std::string>>;
// Parses "a=1&b=2" (query strings and urlencoded bodies). nullopt on a broken
// escape or more than max_fields fields.
std::optional<FormFields> parse_form(std::string_view s, std::size_t max_fields = 64);
// First value of key, if any.
const std::string* form_get(const FormFields& f, std::string_view key);
// Number of occurrences of key (repeated parameters are refused by callers).
std::size_t form_count(const FormFields& f, std::string_view key);

}  // namespace zsso
