// SPDX-License-Identifier: BSD-3-Clause
// The shared secret: read from a file we trust, kept in memory that is wiped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/result.hpp"

namespace zsso {

// Allocator that wipes memory (secure_wipe) before giving it back, so
// every buffer a SecureBytes ever grew through is cleared too.
template <class T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() = default;
  template <class U>
  CleansingAllocator(const CleansingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept;
  template <class U>
  bool operator==(const CleansingAllocator<U>&) const noexcept { return true; }
};

void secure_wipe(void* p, std::size_t n) noexcept;

// Whether a and b hold the same n bytes, in time that depends on n alone (no
// early exit): for code that compares secret-derived values without
// OpenSSL's CRYPTO_memcmp (the CGI's CSRF check; issue 16).
bool constant_time_equal(const void* a, const void* b, std::size_t n) noexcept;

template <class T>
void CleansingAllocator<T>::deallocate(T* p, std::size_t n) noexcept {
  secure_wipe(p, n * sizeof(T));
  std::allocator<T>{}.deallocate(p, n);
}

// Bytes that are wiped when freed. No small-buffer optimisation, unlike std::string.
using SecureBytes = std::vector<unsigned char, CleansingAllocator<unsigned char>>;

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string_view bytes) : bytes_(bytes.begin(), bytes.end()) {}
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  const unsigned char* data() const { return bytes_.data(); }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  SecureBytes bytes_;
};

// Reads the secret file. Refused when it is a symlink, not a regular file,
// group- or world-writable, world-readable, owned by someone other than root
// or the running user, empty, or larger than 4 KiB. One trailing newline
// (LF or CRLF) is trimmed; the bytes are the HMAC key as-is (never decoded).
// holds: what belongs in the file, for the "empty" message.
inline constexpr std::string_view kZendeskSecretHolds = "the shared secret from Zendesk's admin page";
Result<Secret> load_secret_file(const std::string& path, std::string_view holds = kZendeskSecretHolds);

}  // namespace zsso
