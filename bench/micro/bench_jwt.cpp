// SPDX-License-Identifier: BSD-3-Clause
// JWT mint / sign / verify, ours beside libjwt on the same claims, plus base64url.
#include <benchmark/benchmark.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "zsso/base64url.hpp"
#include "zsso/claims.hpp"
#include "zsso/jwt.hpp"
#include "zsso/mint.hpp"

namespace zsso::bench {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

void fail(benchmark::State& st, const std::string& why) { st.SkipWithError(why.c_str()); }

// The whole mint as the PAM module does it: claims from the account, a fresh jti, sign.
bool mint_once(Hs256Key& key, std::string& token) {
  const Config& cfg = example_config();
  auto jti = new_jti();
  if (!jti) return false;
  auto claims = build_claims(account(), cfg.zendesk, cfg.claims, kNow, *jti);
  if (!claims) return false;
  auto t = sign_jwt(*claims, key);
  if (!t) return false;
  token = std::move(*t);
  return true;
}

// The same token content with libjwt: it has no templates, so the claims are
// written out by hand from the account (favouring libjwt: no template parsing).
char* libjwt_mint_once(const std::string& jti) {
  const Account& a = account();
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return nullptr;
  JwtPtr j(raw);
  const Secret& s = secret();
  if (jwt_set_alg(j.get(), JWT_ALG_HS256, s.data(), static_cast<int>(s.size())) != 0) return nullptr;
  std::string email = a.user + "@acme.com";
  std::string tags = "{\"tags\":[";
  bool first = true;
  for (const char* g : {"staff", "it"})
    if (a.in_group(g)) { tags += first ? "\"" : ",\""; tags += g; tags += '"'; first = false; }
  tags += "]}";
  const char* role = a.in_group("zd-admins") ? "admin" : a.in_group("zd-agents") ? "agent" : nullptr;
  if (jwt_add_grant_int(j.get(), "iat", kNow) || jwt_add_grant(j.get(), "jti", jti.c_str()) ||
      jwt_add_grant(j.get(), "email", email.c_str()) || jwt_add_grant(j.get(), "name", a.gecos.c_str()) ||
      jwt_add_grant(j.get(), "external_id", a.user.c_str()) ||
      jwt_add_grant(j.get(), "organization", "Acme") || jwt_add_grants_json(j.get(), tags.c_str()) ||
      (role && jwt_add_grant(j.get(), "role", role)))
    return nullptr;
  return jwt_encode_str(j.get());
}

void BM_MintOurs(benchmark::State& st) {
  Hs256Key key(secret());
  std::string token;
  for (auto _ : st) {
    if (!mint_once(key, token)) return fail(st, "mint failed");
    benchmark::DoNotOptimize(token.data());
  }
  st.counters["token_bytes"] = static_cast<double>(token.size());
}
BENCHMARK(BM_MintOurs)->Name("jwt/mint/zsso");

// core's mint_token(), as pam_zendesk.so and the CLI call it: one token per
// process, so the HMAC key is set up for every token.
void BM_MintToken(benchmark::State& st) {
  const Config& cfg = example_config();
  for (auto _ : st) {
    auto t = mint_token(cfg, account(), secret(), kNow);
    if (!t) return fail(st, t.error());
    benchmark::DoNotOptimize(t->token.data());
  }
}
BENCHMARK(BM_MintToken)->Name("jwt/mint_token/zsso");

void BM_MintLibjwt(benchmark::State& st) {
  std::size_t size = 0;
  for (auto _ : st) {
    auto jti = new_jti();
    if (!jti) return fail(st, "jti failed");
    char* t = libjwt_mint_once(*jti);
    if (!t) return fail(st, "libjwt mint failed");
    size = std::strlen(t);
    benchmark::DoNotOptimize(t);
    std::free(t);
  }
  st.counters["token_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_MintLibjwt)->Name("jwt/mint/libjwt");

// Sign alone: claims already built.
void BM_SignOurs(benchmark::State& st) {
  const Config& cfg = example_config();
  auto claims = build_claims(account(), cfg.zendesk, cfg.claims, kNow, "0123456789abcdefghijkl");
  if (!claims) return fail(st, claims.error());
  Hs256Key key(secret());
  for (auto _ : st) {
    auto t = sign_jwt(*claims, key);
    if (!t) return fail(st, t.error());
    benchmark::DoNotOptimize(t->data());
  }
}
BENCHMARK(BM_SignOurs)->Name("jwt/sign/zsso");

void BM_SignLibjwt(benchmark::State& st) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return fail(st, "jwt_new failed");
  JwtPtr j(raw);
  const Config& cfg = example_config();
  auto claims = build_claims(account(), cfg.zendesk, cfg.claims, kNow, "0123456789abcdefghijkl");
  if (!claims) return fail(st, claims.error());
  const Secret& s = secret();
  if (jwt_set_alg(j.get(), JWT_ALG_HS256, s.data(), static_cast<int>(s.size())) != 0 ||
      jwt_add_grants_json(j.get(), claims->dump().c_str()) != 0)
    return fail(st, "libjwt setup failed");
  for (auto _ : st) {
    char* t = jwt_encode_str(j.get());
    if (!t) return fail(st, "jwt_encode_str failed");
    benchmark::DoNotOptimize(t);
    std::free(t);
  }
}
BENCHMARK(BM_SignLibjwt)->Name("jwt/sign/libjwt");

// The bare crypto: one-shot HMAC-SHA256 over the same signing input. No JWT
// library can sign faster than this.
void BM_HmacFloor(benchmark::State& st) {
  Hs256Key key(secret());
  std::string token;
  if (!mint_once(key, token)) return fail(st, "mint failed");
  std::string input = token.substr(0, token.rfind('.'));
  const Secret& s = secret();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (auto _ : st) {
    HMAC(EVP_sha256(), s.data(), static_cast<int>(s.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_HmacFloor)->Name("jwt/hmac_sha256_oneshot/openssl");

std::string reference_token() {
  Hs256Key key(secret());
  std::string token;
  if (!mint_once(key, token)) {
    std::fprintf(stderr, "bench_micro: cannot mint the reference token\n");
    std::exit(2);
  }
  return token;
}

void BM_VerifyOurs(benchmark::State& st) {
  std::string token = reference_token();
  Hs256Key key(secret());
  VerifyOptions opt;
  opt.now = kNow;
  for (auto _ : st) {
    auto c = verify_jwt(token, key, opt);
    if (!c) return fail(st, c.error());
    benchmark::DoNotOptimize(&*c);
  }
}
BENCHMARK(BM_VerifyOurs)->Name("jwt/verify/zsso");

// Same checks: signature, then iat within the skew.
void BM_VerifyLibjwt(benchmark::State& st) {
  std::string token = reference_token();
  const Secret& s = secret();
  for (auto _ : st) {
    jwt_t* raw = nullptr;
    if (jwt_decode(&raw, token.c_str(), s.data(), static_cast<int>(s.size())) != 0)
      return fail(st, "jwt_decode failed");
    JwtPtr j(raw);
    long iat = jwt_get_grant_int(j.get(), "iat");
    if (iat < kNow - 180 || iat > kNow + 180) return fail(st, "iat check failed");
    benchmark::DoNotOptimize(iat);
  }
}
BENCHMARK(BM_VerifyLibjwt)->Name("jwt/verify/libjwt");

void BM_Base64Encode(benchmark::State& st) {
  std::string in(static_cast<std::size_t>(st.range(0)), '\0');
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<char>(i * 131 + 7);
  for (auto _ : st) {
    auto out = base64url_encode(in);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * st.range(0));
}
// 32: a signature; 256: a typical claims payload; 4096: a large one.
BENCHMARK(BM_Base64Encode)->Name("base64url/encode")->Arg(32)->Arg(256)->Arg(4096);

void BM_Base64Decode(benchmark::State& st) {
  std::string in(static_cast<std::size_t>(st.range(0)), '\0');
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<char>(i * 131 + 7);
  std::string text = base64url_encode(in);
  for (auto _ : st) {
    auto out = base64url_decode(text);
    if (!out) return fail(st, "decode failed");
    benchmark::DoNotOptimize(out->data());
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * st.range(0));
}
BENCHMARK(BM_Base64Decode)->Name("base64url/decode")->Arg(32)->Arg(256)->Arg(4096);

}  // namespace
}  // namespace zsso::bench
