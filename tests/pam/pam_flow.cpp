// SPDX-License-Identifier: BSD-3-Clause
// pam_flow SERVICE USER [RHOST]: one sign-in on real libpam, the way the CGI
// and the broker run it: authenticate -> acct_mgmt -> setcred(ESTABLISH) ->
// pam_getenv("ZENDESK_JWT") -> setcred(DELETE). The password comes from
// stdin. Prints one "step: result" line per step and "ZENDESK_JWT=<token>";
// exits 0 only when every step succeeded and the token was removed again.
// Options: --no-auth skips pam_authenticate (REMOTE_USER mode),
//          --flags=N passes N to the establishing pam_setcred.
#include <security/pam_appl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

namespace {

// Answers every echo-off prompt with the password; strdup'd as libpam frees it.
int converse(int n, const pam_message** msg, pam_response** resp, void* data) {
  auto* password = static_cast<const std::string*>(data);
  auto* replies = static_cast<pam_response*>(std::calloc(static_cast<std::size_t>(n), sizeof(pam_response)));
  if (!replies) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
      replies[i].resp = ::strdup(password->c_str());
  }
  *resp = replies;
  return PAM_SUCCESS;
}

bool step(pam_handle_t* pamh, const char* name, int rc) {
  std::cout << name << ": " << pam_strerror(pamh, rc) << "\n";
  return rc == PAM_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
  bool authenticate = true;
  int establish_flags = PAM_ESTABLISH_CRED;
  int positional = 0;
  const char* args[3] = {nullptr, nullptr, nullptr};
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--no-auth") authenticate = false;
    else if (a.starts_with("--flags=")) establish_flags = std::atoi(argv[i] + 8);
    else if (positional < 3) args[positional++] = argv[i];
  }
  if (positional < 2) {
    std::cerr << "usage: pam_flow [--no-auth] [--flags=N] SERVICE USER [RHOST] < password\n";
    return 2;
  }
  std::string password;
  std::getline(std::cin, password);

  pam_conv conv{converse, &password};
  pam_handle_t* pamh = nullptr;
  int rc = pam_start(args[0], args[1], &conv, &pamh);
  if (rc != PAM_SUCCESS) {
    std::cout << "pam_start: " << rc << "\n";
    return 1;
  }
  bool ok = true;
  if (args[2]) ok = step(pamh, "set_item", pam_set_item(pamh, PAM_RHOST, args[2]));
  if (ok && authenticate) ok = step(pamh, "authenticate", rc = pam_authenticate(pamh, 0));
  if (ok) ok = step(pamh, "acct_mgmt", rc = pam_acct_mgmt(pamh, 0));
  if (ok) ok = step(pamh, "setcred", rc = pam_setcred(pamh, establish_flags));
  if (ok) {
    const char* token = pam_getenv(pamh, "ZENDESK_JWT");
    std::cout << "ZENDESK_JWT=" << (token ? token : "") << "\n";
    ok = token != nullptr;
    if (ok) ok = step(pamh, "delete", rc = pam_setcred(pamh, PAM_DELETE_CRED));
    if (ok) {
      bool gone = pam_getenv(pamh, "ZENDESK_JWT") == nullptr;
      std::cout << "after delete: " << (gone ? "unset" : "still set") << "\n";
      ok = gone;
    }
  }
  pam_end(pamh, rc);
  return ok ? 0 : 1;
}
