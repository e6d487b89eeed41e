// SPDX-License-Identifier: BSD-3-Clause
// A sign-in decision as an audit event (issue 24.2): the same fields
// whichever process decided it (the CGI, the broker child, the broker's
// listener), written once, by that process. The metrics count the same
// Way x Outcome pairs (metrics.hpp), so the names live here only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/config.hpp"

namespace zsso::audit {

// How the person tried to sign in.
enum class Way : std::uint8_t {
  unknown,       // not known where it was decided (the listener's "busy", a GET from outside the ranges)
  password,      // the sign-in form: user name and password
  multi_step,    // the stack asked more than the password (a conversation)
  session,       // a session cookie from an earlier sign-in
  remote_user,   // the web server authenticated the person (REMOTE_USER)
  key,           // the broker's conversation reached a security key's step (issue 23): its decision is the key's
};
inline constexpr std::size_t kWays = 6;

// What was decided.
enum class Outcome : std::uint8_t {
  signed_in,         // a token was minted and delivered
  bad_login,         // wrong password, unknown account, or refused after the password (never told apart)
  not_allowed,       // refused by policy without a password (REMOTE_USER, session): groups, uid, ranges in PAM
  outside_ranges,    // the client address is outside network.ip_ranges (the CGI)
  throttled,         // too many failures from this address (the broker's store): answered as a bad login
  busy,              // broker.max_sign_ins sign-ins are running already
  password_expired,  // a new password is needed and was not set here
  csrf,              // the form's CSRF check failed (the CGI)
  unavailable,       // the broker is down or PAM misconfigured
  abandoned,         // a conversation ended without an answer (timed out, browser gone)
  error,             // anything else
};
inline constexpr std::size_t kOutcomes = 11;

std::string_view name(Way w);
std::string_view name(Outcome o);
inline constexpr std::array<Way, kWays> kAllWays{Way::unknown, Way::password, Way::multi_step, Way::session,
                                                 Way::remote_user, Way::key};
inline constexpr std::array<Outcome, kOutcomes> kAllOutcomes{
    Outcome::signed_in,   Outcome::bad_login, Outcome::not_allowed, Outcome::outside_ranges,
    Outcome::throttled,   Outcome::busy,      Outcome::password_expired, Outcome::csrf,
    Outcome::unavailable, Outcome::abandoned, Outcome::error};

struct Event {
  std::int64_t time = 0;        // seconds since the epoch
  std::string request_id;       // the CGI's, as the error page shows it ("" when none)
  Way way = Way::unknown;
  Outcome outcome = Outcome::error;
  std::string account;          // account_for_event(): the name NSS knows, or "unknown(N bytes)"; "" when none
  std::string client;           // the client's IP address ("" when not known)
  std::string profile;          // config profile ("" = base)
  std::string cause;            // why, for the admin (never a password, cookie or token)
};

// A submitted user name as an event field: the name when NSS knows the
// account (cut at 64 bytes, escaped like quote_for_log but unquoted), else
// only its length, "unknown(N bytes)" (user_for_log's rule). "" stays "".
std::string account_for_event(std::string_view user);

// The line written for a decision: message (today's syslog text) followed
// by " way=W outcome=O", or, with LogFormat::json, one JSON object with
// every field of the event and message. ident names the writer.
std::string render(const std::string& message, const Event& ev, LogFormat format, std::string_view ident);
// A line that is not a decision, in the configured format (json: time, process, message).
std::string render_plain(const std::string& message, LogFormat format, std::string_view ident, std::int64_t now);

// The journal's fields for an event (sd_journal_sendv), "ZENDESK_SSO_OUTCOME=bad_login" …,
// so `journalctl ZENDESK_SSO_OUTCOME=bad_login` finds it. Empty fields are left out.
std::vector<std::string> journal_fields(const Event& ev);

// ISO 8601 UTC with a Z, "2026-12-07T01:22:03Z".
std::string utc_time(std::int64_t t);

}  // namespace zsso::audit
