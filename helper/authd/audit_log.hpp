// SPDX-License-Identifier: BSD-3-Clause
// The broker's audit events (issue 24.2): syslog as before, and under
// systemd the journal with ZENDESK_SSO_* fields, so
// `journalctl ZENDESK_SSO_OUTCOME=bad_login` finds them.
#pragma once

#include <string>

#include "zsso/audit.hpp"
#include "zsso/config.hpp"
#include "zsso/metrics.hpp"

namespace zsso::authd {

// log.format of the configuration this process read last.
void set_log_format(LogFormat format);

// The decision line: message with the event's fields (audit::render),
// counted in the broker's counter file (issue 24.1) when it is open; with
// the sign-in's duration when duration_ms >= 0.
void log_event(int priority, const std::string& message, const audit::Event& event, std::size_t profile_slot = 0,
               std::int64_t duration_ms = -1);

// The broker's counter file: opened by the listener (metrics.enabled),
// inherited by its children.
metrics::Writer& counters();

}  // namespace zsso::authd
