// SPDX-License-Identifier: BSD-3-Clause
#include "check_webauthn.hpp"

#include <fstream>
#include <sstream>

#include "zsso/text.hpp"

namespace zsso::cli {

namespace {

// Where the shipped stack with the key holders' skip line is (admin guide, "Security keys").
constexpr const char* kWebauthnStack = "/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-webauthn";
constexpr const char* kSkipLine = "auth [success=2 default=ignore] pam_exec.so quiet /usr/bin/printenv ZSSO_WEBAUTHN";
// Modules that ask a one-time code on a page of their own.
constexpr const char* kCodeModules[] = {"pam_oath.so", "pam_google_authenticator.so", "pam_totp.so"};

std::string read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

bool is_public_suffix(std::string_view host, std::string_view list) {
  const auto dot = host.find('.');
  const std::string_view parent = dot == std::string_view::npos ? std::string_view() : host.substr(dot + 1);
  bool wildcard = false;
  for (std::size_t start = 0; start < list.size();) {
    std::size_t end = std::min(list.find('\n', start), list.size());
    std::string_view rule = list.substr(start, end - start);
    start = end + 1;
    if (auto space = rule.find_first_of(" \t\r"); space != std::string_view::npos) rule = rule.substr(0, space);
    if (rule.empty() || rule.starts_with("//")) continue;
    if (rule == host) return true;
    if (rule.starts_with('!') && rule.substr(1) == host) return false;
    if (!parent.empty() && rule.starts_with("*.") && rule.substr(2) == parent) wildcard = true;
  }
  return wildcard;
}

void check_webauthn(const Config& c, const std::string& who, const std::string& config_path,
                    std::vector<std::string>& problems, std::vector<std::string>& warnings) {
  const WebauthnConfig& w = c.webauthn;
  if (!w.enabled()) return;
  // The parser made sure every origin is on rp_id: the first one's host is always a right rp_id.
  const std::string example =
      w.origins.empty() ? "sso.example.com" : webauthn_origin_host(w.origins.front()).value_or("sso.example.com");
  const std::string set_rp_id = "edit " + config_path + ": \"rp_id\": \"" + example +
                                "\" (the sign-in page's host, or a parent domain of it that is yours)";
  if (w.rp_id.find('.') == std::string::npos && w.rp_id != "localhost")
    problems.push_back(who + "webauthn.rp_id: \"" + w.rp_id + "\" is a top-level domain: browsers refuse a key for it\n"
                       "  fix: " + set_rp_id);
  else if (std::string list = read_text(kPublicSuffixList); !list.empty() && is_public_suffix(w.rp_id, list))
    problems.push_back(who + "webauthn.rp_id: \"" + w.rp_id + "\" is a public suffix (" + kPublicSuffixList +
                       "), a name anyone may register under: browsers refuse a key for it\n  fix: " + set_rp_id);
  if (w.rp_id == "localhost")
    warnings.push_back(who + "webauthn.rp_id: \"localhost\" is for tests and demos: only a browser on the broker's "
                             "own machine can use a key, and a key enrolled for it works under no other name\n"
                             "  fix: edit " + config_path + ": the sign-in page's host as rp_id and https://HOST "
                             "in origins");
  if (c.broker.socket.empty())
    problems.push_back(who + "webauthn: direct mode (broker.socket is empty) cannot ask for a key, so it refuses every "
                             "password sign-in while webauthn.rp_id is set\n  fix: run zendesk-sso-authd and set "
                             "broker.socket (admin guide, \"Broker mode\"), or remove the webauthn section");
  if (w.user_verification == WebauthnConfig::Verification::discouraged)
    warnings.push_back(who + "webauthn.user_verification: \"discouraged\": keys are asked not to check their PIN or "
                             "fingerprint, so whoever holds a key and knows the password signs in (a key enrolled "
                             "with +verification or +pin is still checked)\n  fix: edit " + config_path +
                       ": \"user_verification\": \"preferred\" (the default), or \"required\" (every key needs a "
                       "PIN or biometrics)");
}

std::string webauthn_stack_warning(const Config& c, const std::string& path, const std::string& stack) {
  if (!c.webauthn.enabled() || stack.find("ZSSO_WEBAUTHN") != std::string::npos) return {};
  for (const char* module : kCodeModules)
    if (stack.find(module) != std::string::npos)
      return "pam.service: " + path + " asks a one-time code (" + module + ") and never tests ZSSO_WEBAUTHN: a key "
             "holder is asked for the code, then for the key\n  fix: before " + module +
             "'s line, one that skips the code's lines for key holders, e.g. " + kSkipLine + " (the whole stack: " +
             kWebauthnStack + ")";
  return {};
}

}  // namespace zsso::cli
