// SPDX-License-Identifier: BSD-3-Clause
// When a refused sign-in is answered (issue 22, points 3 and 11): by the
// broker (helper/authd/serve.cpp), and in direct mode by zendesk-sso-direct.so.
//
// Every refusal that looks like a bad login - unknown user, a policy or
// account refusal, a lock, a wrong password, a throttled pair - is answered
// at one moment: the request's start + broker.failure_delay_ms + a jitter
// drawn from getrandom(2), the same distribution whatever happened inside.
// libpam's own failure delay is replaced by this one (pam_login's
// PAM_FAIL_DELAY hook): libpam seeds its jitter with the second the
// transaction began, so two requests sent together got the same delay and
// only the work before it (the password hash, which only admitted accounts
// reach) told them apart.
//
// The clock, the sleep and the random source are injectable, so a unit
// test proves the mechanism without timing anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace zsso {

class FailureDeadline {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    std::function<Clock::time_point()> now;
    std::function<void(Clock::time_point)> sleep_until;
    // Uniform over [0, bound); false when no randomness could be had.
    std::function<bool(std::uint32_t bound, std::uint32_t& out)> random_below;
  };
  // The real clock, nanosleep and getrandom(2).
  static Hooks system();

  // delay: broker.failure_delay_ms; the jitter is uniform over [0, delay / 4).
  explicit FailureDeadline(std::chrono::milliseconds delay, Hooks hooks = system());

  struct Answered {
    std::chrono::milliseconds after{0};   // from the request's start to the answer
    // The work took longer than the deadline: the answer went at once, and
    // its time is the work's own (see wait()).
    bool overran = false;
    std::chrono::milliseconds overrun{0};
    bool random_failed = false;           // getrandom failed: the jitter was the middle of its range
    bool off = false;                     // broker.failure_delay_ms is 0: answered as soon as known
    // For the refusal's log line: "; answered at the failure deadline, N ms
    // after the request", what an overrun leaks and what to do, or that
    // there is no deadline.
    std::string describe() const;
  };
  // Sleeps until the answer to a refused request that started at `start` may go.
  Answered wait(Clock::time_point start) const;

  std::chrono::milliseconds delay() const { return delay_; }
  std::chrono::milliseconds jitter_range() const { return delay_ / 4; }

 private:
  std::chrono::milliseconds delay_;
  Hooks hooks_;
};

}  // namespace zsso
