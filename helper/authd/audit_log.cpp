// SPDX-License-Identifier: BSD-3-Clause
#include "audit_log.hpp"

#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace zsso::authd {

namespace {

constexpr const char* kIdent = "zendesk-sso-authd";
LogFormat g_format = LogFormat::text;

// Started by systemd (the unit, or its socket): the journal is there.
// By hand (--listen, the tests) syslog only.
bool under_systemd() { return std::getenv("INVOCATION_ID") != nullptr; }

bool to_journal(int priority, const std::string& line, const audit::Event& ev) {
  std::vector<std::string> fields = audit::journal_fields(ev);
  fields.push_back("MESSAGE=" + line);
  fields.push_back("PRIORITY=" + std::to_string(priority & LOG_PRIMASK));
  fields.push_back("SYSLOG_FACILITY=" + std::to_string(LOG_AUTHPRIV >> 3));
  fields.push_back(std::string("SYSLOG_IDENTIFIER=") + kIdent);
  fields.push_back("SYSLOG_PID=" + std::to_string(::getpid()));
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (auto& f : fields) iov.push_back({f.data(), f.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

}  // namespace

void set_log_format(LogFormat format) { g_format = format; }

metrics::Writer& counters() {
  static metrics::Writer writer;
  return writer;
}

void log_event(int priority, const std::string& message, const audit::Event& event, std::size_t profile_slot,
               std::int64_t duration_ms) {
  counters().count(event, profile_slot, duration_ms);
  const std::string line = audit::render(message, event, g_format, kIdent);
  if (under_systemd() && to_journal(priority, line, event)) return;
  ::syslog(priority, "%s", line.c_str());
}

}  // namespace zsso::authd
