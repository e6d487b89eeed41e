// SPDX-License-Identifier: BSD-3-Clause
// Randomness from the kernel's CSPRNG, getrandom(2): what OpenSSL seeds its
// own from. Used where loading OpenSSL would cost more than the work (the
// CGI's request id and CSRF token; issue 16); code that links libcrypto
// anyway may use RAND_bytes.
#pragma once

#include <cstddef>

namespace zsso {

// Fills buf with n random bytes. false only if the kernel refuses (never
// after boot's entropy pool is ready, which getrandom waits for).
bool random_bytes(unsigned char* buf, std::size_t n) noexcept;

}  // namespace zsso
