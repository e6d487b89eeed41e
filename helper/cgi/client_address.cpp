// SPDX-License-Identifier: BSD-3-Clause
#include "client_address.hpp"

#include "zsso/text.hpp"

namespace zsso::cgi {

Result<ClientAddress> resolve_client_address(std::string_view remote_addr, std::string_view forwarded_for,
                                             const CidrSet& trusted_proxies) {
  auto peer = parse_ip(remote_addr);
  if (!peer) return Error{"REMOTE_ADDR " + quote_for_log(remote_addr) + " is not an IP address"};
  ClientAddress out{*peer, peer->to_string(), false};
  if (trusted_proxies.empty() || !trusted_proxies.contains(*peer)) return out;

  // Walk right to left: each hop was appended by the proxy before it; the
  // first one we do not trust is the client as far as we can know.
  std::string_view rest = forwarded_for;
  while (!trim(rest).empty()) {
    auto comma = rest.rfind(',');
    std::string_view hop = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    auto addr = parse_ip(hop);
    if (!addr) return Error{"X-Forwarded-For hop " + quote_for_log(hop) + " from trusted proxy " + out.text +
                            " is not an IP address"};
    out = {*addr, addr->to_string(), true};
    if (!trusted_proxies.contains(*addr)) return out;
  }
  return out;   // every hop trusted (or none): the left-most one we saw
}

}  // namespace zsso::cgi
