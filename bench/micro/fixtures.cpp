// SPDX-License-Identifier: BSD-3-Clause
#include "fixtures.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

namespace zsso::bench {

namespace {
[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "bench_micro: %s\n", why.c_str());
  std::exit(2);
}

// Range i of a list: IPv4 10.(2i/256).(2i%256).0/24 or IPv6 2001:db8:(2i)::/48.
// The factor 2 leaves a gap after every range, where the misses live.
std::string v4_range(std::size_t i) {
  std::size_t k = 2 * i;
  return "10." + std::to_string(k / 256 % 256) + "." + std::to_string(k % 256) + ".0/24";
}
std::string v6_range(std::size_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2001:db8:%zx::/48", 2 * i);
  return buf;
}
}  // namespace

const Account& account() {
  static const Account a = [] {
    Account x;
    x.user = "jdoe";
    x.uid = 1234;
    x.gid = 1234;
    x.gecos = "Jane Doe";
    x.home = "/home/jdoe";
    x.group = "jdoe";
    x.groups = {"jdoe", "staff", "it", "zd-agents"};
    return x;
  }();
  return a;
}

const std::string& example_config_text() {
  static const std::string text = [] {
    std::ifstream in(ZSSO_EXAMPLE_CONFIG);
    if (!in) die(std::string("cannot read ") + ZSSO_EXAMPLE_CONFIG);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  return text;
}

const Config& example_config() {
  static const Config cfg = [] {
    auto c = parse_config(example_config_text(), {}, ZSSO_EXAMPLE_CONFIG);
    if (!c) die(c.error());
    return std::move(*c);
  }();
  return cfg;
}

const Secret& secret() {
  // 40 bytes, like the hex secrets Zendesk's admin page shows (the length does not matter to HMAC cost
  // below 64 bytes).
  static const Secret s("3f1c9a7be2d84f6a0c5b19e7d2a48f03b6c1e9d2");
  return s;
}

std::vector<std::string> make_ranges(std::size_t n) {
  if (n > 2 * 32768) die("make_ranges: too many ranges for the 10.0.0.0/8 layout");
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(i % 2 ? v6_range(i / 2) : v4_range(i / 2));
  std::mt19937 rng(42);
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

std::vector<std::string> make_addresses(std::size_t n, bool v6, bool hit, std::size_t count) {
  std::size_t per_family = v6 ? n / 2 : (n + 1) / 2;
  if (per_family == 0) die("make_addresses: no ranges of that family");
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, per_family - 1);
  std::uniform_int_distribution<unsigned> low(1, 254);
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t c = 0; c < count; ++c) {
    std::size_t k = 2 * pick(rng) + (hit ? 0 : 1);   // odd blocks are the gaps
    char buf[64];
    if (v6) std::snprintf(buf, sizeof buf, "2001:db8:%zx:%x::%x", k, low(rng), low(rng));
    else std::snprintf(buf, sizeof buf, "10.%zu.%zu.%u", k / 256 % 256, k % 256, low(rng));
    out.emplace_back(buf);
  }
  return out;
}

std::string config_text_with_ranges(std::size_t n) {
  auto j = nlohmann::ordered_json::parse(example_config_text(), nullptr, true, /*ignore_comments=*/true);
  j["network"]["ip_ranges"] = make_ranges(n);
  return j.dump(2);
}

}  // namespace zsso::bench
