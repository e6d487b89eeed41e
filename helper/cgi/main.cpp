// SPDX-License-Identifier: BSD-3-Clause
// zendesk-sso.cgi: one request per process (CGI/1.1), one syslog line per decision.
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "request.hpp"
#include "response.hpp"
#include "routes.hpp"
#include "zsso/audit.hpp"
#include "zsso/base64url.hpp"
#include "zsso/metrics.hpp"
#include "zsso/config.hpp"
#include "zsso/random.hpp"
#include "zsso/text.hpp"

namespace {

// Short and random: matches an error page to its log line, says nothing else.
std::string new_request_id() {
  unsigned char raw[6];
  if (!zsso::random_bytes(raw, sizeof raw)) return "unknown";
  std::string id;
  zsso::base64url_encode_append(id, raw, sizeof raw);
  return id;
}

bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int main() {
  // ZENDESK_SSO_LOG_STDERR=1 copies log lines to stderr (Apache's error log);
  // handy where syslog is absent, and what the tests read.
  const char* to_stderr = std::getenv("ZENDESK_SSO_LOG_STDERR");
  openlog("zendesk-sso.cgi", LOG_PID | (to_stderr && std::string(to_stderr) == "1" ? LOG_PERROR : 0), LOG_AUTHPRIV);

  zsso::cgi::Request req = zsso::cgi::request_from_environment();
  zsso::cgi::Environment env;
  env.config_path = zsso::config_path_from({});
  if (const char* ep = std::getenv("ZENDESK_SSO_ENDPOINT_OVERRIDE")) env.endpoint_override = ep;
  env.request_id = new_request_id();
  env.now = static_cast<std::int64_t>(std::time(nullptr));
  env.body_fd = STDIN_FILENO;

  zsso::cgi::Response r = zsso::cgi::handle_request(req, env);
  // The one line: today's text, with the event's fields when this process decided a sign-in.
  const std::string line = "req=" + env.request_id + " " + zsso::quote_for_log(req.method, 16) + " " +
                           zsso::quote_for_log(req.script_name + req.path_info, 120) + ": " + r.log_message;
  const std::string out = r.event ? zsso::audit::render(line, *r.event, r.log_format, "zendesk-sso.cgi")
                                  : zsso::audit::render_plain(line, r.log_format, "zendesk-sso.cgi", env.now);
  syslog(r.log_priority, "%s", out.c_str());
  // Counted where its event is written (issue 24.1): the CGI's own file.
  if (r.event && !r.metrics_file.empty()) {
    zsso::metrics::Writer counters;
    if (auto opened = counters.open(r.metrics_file); opened) counters.count(*r.event, r.profile_slot);
    else syslog(LOG_WARNING, "metrics: %s (metrics.cgi_file: a file the web server user may write)", opened.error().c_str());
  }
  zsso::cgi::discard_unread_body(req, STDIN_FILENO);
  const bool ok = write_all(STDOUT_FILENO, zsso::cgi::serialize(r));
  closelog();
  return ok ? 0 : 1;
}
