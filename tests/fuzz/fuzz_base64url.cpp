// SPDX-License-Identifier: BSD-3-Clause
// base64url (JWT parts): the strict decoder accepts exactly one encoding per
// byte string, so decode then encode gives the input back, and encode then
// decode gives the bytes back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "zsso/base64url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto input = fuzz_input(data, size);

  if (auto bytes = zsso::base64url_decode(input)) {
    FUZZ_CHECK(bytes->size() == input.size() * 3 / 4);
    FUZZ_CHECK(zsso::base64url_encode(*bytes) == input);
  }

  std::string encoded = zsso::base64url_encode(input);
  FUZZ_CHECK(encoded.size() == (input.size() * 4 + 2) / 3);
  FUZZ_CHECK(encoded.find_first_of("+/=") == std::string::npos);
  auto back = zsso::base64url_decode(encoded);
  FUZZ_CHECK(back && *back == input);

  // Appending keeps what was there.
  std::string prefixed = "x.";
  zsso::base64url_encode_append(prefixed, data, size);
  FUZZ_CHECK(prefixed.substr(0, 2) == "x." && prefixed.substr(2) == encoded);
  return 0;
}
