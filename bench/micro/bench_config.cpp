// SPDX-License-Identifier: BSD-3-Clause
// parse_config of examples/config-full.json and of the same file with 10,000 ranges.
#include <benchmark/benchmark.h>

#include "fixtures.hpp"
#include "zsso/config.hpp"

namespace zsso::bench {
namespace {

void run(benchmark::State& st, const std::string& text) {
  for (auto _ : st) {
    auto c = parse_config(text, {}, "/etc/zendesk-sso/config.json");
    if (!c) return st.SkipWithError(c.error().c_str());
    benchmark::DoNotOptimize(&*c);
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * text.size()));
  st.counters["file_bytes"] = static_cast<double>(text.size());
}

void BM_ParseExample(benchmark::State& st) { run(st, example_config_text()); }
BENCHMARK(BM_ParseExample)->Name("config/parse/example");

void BM_ParseRanges(benchmark::State& st) {
  static const std::string text = config_text_with_ranges(static_cast<std::size_t>(st.range(0)));
  run(st, text);
}
BENCHMARK(BM_ParseRanges)->Name("config/parse/ranges")->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace zsso::bench
