// SPDX-License-Identifier: BSD-3-Clause
#include "response.hpp"

#include "zsso/base64url.hpp"
#include "zsso/sha256.hpp"

namespace zsso::cgi {

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string csp_hash(std::string_view text) { return csp_hash(sha256(text)); }

std::string csp_hash(const std::array<unsigned char, 32>& digest) {
  std::string out = "'sha256-";
  base64_encode_append(out, digest.data(), digest.size());
  out += '\'';
  return out;
}

std::string build_csp(std::string_view style_hash, std::string_view script_hash,
                      const std::vector<std::string>& form_targets, bool data_images) {
  std::string csp = "default-src 'none'";
  if (!style_hash.empty()) { csp += "; style-src "; csp += style_hash; }
  if (!script_hash.empty()) { csp += "; script-src "; csp += script_hash; }
  if (data_images) csp += "; img-src data:";
  csp += "; form-action 'self'";
  for (const auto& t : form_targets) { csp += ' '; csp += t; }
  csp += "; frame-ancestors 'none'; base-uri 'none'";
  return csp;
}

bool is_safe_header_value(std::string_view v) {
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

std::string serialize(const Response& r) {
  std::string out;
  out.reserve(r.body.size() + 512);
  auto line = [&](std::string_view name, std::string_view value) {
    if (!is_safe_header_value(value)) return;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  out += "Status: " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
  line("Content-Type", r.content_type);
  line("Cache-Control", "no-store");
  line("Content-Security-Policy", r.content_security_policy.empty() ? build_csp({}, {}, {}) : r.content_security_policy);
  line("Referrer-Policy", "no-referrer");
  line("X-Content-Type-Options", "nosniff");
  line("X-Frame-Options", "DENY");   // for browsers without CSP frame-ancestors
  for (const auto& [name, value] : r.headers) line(name, value);
  // Ours, not the web server's guess: without it Apache sends Content-Length
  // or chunked depending on how much of the body it had read when it started
  // answering, so two equal pages could differ in their headers by timing.
  line("Content-Length", std::to_string(r.body.size()));
  out += "\r\n";
  out += r.body;
  return out;
}

}  // namespace zsso::cgi
