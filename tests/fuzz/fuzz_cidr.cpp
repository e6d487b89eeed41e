// SPDX-License-Identifier: BSD-3-Clause
// CIDR text: CidrSet::parse (ip_ranges / trusted_proxies entries), parse_range
// and parse_ip (REMOTE_ADDR, X-Forwarded-For, PAM_RHOST).
// Input: lines; the first line is also tried as an address.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "zsso/cidr.hpp"
#include "zsso/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz_input(data, size);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start <= text.size();) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }

  // An address that parses prints back as something that parses to itself.
  if (auto ip = zsso::parse_ip(lines.front())) {
    // Address characters only: nothing rides along behind a NUL.
    FUZZ_CHECK(lines.front().find_first_not_of("0123456789abcdefABCDEF.:") == std::string::npos);
    auto again = zsso::parse_ip(ip->to_string());
    FUZZ_CHECK(again && *again == *ip);
  }

  auto set = zsso::CidrSet::parse(lines, "network.ip_ranges");
  if (!set) {
    FUZZ_CHECK(set.error().rfind("network.ip_ranges[", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(!set->empty());   // an empty entry is an error
  // Every single range that parses is inside the set built from all of them.
  for (const auto& line : lines) {
    std::string_view rest = line;
    while (!(rest = zsso::trim(rest)).empty()) {
      auto sp = rest.find_first_of(" \t");
      auto tok = rest.substr(0, sp);
      rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
      auto r = zsso::parse_range(tok);
      FUZZ_CHECK(r.ok());
      FUZZ_CHECK(set->contains(r->first));
      FUZZ_CHECK(r->second >= 0 && r->second <= 128);
    }
  }
  if (auto ip = zsso::parse_ip(lines.front())) (void)set->contains(*ip);
  return 0;
}
