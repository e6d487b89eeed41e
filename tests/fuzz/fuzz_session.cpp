// SPDX-License-Identifier: BSD-3-Clause
// Session cookie values (session.hpp): parse_session_unverified and
// SessionKeys::verify on arbitrary text. Invariants: nothing crashes; a
// value verifies only if it parses; what verifies is exactly what was
// issued (re-issuing the parsed fields with the same key gives the value
// back), so no second encoding of a session passes the MAC; and a value the
// fuzzer did not get from issue() never verifies under a key it never saw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "zsso/session.hpp"

namespace {

zsso::SessionKeys& keys() {
  static zsso::SessionKeys k = [] {
    zsso::Secret cur("fuzz-session-key-0123456789abcdef0123456789");
    zsso::Secret prev("fuzz-previous-key-0123456789abcdef012345678");
    auto r = zsso::SessionKeys::from_secrets(cur, &prev);
    FUZZ_CHECK(r.ok());
    return std::move(*r);
  }();
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto input = fuzz_input(data, size);
  zsso::SessionConfig limits;
  limits.max_seconds = 1'000'000'000'000;
  limits.idle_seconds = 0;
  limits.key_file = "/unused";
  const std::int64_t now = 1'800'000'000;

  auto parsed = zsso::parse_session_unverified(input);
  for (std::string_view profile : {"", "team"}) {
    auto v = keys().verify(input, profile, now, limits);
    if (!parsed) FUZZ_CHECK(v.check == zsso::SessionCheck::malformed || v.check == zsso::SessionCheck::old_format);
    if (v.ok()) {
      FUZZ_CHECK(parsed && parsed->user == v.session.user && parsed->profile == profile);
      // Only the current key can re-create it; a previous-key value is still one encoding.
      if (v.session.key_id == keys().current_id()) {
        auto again = keys().issue(v.session);
        FUZZ_CHECK(again.ok() && *again == input);
      }
    }
  }

  // Round trip: the input's bytes as a user name and a time.
  if (size >= 1 && size <= 200) {
    zsso::Session s;
    s.user = std::string(input);
    s.issued_at = now - static_cast<std::int64_t>(data[0]);
    s.last_used = now;
    if (auto value = keys().issue(s)) {
      auto v = keys().verify(*value, "", now, limits);
      FUZZ_CHECK(v.ok() && v.session.user == s.user && v.session.issued_at == s.issued_at);
      FUZZ_CHECK(keys().verify(*value, "team", now, limits).check == zsso::SessionCheck::wrong_profile);
    }
  }
  return 0;
}
