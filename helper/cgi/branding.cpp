// SPDX-License-Identifier: BSD-3-Clause
#include "branding.hpp"

#include "zsso/base64url.hpp"
#include "zsso/files.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

std::string_view sniff_image_type(std::string_view b) {
  auto starts = [&](std::string_view p, std::size_t at = 0) { return b.size() >= at + p.size() && b.substr(at, p.size()) == p; };
  if (starts("\x89PNG\r\n\x1a\n")) return "image/png";
  if (starts("\xff\xd8\xff")) return "image/jpeg";
  if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
  if (starts("RIFF") && starts("WEBP", 8)) return "image/webp";
  // SVG: optional BOM, then whitespace, XML declaration, comments or a
  // doctype before the root element, which must be <svg.
  std::string_view s = b;
  if (s.substr(0, 3) == "\xef\xbb\xbf") s.remove_prefix(3);
  while (true) {
    s = trim(s);
    if (s.substr(0, 2) == "<?" || s.substr(0, 4) == "<!--" || s.substr(0, 2) == "<!") {
      std::string_view end = s.substr(0, 4) == "<!--" ? "-->" : ">";
      auto at = s.find(end);
      if (at == std::string_view::npos) return {};
      s.remove_prefix(at + end.size());
      continue;
    }
    break;
  }
  if (s.substr(0, 4) == "<svg" && s.size() > 4 && (s[4] == ' ' || s[4] == '>' || s[4] == '\n' || s[4] == '\t' || s[4] == '\r'))
    return "image/svg+xml";
  return {};
}

Result<std::string> logo_data_url(const std::string& path) {
  auto bytes = read_trusted_file(path, TrustedFileRules{kMaxLogo, true});
  if (!bytes) return Error{bytes.error()};
  const std::string_view type = sniff_image_type(*bytes);
  if (type.empty()) return Error{path + ": not a PNG, JPEG, GIF, WebP or SVG image"};
  std::string out = "data:" + std::string(type) + ";base64,";
  base64_encode_append(out, reinterpret_cast<const unsigned char*>(bytes->data()), bytes->size());
  return out;
}

}  // namespace zsso::cgi
