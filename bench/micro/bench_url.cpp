// SPDX-License-Identifier: BSD-3-Clause
// Form and query parsing: the login POST body and the /login query string.
#include <benchmark/benchmark.h>

#include "zsso/url.hpp"

namespace zsso::bench {
namespace {

// What the browser posts from the login form (token, return_to, user, password).
constexpr std::string_view kLoginBody =
    "csrf=MTcwMDAwMDAwMC5hYmNkZWYwMTIzNDU2Nzg5.Q2hlY2tzdW1PZlRoZUNzcmZUb2tlbkhlcmU"
    "&return_to=https%3A%2F%2Facme.zendesk.com%2Fhc%2Fen-us%2Farticles%2F360001234567"
    "&user=jdoe&password=correct+horse+battery%21staple";
// What Zendesk appends to the remote login URL.
constexpr std::string_view kLoginQuery =
    "brand_id=360000123456&locale_id=1176&timestamp=1700000000"
    "&return_to=https%3A%2F%2Facme.zendesk.com%2Fhc%2Fen-us%2Frequests%2Fnew";

void run(benchmark::State& st, std::string_view text) {
  for (auto _ : st) {
    auto f = parse_form(text);
    if (!f) return st.SkipWithError("parse_form failed");
    benchmark::DoNotOptimize(f->data());
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * text.size()));
}

void BM_FormBody(benchmark::State& st) { run(st, kLoginBody); }
BENCHMARK(BM_FormBody)->Name("url/parse_form/login_body");
void BM_Query(benchmark::State& st) { run(st, kLoginQuery); }
BENCHMARK(BM_Query)->Name("url/parse_form/login_query");

}  // namespace
}  // namespace zsso::bench
