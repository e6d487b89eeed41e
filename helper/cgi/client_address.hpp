// SPDX-License-Identifier: BSD-3-Clause
// Who is asking: REMOTE_ADDR, or — only when REMOTE_ADDR is a trusted proxy —
// the right-most X-Forwarded-For hop that is not itself a trusted proxy.
#pragma once

#include <string>
#include <string_view>

#include "zsso/cidr.hpp"
#include "zsso/result.hpp"

namespace zsso::cgi {

struct ClientAddress {
  IpAddress address;
  std::string text;        // normalised, for PAM_RHOST and logs
  bool via_proxy = false;  // taken from X-Forwarded-For
};

// Error when REMOTE_ADDR is not an address, or when a trusted proxy sent an
// X-Forwarded-For hop that is not one (no guessing: that is a 400).
Result<ClientAddress> resolve_client_address(std::string_view remote_addr, std::string_view forwarded_for,
                                             const CidrSet& trusted_proxies);

}  // namespace zsso::cgi
