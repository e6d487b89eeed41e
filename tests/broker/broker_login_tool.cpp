// SPDX-License-Identifier: BSD-3-Clause
// Test driver: one sign_in() the way the CGI makes it, printed as JSON.
//   broker_login_tool --config FILE [--socket PATH | --direct] --user U
//                     [--address A] [--profile P] [--remote-user] [--request-id R]
// The password is the first line of stdin. --socket overrides broker.socket;
// --direct clears it (in-process PAM). Exit 0 whenever an outcome was printed.
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
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config, socket, profile;
  bool direct = false;
  zsso::LoginRequest req;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--config") config = next();
    else if (a == "--socket") socket = next();
    else if (a == "--direct") direct = true;
    else if (a == "--user") req.user = next();
    else if (a == "--address") req.client_address = next();
    else if (a == "--profile") profile = next();
    else if (a == "--remote-user") req.password_checked_by_web_server = true;
    else if (a == "--request-id") req.request_id = next();
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

  std::string line;
  std::getline(std::cin, line);
  req.password.assign(line.begin(), line.end());
  zsso::LoginOutcome out = zsso::sign_in(*cfg, req);
  nlohmann::json j = {{"status", status_name(out.status)}, {"token", out.token}, {"detail", out.detail}};
  std::cout << j.dump() << "\n";
  return 0;
}
