// SPDX-License-Identifier: BSD-3-Clause
// Query strings and application/x-www-form-urlencoded bodies (parse_form,
// percent_decode), as the CGI reads them from QUERY_STRING and stdin.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "zsso/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz_input(data, size);

  auto fields = zsso::parse_form(text);
  if (fields) {
    FUZZ_CHECK(fields->size() <= 64);
    for (const auto& [k, v] : *fields) {
      const std::string* first = zsso::form_get(*fields, k);
      FUZZ_CHECK(first != nullptr);
      FUZZ_CHECK(zsso::form_count(*fields, k) >= 1);
      // Re-encoding what was parsed gives a form that parses to the same fields.
      std::string reencoded = zsso::percent_encode(k) + "=" + zsso::percent_encode(v);
      auto again = zsso::parse_form(reencoded);
      FUZZ_CHECK(again && again->size() == 1);
      FUZZ_CHECK((*again)[0].first == k && (*again)[0].second == v);
    }
  }
  // A small field limit refuses what does not fit, never truncates silently.
  if (auto few = zsso::parse_form(text, 2)) FUZZ_CHECK(few->size() <= 2 && fields && few->size() == fields->size());

  auto plain = zsso::percent_decode(text, false);
  auto form = zsso::percent_decode(text, true);
  FUZZ_CHECK(plain.has_value() == form.has_value());   // '+' never breaks an escape
  if (plain) FUZZ_CHECK(plain->size() <= text.size());

  // Encoding round-trips exactly, in both modes.
  std::string enc = zsso::percent_encode(text);
  auto dec = zsso::percent_decode(enc, false);
  FUZZ_CHECK(dec && *dec == text);
  auto dec_form = zsso::percent_decode(enc, true);
  FUZZ_CHECK(dec_form && *dec_form == text);
  return 0;
}
