// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/html.hpp"

namespace zsso {

void html_escape_append(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

std::string html_escape(std::string_view s) {
  std::string out;
  html_escape_append(out, s);
  return out;
}

}  // namespace zsso
