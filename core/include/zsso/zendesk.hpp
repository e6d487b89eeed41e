// SPDX-License-Identifier: BSD-3-Clause
// Delivering a token to Zendesk: the endpoint, return_to validation, the
// auto-submitting POST page body and the legacy GET URL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "zsso/config.hpp"
#include "zsso/result.hpp"

namespace zsso {

// https://SUBDOMAIN.zendesk.com/access/jwt (never a host-mapped domain), or
// zd.endpoint_override when a test has set one.
std::string jwt_endpoint(const ZendeskConfig& zd);
std::string zendesk_host(const ZendeskConfig& zd);   // SUBDOMAIN.zendesk.com

// Tests and the demo only: the origin of a loopback stand-in for Zendesk,
// "http://127.0.0.1:PORT" (or [::1] / localhost, http or https, no path),
// without a trailing '/'. Anything else is refused, so a stray variable can
// never send a token (JWT or API) off the host. The CGI appends /access/jwt,
// `zendesk-sso sync` /api/v2/...; both take it from
// $ZENDESK_SSO_ENDPOINT_OVERRIDE.
Result<std::string> loopback_origin(std::string_view base);

// return_to as given when it is a relative path ("/hc/...") or an https URL
// on the Zendesk host or a return_to_hosts entry; nullopt otherwise (other
// hosts, "//host", "javascript:", backslashes, control characters, userinfo,
// ports other than 443, percent-encoded hosts, more than 2048 bytes).
std::optional<std::string> validate_return_to(std::string_view return_to, const ZendeskConfig& zd);

// Legacy GET delivery: endpoint?jwt=TOKEN[&return_to=...], percent-encoded.
std::string jwt_get_url(const ZendeskConfig& zd, std::string_view jwt,
                        std::string_view return_to);

// The <form> that posts jwt (and return_to when non-empty) to the endpoint;
// every value HTML-escaped. The caller wraps it in a page and submits it.
std::string jwt_post_form(const ZendeskConfig& zd, std::string_view jwt,
                          std::string_view return_to, std::string_view form_id = "zendesk-sso",
                          std::string_view button_label = "Continue to Zendesk");

}  // namespace zsso
