// SPDX-License-Identifier: BSD-3-Clause
// Direct mode from the CGI: the PAM transaction runs in this process, but
// its code (libpam, libcrypto, pam_zendesk.so's signing) lives in
// zendesk-sso-direct.so, loaded here only when a route needs it, so the
// broker-mode CGI (the shipped default) loads neither (issue 16).
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "../direct/direct_module.h"
#include "login.hpp"
#include "zsso/files.hpp"
#include "zsso/text.hpp"

#ifndef ZSSO_DIRECT_MODULE_PATH
#error "ZSSO_DIRECT_MODULE_PATH: where zendesk-sso-direct.so is installed"
#endif

namespace zsso {

namespace {

// Beside the executable first (a build tree: build/helper/cgi/), then where
// the package installs it. Whoever can write beside the CGI can replace the
// CGI too, so the first place is no weaker than the second.
std::string module_path() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string beside(exe, static_cast<std::size_t>(n));
    beside.erase(beside.find_last_of('/') + 1);
    beside += "zendesk-sso-direct.so";
    struct stat st{};
    if (::lstat(beside.c_str(), &st) == 0) return beside;
  }
  return ZSSO_DIRECT_MODULE_PATH;
}

struct Module {
  zsso_direct_entry_fn entry = nullptr;
  zsso_direct_free_fn release = nullptr;
  std::string error;
};

// Loaded once and never unloaded: the CGI serves one request per process,
// and libpam's modules are inside it (sanitizer reports keep their frames).
const Module& module() {
  static const Module m = [] {
    Module r;
    const std::string path = module_path();
    // Code we load must be as trusted as the CGI itself. Installed (under
    // /usr, or where this build installs it) that is root's alone: a module
    // there owned by the web server's user is one the web server could
    // rewrite. The running user's own passes elsewhere only (a build tree).
    const bool installed = path.starts_with("/usr/") || path == ZSSO_DIRECT_MODULE_PATH;
    if (auto ok = check_trusted_path(path, installed ? TrustedOwner::root : TrustedOwner::root_or_running_user); !ok) {
      r.error = "direct mode module " + ok.error();
      return r;
    }
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = ::dlerror();
      r.error = "direct mode module: " + std::string(e ? e : path);
      return r;
    }
    r.entry = reinterpret_cast<zsso_direct_entry_fn>(::dlsym(h, ZSSO_DIRECT_ENTRY));
    r.release = reinterpret_cast<zsso_direct_free_fn>(::dlsym(h, ZSSO_DIRECT_FREE));
    if (!r.entry || !r.release) r.error = "direct mode module " + path + ": not " + ZSSO_DIRECT_ENTRY;
    return r;
  }();
  return m;
}

LoginOutcome call(zsso_direct_request& in) {
  const Module& m = module();
  if (!m.error.empty()) return {LoginStatus::unavailable, {}, m.error + " (install it, or set broker.socket)"};
  zsso_direct_answer a{};
  m.entry(&in, &a);
  LoginOutcome out;
  out.status = (a.status >= 0 && a.status <= static_cast<int>(LoginStatus::password_expired))
                   ? static_cast<LoginStatus>(a.status)
                   : LoginStatus::error;
  if (a.token) out.token = a.token;
  if (a.detail) out.detail = a.detail;
  if (a.session) out.session = a.session;
  for (std::size_t i = 0; i < a.message_count; ++i) {
    broker::Message msg;
    msg.kind = static_cast<broker::Message::Kind>(a.messages[i].kind);
    if (a.messages[i].text) msg.text = a.messages[i].text;
    out.messages.push_back(std::move(msg));
  }
  m.release(&a);
  return out;
}

}  // namespace

LoginOutcome direct_login(const Config& cfg, const LoginRequest& req) {
  zsso_direct_request in{};
  in.config_path = cfg.source.c_str();
  in.profile = req.profile.c_str();
  in.client_address = req.client_address.c_str();
  in.request_id = req.request_id.c_str();
  in.now = static_cast<long long>(::time(nullptr));
  in.user = req.user.c_str();
  in.password = req.password.data();
  in.password_len = req.password.size();
  in.remote_user = req.password_checked_by_web_server ? 1 : 0;
  return call(in);
}

LoginOutcome direct_session_login(const Config& cfg, const SessionSignIn& req, std::int64_t now) {
  zsso_direct_request in{};
  in.config_path = cfg.source.c_str();
  in.profile = req.profile.c_str();
  in.client_address = req.client_address.c_str();
  in.request_id = req.request_id.c_str();
  in.now = now;
  in.from_session = 1;
  in.session_cookie = req.cookie.c_str();
  return call(in);
}

}  // namespace zsso
