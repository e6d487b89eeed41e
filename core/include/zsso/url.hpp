// SPDX-License-Identifier: BSD-3-Clause
// Percent-encoding and application/x-www-form-urlencoded parsing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zsso/secret.hpp"

namespace zsso {

// Encodes everything but RFC 3986 unreserved characters.
std::string percent_encode(std::string_view s);
// Decodes %XX (and '+' as space when form is true); nullopt on a broken escape.
std::optional<std::string> percent_decode(std::string_view s, bool form);

// A form can carry a password: the vector's storage is wiped whenever it is
// given back (growing included), since the bytes of short values live in it
// (std::string's in-object buffer). Callers wipe the values when done.
using FormField = std::pair<std::string, std::string>;
using FormFields = std::vector<FormField, CleansingAllocator<FormField>>;
// Parses "a=1&b=2" (query strings and urlencoded bodies). nullopt on a broken
// escape or more than max_fields fields; what was decoded is wiped then. Each
// value is decoded in place, never through a temporary.
std::optional<FormFields> parse_form(std::string_view s, std::size_t max_fields = 64);
// First value of key, if any.
const std::string* form_get(const FormFields& f, std::string_view key);
// Number of occurrences of key (repeated parameters are refused by callers).
std::size_t form_count(const FormFields& f, std::string_view key);

}  // namespace zsso
