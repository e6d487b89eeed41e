// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/secret.hpp"

#include <string.h>

#include "zsso/files.hpp"

namespace zsso {

// glibc's explicit_bzero: the same guarantee as OPENSSL_cleanse (the compiler
// may not drop the stores as dead), without making everything that holds a
// secret - the CGI's password buffer, for one - load libcrypto (issue 16).
void secure_wipe(void* p, std::size_t n) noexcept {
  if (p && n) ::explicit_bzero(p, n);
}

bool constant_time_equal(const void* a, const void* b, std::size_t n) noexcept {
  // volatile: the compiler may neither stop at the first difference nor
  // turn the loop into memcmp.
  const volatile unsigned char* x = static_cast<const volatile unsigned char*>(a);
  const volatile unsigned char* y = static_cast<const volatile unsigned char*>(b);
  unsigned char diff = 0;
  for (std::size_t i = 0; i < n; ++i) diff = static_cast<unsigned char>(diff | (x[i] ^ y[i]));
  return diff == 0;
}

Result<Secret> load_secret_file(const std::string& path, std::string_view holds) {
  TrustedFileRules rules;
  rules.max_size = 4096;
  rules.allow_world_readable = false;
  auto bytes = read_trusted_secret_file(path, rules);
  if (!bytes) return Error{bytes.error()};
  auto& b = *bytes;
  // One line ending, LF or CRLF; a lone CR is not one and stays (and is refused below).
  if (!b.empty() && b.back() == '\n') {
    b.pop_back();
    if (!b.empty() && b.back() == '\r') b.pop_back();
  }
  if (b.empty()) return Error{path + ": empty; it must hold " + std::string(holds)};
  for (unsigned char c : b)
    if (c < 0x20 || c == 0x7f)
      return Error{path + ": contains a control character or more than one line"};
  return Secret(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

}  // namespace zsso
