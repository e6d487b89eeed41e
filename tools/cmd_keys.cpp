// SPDX-License-Identifier: BSD-3-Clause
// keys list [USER] | keys remove USER ID-PREFIX|--all | keys invite USER
// [--minutes N]: the security keys in webauthn.authfile (pam_u2f's format,
// helper/authd/webauthn/store.hpp) and the one-time enrolment codes
// (invites.hpp). Each change is made under the store's lock, so a sign-in or
// an enrolment running meanwhile sees the old store or the new one.
#include <pwd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>

#include "cli.hpp"
#include "invites.hpp"
#include "store.hpp"
#include "zsso/text.hpp"

namespace zsso::cli {

namespace {

constexpr const char* kUsageLine =
    "zendesk-sso: usage: keys list [USER] | keys remove USER ID-PREFIX|--all | keys invite USER [--minutes N]\n";

std::string utc(std::int64_t t) {
  char out[32] = "?";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (::gmtime_r(&tt, &tm)) std::strftime(out, sizeof out, "%Y-%m-%d %H:%M UTC", &tm);
  return out;
}

// The account as the broker names it (NSS's spelling), else the name as typed.
std::string account_name(const std::string& typed) {
  if (const passwd* pw = ::getpwnam(typed.c_str()); pw && pw->pw_name) return pw->pw_name;
  return typed;
}

std::string options_of(const authfile::Credential& c) {
  std::string o;
  if (c.presence) o += "+presence";
  if (c.verification) o += "+verification";
  if (c.pin) o += "+pin";
  return o.empty() ? "-" : o;
}

int list(const std::string& path, const std::vector<std::string>& args) {
  if (args.size() > 1) {
    std::fprintf(stderr, "%s", kUsageLine);
    return kUsage;
  }
  const std::string user = args.empty() ? std::string() : account_name(args[0]);
  auto keys = authfile::list_keys(path, user);
  if (!keys) {
    std::fprintf(stderr, "zendesk-sso: webauthn.authfile: %s\n", keys.error().c_str());
    return kFail;
  }
  if (keys->empty()) {
    std::printf("no security keys%s in %s\n", user.empty() ? "" : (" of " + user).c_str(), path.c_str());
    return kOk;
  }
  std::vector<std::string> ids;
  for (const auto& k : *keys) ids.push_back(k.id);
  // Unique among every key shown, so `keys remove` takes what is printed.
  const auto shown = authfile::short_ids(ids);
  std::vector<std::vector<std::string>> rows{{"USER", "ID", "TYPE", "OPTIONS", "RESIDENT", "SIGN-COUNT", "ADDED"}};
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const auto& k = (*keys)[i];
    rows.push_back({k.user, shown[i], std::string(authfile::type_name(k.credential.type)), options_of(k.credential),
                    k.credential.resident() ? "yes" : "no", k.side ? std::to_string(k.side->sign_count) : "0",
                    k.side && k.side->added > 0 ? utc(k.side->added) : "-"});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c)
      line += c + 1 < r.size() ? r[c] + std::string(width[c] - r[c].size() + 2, ' ') : r[c];
    std::printf("%s\n", line.c_str());
  }
  return kOk;
}

int remove(const std::string& path, const ParsedArgs& args) {
  const bool all = args.has("--all");
  if (args.positional.size() != (all ? 1u : 2u)) {
    std::fprintf(stderr, "%s", kUsageLine);
    return kUsage;
  }
  const std::string user = account_name(args.positional[0]);
  authfile::KeySelector which{all, all ? std::string() : args.positional[1]};
  auto removed = authfile::remove_keys(path, user, which);
  if (!removed) {
    std::fprintf(stderr, "zendesk-sso: keys remove: %s\n", removed.error().c_str());
    return kUsage;  // nothing changed: a name or an id that does not fit
  }
  std::vector<std::string> ids;
  for (const auto& k : *removed) ids.push_back(k.id);
  const auto shown = authfile::short_ids(ids);  // a resident key's id is its public key: never printed whole
  for (std::size_t i = 0; i < removed->size(); ++i)
    std::printf("removed %s's %s key %s\n", user.c_str(),
                std::string(authfile::type_name((*removed)[i].credential.type)).c_str(), shown[i].c_str());
  std::printf("the sign-in sessions %s made with %s end at their next use\n", user.c_str(),
              removed->size() == 1 ? "it" : "them");
  return kOk;
}

int invite(const Config& cfg, const ParsedArgs& args) {
  if (args.positional.size() != 1) {
    std::fprintf(stderr, "%s", kUsageLine);
    return kUsage;
  }
  int minutes = authfile::kInviteDefaultMinutes;
  if (const std::string* m = args.get("--minutes")) {
    int n = 0;
    auto [end, ec] = std::from_chars(m->data(), m->data() + m->size(), n);
    if (m->empty() || ec != std::errc() || end != m->data() + m->size() || n < 1 || n > authfile::kInviteMaxMinutes) {
      std::fprintf(stderr, "zendesk-sso: --minutes %s is not a whole number from 1 to %d\n", quote_for_log(*m).c_str(),
                   authfile::kInviteMaxMinutes);
      return kUsage;
    }
    minutes = n;
  }
  const passwd* pw = ::getpwnam(args.positional[0].c_str());
  if (!pw || !pw->pw_name) {
    std::fprintf(stderr, "zendesk-sso: keys invite: no account %s\n", quote_for_log(args.positional[0]).c_str());
    return kUsage;
  }
  const std::string user = pw->pw_name;
  auto code = authfile::create_invite(cfg.webauthn.authfile, user, minutes, ::time(nullptr));
  if (!code) {
    std::fprintf(stderr, "zendesk-sso: keys invite: %s\n", code.error().c_str());
    return kFail;
  }
  std::printf("enrolment code for %s: %s\n", user.c_str(), code->text.c_str());
  std::printf("valid once, until %s (%d minute%s); a new invite for %s replaces it\n", utc(code->expires).c_str(),
              minutes, minutes == 1 ? "" : "s", user.c_str());
  if (!cfg.webauthn.enabled())
    std::fprintf(stderr, "zendesk-sso: note: webauthn.rp_id is not set: the broker enrols no key until it is\n");
  return kOk;
}

}  // namespace

int cmd_keys(const Context& ctx) {
  if (ctx.args.empty()) {
    std::fprintf(stderr, "%s", kUsageLine);
    return kUsage;
  }
  const std::string& sub = ctx.args[0];
  const std::vector<std::string> rest(ctx.args.begin() + 1, ctx.args.end());
  std::optional<ParsedArgs> args;
  if (sub == "list") args = parse_args(rest, {}, {});
  else if (sub == "remove") args = parse_args(rest, {}, {"--all"});
  else if (sub == "invite") args = parse_args(rest, {"--minutes"}, {});
  else {
    std::fprintf(stderr, "zendesk-sso: keys: unknown subcommand %s\n%s", quote_for_log(sub).c_str(), kUsageLine);
    return kUsage;
  }
  if (!args) return kUsage;
  auto cfg = load_or_report(ctx);
  if (!cfg) return kUsage;
  const std::string& path = cfg->webauthn.authfile;
  if (sub == "list") return list(path, args->positional);
  if (sub == "remove") return remove(path, *args);
  return invite(*cfg, *args);
}

}  // namespace zsso::cli
