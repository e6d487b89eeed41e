// SPDX-License-Identifier: BSD-3-Clause
// The startup ladder for bench/e2e: the floor CGI plus, level by level, what
// zendesk-sso.cgi cannot do without. Built once per level (PROBE_LEVEL):
//   1  the C++ runtime linked (libstdc++, libgcc_s, libm)
//   2  + libcrypto linked and loaded
//   3  + one RAND_bytes(16): OpenSSL's initialisation, provider and DRBG set-up
//   4  + one HMAC-SHA256 through EVP_MAC, as the CSRF token and the JWT need
//   5  the lean design instead (issue 16): C++ with libstdc++ and libgcc linked
//      statically (-static-libstdc++ -static-libgcc, see CMakeLists.txt), 16
//      bytes from getrandom(2), no libcrypto
// Each answers "Status: 302" like the floor, so the latency difference
// between two levels is the cost of that level alone.
#include <unistd.h>

#include <string>

#if PROBE_LEVEL == 5
#include <sys/random.h>
#elif PROBE_LEVEL >= 2
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#endif

int main() {
  std::string response = "Status: 302\r\n\r\n";
#if PROBE_LEVEL == 5
  unsigned char raw[16];
  if (getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) return 1;
#else
#if PROBE_LEVEL == 2
  if (OPENSSL_version_major() < 3) return 1;   // a reference, so the linker keeps libcrypto
#endif
#if PROBE_LEVEL >= 3
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return 1;
#endif
#if PROBE_LEVEL >= 4
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  unsigned char out[32];
  std::size_t len = 0;
  bool ok = ctx && EVP_MAC_init(ctx, raw, sizeof raw, params) == 1 && EVP_MAC_update(ctx, raw, sizeof raw) == 1 &&
            EVP_MAC_final(ctx, out, &len, sizeof out) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (!ok) return 1;
#endif
#endif
  return write(STDOUT_FILENO, response.data(), response.size()) == static_cast<ssize_t>(response.size()) ? 0 : 1;
}
