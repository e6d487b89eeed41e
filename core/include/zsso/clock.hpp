// SPDX-License-Identifier: BSD-3-Clause
// Is this host's clock kept by NTP? Zendesk refuses a token whose iat is more
// than 3 minutes off its own clock, so `zendesk-sso check` and the CGI's
// /health ask the kernel: adjtimex(2) with modes 0 reads its synchronisation
// status, needs no privilege and is libc alone (the CGI links nothing more).
// Not the broker: its unit has ProtectClock=yes, and it answers no admin.
#pragma once

#include <string>

namespace zsso {

enum class ClockSync { synchronised, unsynchronised, unknown };

struct ClockStatus {
  ClockSync sync = ClockSync::unknown;
  std::string detail;   // the kernel's words: "STA_UNSYNC", "adjtimex: Operation not permitted"
};

// The kernel's answer to ntp_adjtime() with modes 0, classified: state is its
// return value (TIME_OK … TIME_ERROR, or -1 with err), status its STA_* bits.
// Apart from the call so that a unit test gives it every answer.
ClockStatus classify_clock(int state, int err, int status);

// Asks the kernel now (ntp_adjtime, modes 0: read-only).
ClockStatus system_clock_status();

// For the admin: empty when synchronised; else what is wrong, Zendesk's
// 3-minute window and what to do about it.
std::string clock_warning(const ClockStatus& s);

}  // namespace zsso
