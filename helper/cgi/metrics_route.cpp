// SPDX-License-Identifier: BSD-3-Clause
// /metrics: the counter files summed, in Prometheus' text format 0.0.4
// (issue 24.1). Files only: a scrape never reaches the broker, so it never
// takes a sign-in slot.
#include <syslog.h>

#include "client_address.hpp"
#include "handler.hpp"
#include "zsso/metrics.hpp"
#include "zsso/policy.hpp"

namespace zsso::cgi {

// Limited like /health: metrics.scrapers when set, else network.ip_ranges.
Response Handler::metrics() {
  if (auto loaded = load_config(); !loaded) return server_error(500, loaded.error());
  if (!cfg_.metrics.enabled) return not_found();
  auto client = resolve_client_address(req_.remote_addr, req_.forwarded_for, cfg_.network.trusted_proxies);
  if (!client) return bad_request(client.error());
  client_ = client->text;
  if (!cfg_.metrics.scrapers.empty()) {
    auto addr = parse_ip(client_);
    if (!addr || !cfg_.metrics.scrapers.contains(*addr))
      return outside_ranges("403 metrics: client address " + client_ + " is not in metrics.scrapers");
  } else if (Decision d = check_address(cfg_.network, client_); !d.allowed()) {
    return outside_ranges("403 metrics: " + d.reason);
  }
  std::vector<std::string> others;
  if (!cfg_.metrics.cgi_file.empty()) others.push_back(cfg_.metrics.cgi_file);
  const std::string broker = cfg_.broker.socket.empty() ? std::string() : broker_metrics_file(cfg_.broker.socket);
  Response r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics::exposition(metrics::read(broker, others, cfg_.metrics.sync_file), cfg_.profile_names);
  r.log_priority = LOG_DEBUG;
  r.log_message = "200 metrics";
  return r;
}

}  // namespace zsso::cgi
