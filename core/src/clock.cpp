// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/clock.hpp"

#include <sys/timex.h>

#include <cerrno>

#include "zsso/text.hpp"

namespace zsso {

ClockStatus classify_clock(int state, int err, int status) {
  if (state < 0) return {ClockSync::unknown, "adjtimex: " + errno_text(err)};
  // TIME_ERROR: the kernel's own verdict (STA_UNSYNC, set at boot and again
  // when no NTP client has disciplined the clock for a while, or
  // STA_CLOCKERR); the bits say which, for the admin.
  if (state == TIME_ERROR || (status & (STA_UNSYNC | STA_CLOCKERR)) != 0) {
    std::string bits;
    if (status & STA_UNSYNC) bits = "STA_UNSYNC";
    if (status & STA_CLOCKERR) bits += bits.empty() ? "STA_CLOCKERR" : ", STA_CLOCKERR";
    return {ClockSync::unsynchronised, bits.empty() ? "TIME_ERROR" : bits};
  }
  return {ClockSync::synchronised, {}};
}

ClockStatus system_clock_status() {
  struct timex tx {};   // modes 0: only read
  const int state = ::ntp_adjtime(&tx);
  return classify_clock(state, errno, tx.status);
}

std::string clock_warning(const ClockStatus& s) {
  static constexpr const char* kWindow =
      "Zendesk refuses a token whose iat is more than 3 minutes off its own clock (\"Invalid iat\", cause clock-skew)";
  switch (s.sync) {
    case ClockSync::synchronised:
      return {};
    case ClockSync::unsynchronised:
      return "the system clock is not synchronised (the kernel's adjtimex status: " + s.detail + "): " + kWindow +
             "; turn on an NTP client: timedatectl set-ntp true (package systemd-timesyncd), or apt install chrony";
    case ClockSync::unknown:
      break;
  }
  return "cannot tell whether the system clock is synchronised (" + s.detail + "): " + kWindow +
         "; make sure an NTP client runs (timedatectl status, or chronyc tracking)";
}

}  // namespace zsso
