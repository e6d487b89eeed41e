// SPDX-License-Identifier: BSD-3-Clause
// CSRF protection without a key: the model of OWASP's CSRF cheat sheet and
// Go 1.25's net/http CrossOriginProtection, in two independent layers.
//
// 1. Where the browser says the POST came from (cross_site_refusal): a
//    Sec-Fetch-Site header other than "same-origin" or "none" (typed in, a
//    bookmark) is refused; without it, an Origin header other than this
//    site's own origin is refused; with neither (old browsers, curl) the
//    request is not cross-site as far as anyone can tell. Every current
//    browser sends Sec-Fetch-Site on a form POST and no page can suppress or
//    forge it, so a cross-site form never gets past this line.
// 2. A random double-submit token: 32 bytes from getrandom(2), base64url,
//    in a cookie (Max-Age = kCsrfLifetimeSeconds, HttpOnly, SameSite=Strict)
//    and in the form's hidden field; a POST passes only when the field is
//    well-formed and equal to the one cookie value sent. A cross-site page
//    can neither read our cookie nor, over HTTPS, write it: the "__Host-"
//    prefix makes the browser accept it only with Secure, Path=/ and no
//    Domain, so no sibling subdomain and no plain-HTTP page can plant a value
//    it knows. Over plain HTTP a sibling host (Domain=) or a page on another
//    path can plant a twin beside ours; the browser then sends both, so two
//    different values are refused rather than either one accepted.
//
// Nothing is signed: the token's only job is to be a value the attacker's
// page cannot know or set, so no key, no clock and no OpenSSL are needed, and
// any number of hosts behind a balancer agree without sharing anything.
// Clients that are not browsers (curl, scripts) set any cookie they like,
// but they are not CSRF victims: they send only their own credentials.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/result.hpp"

namespace zsso::cgi {

inline constexpr std::int64_t kCsrfLifetimeSeconds = 600;   // the cookie's Max-Age
inline constexpr std::size_t kCsrfTokenBytes = 32;
inline constexpr std::size_t kCsrfTokenChars = 43;           // base64url, no padding

enum class CsrfCheck { ok, missing, mismatch, malformed, several };
const char* to_string(CsrfCheck c);

// A fresh token: kCsrfTokenBytes from getrandom(2), base64url.
Result<std::string> new_csrf_token();

// What new_csrf_token makes: kCsrfTokenChars of the base64url alphabet with
// no stray trailing bits.
bool is_csrf_token(std::string_view token);

// Both halves of the double submit: the form value must be well-formed and
// equal (compared in constant time) to the cookie's value. Several values
// (the browser sends every cookie of the name it holds, from any path or
// Domain) pass only when all are that value; different ones are "several".
CsrfCheck check_csrf(const std::vector<std::string_view>& cookie_values, std::string_view form_value);

// Layer 1 as a pure function. own_origin is this site's
// "scheme://host[:port]" (own_origin() in request.hpp); an Origin must name
// its host[:port], whatever its scheme. "" when allowed,
// else what refused it, for the log.
std::string cross_site_refusal(std::string_view sec_fetch_site, std::string_view origin, std::string_view own_origin);

}  // namespace zsso::cgi
