// SPDX-License-Identifier: BSD-3-Clause
// The CGI's page inputs from outside (issues 17.2, 17.3, 18.8): .mo
// catalogues an admin drops in (Catalog::parse), the browser's
// Accept-Language, Zendesk's error message on the logout URL, and the
// logo's first bytes.
// Input: mode byte, then the bytes.
//   0: a .mo file   1: an Accept-Language header   2: a Zendesk error message
//   3: logo bytes, and fill() over the same bytes
#include <cstddef>
#include <cstdint>
#include <string>

#include "branding.hpp"
#include "fuzz_support.hpp"
#include "i18n.hpp"
#include "zendesk_errors.hpp"
#include "zsso/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in = fuzz_input(data + 1, size - 1);
  switch (data[0] & 3) {
    case 0: {
      auto c = zsso::cgi::Catalog::parse(in);
      if (c) {
        // Lookups of anything return valid UTF-8 for translated entries, or the key.
        FUZZ_CHECK(c->size() <= in.size() / 16);
        (void)c->lookup("Password");
        (void)c->lookup(in.substr(0, 32));
      }
      break;
    }
    case 1: {
      auto tags = zsso::cgi::accept_language_tags(in);
      FUZZ_CHECK(tags.size() <= 32);
      for (const auto& t : tags) {
        FUZZ_CHECK(zsso::is_language_tag(t));
        auto names = zsso::cgi::catalog_names(t);
        FUZZ_CHECK(!names.empty());
        for (const auto& n : names) FUZZ_CHECK(n.find('/') == std::string::npos && n.find('.') == std::string::npos);
      }
      break;
    }
    case 2: {
      auto cause = zsso::cgi::classify_zendesk_error(in);
      FUZZ_CHECK(!cause.category.empty() && !cause.user_text.empty() && !cause.admin_hint.empty());
      break;
    }
    case 3: {
      auto type = zsso::cgi::sniff_image_type(in);
      FUZZ_CHECK(type.empty() || type.substr(0, 6) == "image/");
      auto out = zsso::cgi::fill(in, {{"site", "Acme"}});
      FUZZ_CHECK(out.size() <= in.size() * 4 + 4);
      break;
    }
  }
  return 0;
}
