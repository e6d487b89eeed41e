// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/audit.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

#include "zsso/account.hpp"

namespace zsso::audit {

std::string_view name(Way w) {
  switch (w) {
    case Way::unknown: return "unknown";
    case Way::password: return "password";
    case Way::multi_step: return "multi_step";
    case Way::session: return "session";
    case Way::remote_user: return "remote_user";
    case Way::key: return "key";
  }
  return "unknown";
}

std::string_view name(Outcome o) {
  switch (o) {
    case Outcome::signed_in: return "signed_in";
    case Outcome::bad_login: return "bad_login";
    case Outcome::not_allowed: return "not_allowed";
    case Outcome::outside_ranges: return "outside_ranges";
    case Outcome::throttled: return "throttled";
    case Outcome::busy: return "busy";
    case Outcome::password_expired: return "password_expired";
    case Outcome::csrf: return "csrf";
    case Outcome::unavailable: return "unavailable";
    case Outcome::abandoned: return "abandoned";
    case Outcome::error: return "error";
  }
  return "error";
}

std::string account_for_event(std::string_view user) {
  if (user.empty()) return {};
  std::string logged = user_for_log(user);
  // Known accounts come quoted ("alice"): the field needs no quotes.
  if (logged.size() >= 2 && logged.front() == '"') {
    std::size_t close = logged.rfind('"');
    return logged.substr(1, close - 1) + logged.substr(close + 1);
  }
  return logged;
}

std::string utc_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  char buf[32];
  if (!::gmtime_r(&tt, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "-";
  return buf;
}

namespace {

std::string dump(const nlohmann::json& j) {
  // Invalid UTF-8 (never expected: the fields are escaped) is replaced, not thrown.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string render(const std::string& message, const Event& ev, LogFormat format, std::string_view ident) {
  if (format == LogFormat::text)
    return message + " way=" + std::string(name(ev.way)) + " outcome=" + std::string(name(ev.outcome));
  nlohmann::json j;
  j["time"] = utc_time(ev.time);
  j["process"] = ident;
  j["request_id"] = ev.request_id;
  j["way"] = name(ev.way);
  j["outcome"] = name(ev.outcome);
  j["account"] = ev.account;
  j["client"] = ev.client;
  j["profile"] = ev.profile;
  j["cause"] = ev.cause;
  j["message"] = message;
  return dump(j);
}

std::string render_plain(const std::string& message, LogFormat format, std::string_view ident, std::int64_t now) {
  if (format == LogFormat::text) return message;
  nlohmann::json j;
  j["time"] = utc_time(now);
  j["process"] = ident;
  j["message"] = message;
  return dump(j);
}

std::vector<std::string> journal_fields(const Event& ev) {
  std::vector<std::string> f;
  f.push_back("ZENDESK_SSO_WAY=" + std::string(name(ev.way)));
  f.push_back("ZENDESK_SSO_OUTCOME=" + std::string(name(ev.outcome)));
  auto add = [&f](const char* key, const std::string& v) {
    if (!v.empty()) f.push_back(std::string("ZENDESK_SSO_") + key + "=" + v);
  };
  add("REQUEST_ID", ev.request_id);
  add("ACCOUNT", ev.account);
  add("CLIENT", ev.client);
  add("PROFILE", ev.profile);
  add("CAUSE", ev.cause);
  return f;
}

}  // namespace zsso::audit
