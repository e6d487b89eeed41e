// SPDX-License-Identifier: BSD-3-Clause
#pragma once

#include <string>
#include <string_view>

namespace zsso {

// Escapes & < > " ' for text and double- or single-quoted attribute values.
std::string html_escape(std::string_view s);
void html_escape_append(std::string& out, std::string_view s);

}  // namespace zsso
