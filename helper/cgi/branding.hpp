// SPDX-License-Identifier: BSD-3-Clause
// The configured logo as a data: URL (issue 17.3). Inlined rather than
// served by a route of its own: the CGI keeps two routes and no static file
// handling (types, caching, ranges), the CSP gains only img-src data:, and a
// logo of at most kMaxLogo bytes costs each page one small read.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "zsso/result.hpp"

namespace zsso::cgi {

inline constexpr std::size_t kMaxLogo = 64 * 1024;

// The image type from the file's first bytes (never from its name): PNG,
// JPEG, GIF, WebP, or SVG (an XML document whose root is <svg>; scripts in
// an SVG shown by <img> never run). "" when it is none of them.
std::string_view sniff_image_type(std::string_view bytes);

// Reads path (read_trusted_file's checks, at most kMaxLogo bytes) and returns
// "data:TYPE;base64,…", or an error naming the path and the problem.
Result<std::string> logo_data_url(const std::string& path);

}  // namespace zsso::cgi
