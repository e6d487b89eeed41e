// SPDX-License-Identifier: BSD-3-Clause
// Inputs shared by the micro-benchmarks: one realistic account, the example
// config's claims, a fixed secret, and generated range lists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zsso/account.hpp"
#include "zsso/config.hpp"
#include "zsso/secret.hpp"

namespace zsso::bench {

// A fixed "now" so every token is identical in size from run to run.
inline constexpr std::int64_t kNow = 1700000000;

const Account& account();
// examples/config-full.json, parsed once (aborts the run if it does not parse).
const Config& example_config();
const std::string& example_config_text();
const Secret& secret();

// n ranges, half IPv4 (/24) and half IPv6 (/48), disjoint and never merged,
// in shuffled order (as an admin's pasted list would be).
std::vector<std::string> make_ranges(std::size_t n);
// Addresses inside ranges of make_ranges(n) (hit) or in the gaps between them (miss).
std::vector<std::string> make_addresses(std::size_t n, bool v6, bool hit, std::size_t count);

// examples/config-full.json with network.ip_ranges replaced by make_ranges(n).
std::string config_text_with_ranges(std::size_t n);

}  // namespace zsso::bench
