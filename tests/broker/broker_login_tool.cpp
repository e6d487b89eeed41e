// SPDX-License-Identifier: BSD-3-Clause
// Test driver: one sign_in() the way the CGI makes it, printed as JSON.
//   broker_login_tool --config FILE [--socket PATH | --direct] --user U
//                     [--address A] [--profile P] [--remote-user] [--request-id R]
//                     [--binding B]
//   broker_login_tool --config FILE [--socket PATH] --ping
//                     broker_ping(): {"status": "ok"} or {"status": "error", "detail": ...}
// The password is the first line of stdin. --socket overrides broker.socket;
// --direct clears it (in-process PAM). A multi-step sign-in (status prompt)
// is answered from the next lines of stdin, one per prompt, through
// broker_continue with the same binding (default "test-binding"); every
// page asked is in "pages". Exit 0 whenever an outcome was printed.
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "login.hpp"
#include "zsso/config.hpp"

namespace {

std::string_view status_name(zsso::LoginStatus s) {
  switch (s) {
    case zsso::LoginStatus::ok: return "ok";
    case zsso::LoginStatus::bad_login: return "bad_login";
    case zsso::LoginStatus::not_allowed: return "not_allowed";
    case zsso::LoginStatus::unavailable: return "unavailable";
    case zsso::LoginStatus::error: return "error";
    case zsso::LoginStatus::prompt: return "prompt";
    case zsso::LoginStatus::gone: return "gone";
    case zsso::LoginStatus::busy: return "busy";
    case zsso::LoginStatus::limited: return "limited";
    case zsso::LoginStatus::password_expired: return "password_expired";
  }
  return "?";
}

nlohmann::json messages_json(const std::vector<zsso::broker::Message>& messages) {
  nlohmann::json out = nlohmann::json::array();
  static const char* kinds[] = {"?", "echo_off", "echo_on", "info", "error"};
  for (const auto& m : messages) out.push_back({kinds[static_cast<int>(m.kind)], m.text});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config, socket, profile;
  bool direct = false, ping = false;
  zsso::LoginRequest req;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--config") config = next();
    else if (a == "--socket") socket = next();
    else if (a == "--direct") direct = true;
    else if (a == "--ping") ping = true;
    else if (a == "--user") req.user = next();
    else if (a == "--address") req.client_address = next();
    else if (a == "--profile") profile = next();
    else if (a == "--remote-user") req.password_checked_by_web_server = true;
    else if (a == "--request-id") req.request_id = next();
    else if (a == "--binding") req.binding = next();
    else {
      std::fprintf(stderr, "broker_login_tool: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  auto cfg = zsso::load_config(config, profile);
  if (!cfg) {
    std::fprintf(stderr, "broker_login_tool: %s\n", cfg.error().c_str());
    return 2;
  }
  req.profile = profile;
  if (direct) cfg->broker.socket.clear();
  else if (!socket.empty()) cfg->broker.socket = socket;

  if (ping) {
    auto pong = zsso::broker_ping(*cfg);
    nlohmann::json j = {{"status", pong ? "ok" : "error"}, {"detail", pong ? "" : pong.error()}};
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::string line;
  std::getline(std::cin, line);
  req.password.assign(line.begin(), line.end());
  if (req.binding.empty()) req.binding = "test-binding";
  zsso::LoginOutcome out = zsso::sign_in(*cfg, req);
  nlohmann::json pages = nlohmann::json::array();
  while (out.status == zsso::LoginStatus::prompt) {
    pages.push_back(messages_json(out.messages));
    zsso::ContinueRequest cr;
    cr.conversation = out.conversation;
    cr.binding = req.binding;
    cr.step = out.step;
    cr.client_address = req.client_address;
    cr.request_id = req.request_id;
    for (const auto& m : out.messages) {
      if (!m.is_prompt()) continue;
      if (!std::getline(std::cin, line)) line.clear();
      cr.answers.emplace_back(line.begin(), line.end());
    }
    out = zsso::broker_continue(*cfg, cr);
  }
  nlohmann::json j = {{"status", status_name(out.status)}, {"token", out.token}, {"detail", out.detail},
                      {"pages", pages}, {"messages", messages_json(out.messages)}};
  std::cout << j.dump() << "\n";
  return 0;
}
