// SPDX-License-Identifier: BSD-3-Clause
// /health: a load balancer's question, answered in one word.
#include <syslog.h>

#include <algorithm>

#include "client_address.hpp"
#include "handler.hpp"
#include "zsso/clock.hpp"
#include "zsso/policy.hpp"

namespace zsso::cgi {

// A load balancer's question: can this host sign people in? 200 when the
// config loads and (broker mode) the broker answers a ping; else 503. The
// body is one word either way; the reason goes to the log only.
// An unsynchronised clock is said in the same line, as a warning: Zendesk
// refuses tokens more than 3 minutes off, and monitoring is where an admin
// looks. The answer stays: the clock may still be right.
Response Handler::health_answer(int status, std::string log) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = status == 200 ? "ok\n" : "unavailable\n";
  r.log_priority = status == 200 ? LOG_DEBUG : LOG_ERR;
  if (const ClockStatus clock = system_clock_status(); clock.sync == ClockSync::unsynchronised) {
    log += (log.empty() ? "" : "; ") + clock_warning(clock);
    r.log_priority = std::min(r.log_priority, LOG_WARNING);
  }
  r.log_message = std::to_string(status) + " health" + (log.empty() ? "" : ": " + log);
  return r;
}

Response Handler::health() {
  if (auto loaded = load_config(); !loaded) return health_answer(503, loaded.error());
  auto client = resolve_client_address(req_.remote_addr, req_.forwarded_for, cfg_.network.trusted_proxies);
  if (client) client_ = client->text;
  if (!cfg_.helper.health_from_anywhere) {
    if (!client) return bad_request(client.error());
    if (Decision d = check_address(cfg_.network, client_); !d.allowed())
      return outside_ranges("403 health: " + d.reason);
  }
  if (!cfg_.broker.socket.empty())
    if (auto pong = broker_ping(cfg_); !pong) return health_answer(503, pong.error());
  return health_answer(200, {});
}

}  // namespace zsso::cgi
