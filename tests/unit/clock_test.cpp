// SPDX-License-Identifier: BSD-3-Clause
// The kernel's clock status, classified, and what the admin reads (clock.hpp):
// every answer ntp_adjtime can give, without touching the host's clock.
#include "zsso/clock.hpp"

#include <gtest/gtest.h>
#include <sys/timex.h>

#include <cerrno>

namespace zsso {
namespace {

TEST(Clock, DisciplinedByNtpIsSynchronisedAndSaysNothing) {
  const ClockStatus s = classify_clock(TIME_OK, 0, STA_PLL);
  EXPECT_EQ(s.sync, ClockSync::synchronised);
  EXPECT_EQ(clock_warning(s), "");
  // A leap second announced is still a synchronised clock.
  EXPECT_EQ(classify_clock(TIME_INS, 0, STA_PLL | STA_INS).sync, ClockSync::synchronised);
}

TEST(Clock, UnsyncIsNamedWithZendesksWindowAndTheFix) {
  const ClockStatus s = classify_clock(TIME_ERROR, 0, STA_UNSYNC);
  EXPECT_EQ(s.sync, ClockSync::unsynchronised);
  EXPECT_EQ(s.detail, "STA_UNSYNC");
  EXPECT_EQ(clock_warning(s),
            "the system clock is not synchronised (the kernel's adjtimex status: STA_UNSYNC): Zendesk refuses a token "
            "whose iat is more than 3 minutes off its own clock (\"Invalid iat\", cause clock-skew); turn on an NTP "
            "client: timedatectl set-ntp true (package systemd-timesyncd), or apt install chrony");
}

TEST(Clock, TheKernelsVerdictOrItsBitsEachSuffice) {
  EXPECT_EQ(classify_clock(TIME_ERROR, 0, STA_UNSYNC | STA_CLOCKERR).detail, "STA_UNSYNC, STA_CLOCKERR");
  // TIME_ERROR for a reason of its own (a PPS signal lost): the verdict stands.
  const ClockStatus pps = classify_clock(TIME_ERROR, 0, STA_PPSTIME | STA_PPSFREQ);
  EXPECT_EQ(pps.sync, ClockSync::unsynchronised);
  EXPECT_EQ(pps.detail, "TIME_ERROR");
  EXPECT_EQ(classify_clock(TIME_OK, 0, STA_UNSYNC).sync, ClockSync::unsynchronised);
}

TEST(Clock, AnUnreadableStatusIsUnknownNotSynchronised) {
  const ClockStatus s = classify_clock(-1, EPERM, 0);
  EXPECT_EQ(s.sync, ClockSync::unknown);
  EXPECT_EQ(s.detail, "adjtimex: Operation not permitted");
  EXPECT_EQ(clock_warning(s).rfind("cannot tell whether the system clock is synchronised (adjtimex: Operation not "
                                   "permitted): Zendesk refuses a token whose iat is more than 3 minutes off",
                                   0),
            0u)
      << clock_warning(s);
}

}  // namespace
}  // namespace zsso
