// SPDX-License-Identifier: BSD-3-Clause
// CidrSet lookups over 10, 1,000 and 10,000 ranges, IPv4 and IPv6, hit and miss.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "fixtures.hpp"
#include "zsso/cidr.hpp"
#include "zsso/policy.hpp"

namespace zsso::bench {
namespace {

// 1024 different addresses per run, so neither the branch predictor nor the
// cache sees one repeated lookup.
constexpr std::size_t kQueries = 1024;

const NetworkConfig& network_with(std::size_t n) {
  static std::map<std::size_t, NetworkConfig> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  NetworkConfig net;
  net.ip_ranges = make_ranges(n);
  auto set = CidrSet::parse(net.ip_ranges, "network.ip_ranges");
  if (!set || set->interval_count() != n) {
    std::fprintf(stderr, "bench_micro: range set of %zu did not build as expected\n", n);
    std::exit(2);
  }
  net.ranges = std::move(*set);
  return cache.emplace(n, std::move(net)).first->second;
}

void BM_Contains(benchmark::State& st, std::size_t n, bool v6, bool hit) {
  const CidrSet& set = network_with(n).ranges;
  std::vector<IpAddress> queries;
  for (const auto& text : make_addresses(n, v6, hit, kQueries)) queries.push_back(*parse_ip(text));
  for (const auto& q : queries)
    if (set.contains(q) != hit) return st.SkipWithError("query set does not hit/miss as intended");
  std::size_t i = 0;
  for (auto _ : st) {
    bool in = set.contains(queries[i++ & (kQueries - 1)]);
    benchmark::DoNotOptimize(in);
  }
}

// What the CGI and the PAM module actually run per request: parse the address
// text, look it up, and build the reason string for syslog.
void BM_CheckAddress(benchmark::State& st, std::size_t n, bool v6, bool hit) {
  const NetworkConfig& net = network_with(n);
  auto queries = make_addresses(n, v6, hit, kQueries);
  std::size_t i = 0;
  for (auto _ : st) {
    auto d = check_address(net, std::string_view(queries[i++ & (kQueries - 1)]));
    if (d.allowed() != hit) return st.SkipWithError("unexpected decision");
    benchmark::DoNotOptimize(d.reason.data());
  }
}

[[maybe_unused]] const bool registered = [] {
  for (std::size_t n : {10u, 1000u, 10000u})
    for (bool v6 : {false, true})
      for (bool hit : {true, false}) {
        std::string tag = std::string(v6 ? "v6" : "v4") + "_" + (hit ? "hit" : "miss") + "/" + std::to_string(n);
        benchmark::RegisterBenchmark(("cidr/contains/" + tag).c_str(), BM_Contains, n, v6, hit);
        benchmark::RegisterBenchmark(("cidr/check_address/" + tag).c_str(), BM_CheckAddress, n, v6, hit);
      }
  return true;
}();

}  // namespace
}  // namespace zsso::bench
