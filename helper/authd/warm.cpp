// SPDX-License-Identifier: BSD-3-Clause
#include "warm.hpp"

#include <syslog.h>

#include <algorithm>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace zsso::authd {

namespace {

// Nothing is asked: only pam_start and pam_end run on these handles.
extern "C" int no_conversation(int, const struct pam_message**, struct pam_response**, void*) {
  return PAM_CONV_ERR;
}

void warm_openssl() {
  // NO_ATEXIT: each child would otherwise free every table at exit, writing
  // to pages it shares with us (copy-on-write faults): a tenth of a sign-in's
  // CPU (perf, BENCHMARKS.md). The exit frees them anyway.
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, nullptr);
  unsigned char b[1];
  (void)RAND_bytes(b, sizeof b);
  // Fetches fill the default library context's method store once.
  EVP_MAC_free(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  EVP_MD_free(EVP_MD_fetch(nullptr, "SHA256", nullptr));
}

}  // namespace

void Warm::start(const Config& cfg, const std::string& config_path) {
  warm_openssl();
  std::vector<std::string> services{cfg.pam.service};
  for (const auto& name : cfg.profile_names) {
    auto p = load_config(config_path, name);
    if (p && std::find(services.begin(), services.end(), p->pam.service) == services.end())
      services.push_back(p->pam.service);
  }
  static const pam_conv conv{no_conversation, nullptr};
  for (const auto& service : services) {
    pam_handle_t* h = nullptr;
    // Any user name: pam_start only reads the service file and loads its modules.
    int rc = pam_start(service.c_str(), "zendesk-sso-warm-up", &conv, &h);
    if (rc != PAM_SUCCESS) {
      ::syslog(LOG_WARNING, "PAM service %s: pam_start: %s (its modules load per sign-in)", service.c_str(),
               pam_strerror(h, rc));
      if (h) pam_end(h, rc);
      continue;
    }
    handles_.push_back(h);
  }
}

Warm::~Warm() {
  for (pam_handle_t* h : handles_) pam_end(h, PAM_SUCCESS);
}

}  // namespace zsso::authd
