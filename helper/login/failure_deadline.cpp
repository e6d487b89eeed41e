// SPDX-License-Identifier: BSD-3-Clause
#include "failure_deadline.hpp"

#include <cerrno>
#include <ctime>

#include "zsso/random.hpp"

namespace zsso {

FailureDeadline::Hooks FailureDeadline::system() {
  Hooks h;
  h.now = [] { return Clock::now(); };
  h.sleep_until = [](Clock::time_point until) {
    // CLOCK_MONOTONIC is steady_clock's clock on Linux; an absolute sleep
    // survives signals (EINTR) without drifting.
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until.time_since_epoch()).count();
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
  };
  h.random_below = [](std::uint32_t bound, std::uint32_t& out) {
    if (bound == 0) return out = 0, true;
    // Rejection sampling: no modulo bias, so every value is equally likely.
    const std::uint32_t limit = UINT32_MAX - UINT32_MAX % bound;
    for (int i = 0; i < 64; ++i) {
      std::uint32_t r = 0;
      if (!random_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r)) return false;
      if (r < limit) return out = r % bound, true;
    }
    return false;
  };
  return h;
}

std::string FailureDeadline::Answered::describe() const {
  std::string out = random_failed ? "; getrandom failed: the jitter was a constant" : "";
  if (off)
    return out + "; answered " + std::to_string(after.count()) +
           " ms after the request, no failure deadline (broker.failure_delay_ms is 0)";
  if (overran)
    return out + "; answered " + std::to_string(after.count()) + " ms after the request, " +
           std::to_string(overrun.count()) +
           " ms past the failure deadline: its time may tell what the PAM stack did; raise "
           "broker.failure_delay_ms above the slowest refusal";
  return out + "; answered at the failure deadline, " + std::to_string(after.count()) + " ms after the request";
}

FailureDeadline::FailureDeadline(std::chrono::milliseconds delay, Hooks hooks)
    : delay_(delay < std::chrono::milliseconds::zero() ? std::chrono::milliseconds::zero() : delay),
      hooks_(std::move(hooks)) {}

FailureDeadline::Answered FailureDeadline::wait(Clock::time_point start) const {
  Answered out;
  if (delay_ == std::chrono::milliseconds::zero()) {   // off: answered as soon as known
    out.off = true;
    out.after = std::chrono::floor<std::chrono::milliseconds>(hooks_.now() - start);
    return out;
  }
  const auto range = static_cast<std::uint32_t>(jitter_range().count());
  std::uint32_t jitter = 0;
  if (range > 0 && !hooks_.random_below(range, jitter)) {
    out.random_failed = true;
    jitter = range / 2;
  }
  const Clock::time_point at = start + delay_ + std::chrono::milliseconds(jitter);
  const Clock::time_point now = hooks_.now();
  if (now > at) {
    // The work itself (a slow hash, a slow directory) outlasted the
    // deadline. Answering at once is all that is left: this answer's time
    // is the work's, so a stopwatch may again tell refusals that reached
    // the password check (an existing account) from those that did not.
    // The caller logs it; a longer broker.failure_delay_ms closes it.
    out.overran = true;
    out.overrun = std::chrono::ceil<std::chrono::milliseconds>(now - at);
    out.after = std::chrono::floor<std::chrono::milliseconds>(now - start);
    return out;
  }
  hooks_.sleep_until(at);
  out.after = std::chrono::floor<std::chrono::milliseconds>(at - start);
  return out;
}

}  // namespace zsso
