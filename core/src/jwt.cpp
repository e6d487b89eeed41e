// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/jwt.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "zsso/base64url.hpp"
#include "zsso/text.hpp"

namespace zsso {

namespace {
// base64url({"typ":"JWT","alg":"HS256"}), the header Zendesk expects, in this order.
constexpr std::string_view kHeaderB64 = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9";

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
}  // namespace

Hs256Key::Hs256Key(const Secret& secret) {
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac.get());
  if (!ctx) return;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(ctx, secret.data(), secret.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return;
  }
  ctx_ = ctx;
}

Hs256Key::~Hs256Key() { EVP_MAC_CTX_free(ctx_); }

bool Hs256Key::mac(std::string_view data, unsigned char out[32]) {
  if (!ctx_) return false;
  // A NULL key re-initialises with the key already set, skipping the key schedule.
  if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1) return false;
  if (EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return false;
  std::size_t len = 0;
  if (EVP_MAC_final(ctx_, out, &len, 32) != 1 || len != 32) return false;
  return true;
}

Result<std::string> new_jti() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return Error{"RAND_bytes failed"};
  std::string out;
  base64url_encode_append(out, raw, sizeof raw);
  return out;
}

namespace {

bool append_json_string(std::string& out, std::string_view s) {
  if (!is_valid_utf8(s)) return false;
  out += '"';
  std::size_t plain = 0;   // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
  return true;
}

// Compact JSON, byte for byte what nlohmann's dump() writes (no ASCII
// escaping, strict UTF-8), without dump()'s per-call setup: a locale lookup
// and a 512-byte indent string, which made it 20% of a whole mint. Floats and
// binary values, which claims rarely hold, go through dump() itself.
bool append_json(std::string& out, const nlohmann::ordered_json& v) {
  using J = nlohmann::ordered_json;
  switch (v.type()) {
    case J::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.get_ref<const J::object_t&>()) {
        if (!first) out += ',';
        first = false;
        if (!append_json_string(out, k)) return false;
        out += ':';
        if (!append_json(out, e)) return false;
      }
      out += '}';
      return true;
    }
    case J::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        if (!append_json(out, e)) return false;
      }
      out += ']';
      return true;
    }
    case J::value_t::string: return append_json_string(out, v.get_ref<const std::string&>());
    case J::value_t::number_integer: out += std::to_string(v.get<std::int64_t>()); return true;
    case J::value_t::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); return true;
    case J::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return true;
    case J::value_t::null: out += "null"; return true;
    default:
      try {
        out += v.dump();   // strict: throws on invalid UTF-8
      } catch (const std::exception&) {
        return false;
      }
      return true;
  }
}

}  // namespace

Result<std::string> sign_jwt(const nlohmann::ordered_json& claims, Hs256Key& key) {
  if (!claims.is_object()) return Error{"claims must be a JSON object"};
  std::string payload;
  payload.reserve(512);
  if (!append_json(payload, claims)) return Error{"claims cannot be encoded as JSON (invalid UTF-8?)"};
  const std::size_t size = kHeaderB64.size() + 1 + (payload.size() * 4 + 2) / 3 + 1 + 43;
  if (size > kMaxTokenSize)
    return Error{"claims too large: the token would be " + std::to_string(size) + " bytes, the limit is " +
                 std::to_string(kMaxTokenSize)};
  std::string token;
  token.reserve(size);
  token.append(kHeaderB64);
  token += '.';
  base64url_encode_append(token, reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  unsigned char sig[32];
  if (!key.mac(token, sig)) return Error{"HMAC-SHA256 failed"};
  token += '.';
  base64url_encode_append(token, sig, sizeof sig);
  OPENSSL_cleanse(sig, sizeof sig);
  return token;
}

namespace {

struct Parts {
  std::string_view header, payload, signature, signing_input;
};

Result<Parts> split(std::string_view token) {
  if (token.size() > kMaxTokenSize) return Error{"token too long"};
  auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return Error{"not a JWT (expected header.payload.signature)"};
  auto d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return Error{"not a JWT (expected header.payload.signature)"};
  return Parts{token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1),
               token.substr(0, d2)};
}

Result<nlohmann::ordered_json> decode_json_part(std::string_view b64, const char* what) {
  auto raw = base64url_decode(b64);
  if (!raw) return Error{std::string(what) + " is not base64url"};
  auto j = nlohmann::ordered_json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error{std::string(what) + " is not a JSON object"};
  return j;
}

// An integer claim as seconds; nullopt when it is beyond int64 (a JSON
// unsigned above INT64_MAX would otherwise wrap to a negative time).
std::optional<std::int64_t> seconds_of(const nlohmann::ordered_json& v) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  return v.get<std::int64_t>();
}

}  // namespace

Result<nlohmann::ordered_json> decode_jwt_claims_unverified(std::string_view token) {
  auto parts = split(token);
  if (!parts) return Error{parts.error()};
  return decode_json_part(parts->payload, "payload");
}

Result<nlohmann::ordered_json> verify_jwt(std::string_view token, Hs256Key& key, const VerifyOptions& opt) {
  auto parts = split(token);
  if (!parts) return Error{parts.error()};
  // The header we issue ourselves, byte for byte, passes every check below:
  // skip decoding and parsing it (a third of verify's JSON work).
  if (parts->header != kHeaderB64) {
    auto header = decode_json_part(parts->header, "header");
    if (!header) return Error{header.error()};
    auto alg = header->find("alg");
    if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256")
      return Error{"unsupported algorithm (only HS256 is accepted)"};
    auto typ = header->find("typ");
    if (typ != header->end() && (!typ->is_string() || typ->get_ref<const std::string&>() != "JWT"))
      return Error{"unsupported token type"};
    if (header->contains("crit")) return Error{"unsupported critical header"};
  }

  auto sig = base64url_decode(parts->signature);
  if (!sig || sig->size() != 32) return Error{"signature does not match"};
  unsigned char expect[32];
  if (!key.mac(parts->signing_input, expect)) return Error{"HMAC-SHA256 failed"};
  bool same = CRYPTO_memcmp(expect, sig->data(), 32) == 0;
  OPENSSL_cleanse(expect, sizeof expect);
  if (!same) return Error{"signature does not match"};

  auto claims = decode_json_part(parts->payload, "payload");
  if (!claims) return Error{claims.error()};
  if (opt.check_iat) {
    auto iat = claims->find("iat");
    if (iat == claims->end() || !iat->is_number_integer()) return Error{"iat missing or not an integer"};
    auto v = seconds_of(*iat);
    // Any 64-bit value may arrive here: compare and subtract without overflowing.
    std::int64_t offset = 0;
    if (!v || __builtin_sub_overflow(*v, opt.now, &offset))
      return Error{"iat is not within ±" + std::to_string(opt.max_skew) + " s of now"};
    if (offset > opt.max_skew || offset < -opt.max_skew)
      return Error{"iat is " + std::to_string(offset) + " s from now (allowed ±" +
                   std::to_string(opt.max_skew) + " s)"};
    auto exp = claims->find("exp");
    if (exp != claims->end()) {
      if (!exp->is_number_integer()) return Error{"exp is not an integer"};
      auto e = seconds_of(*exp);
      // Later than int64 can hold is not expired; otherwise exp + skew < now, rearranged.
      if (e && *e < opt.now - opt.max_skew) return Error{"token expired"};
    }
  }
  return std::move(*claims);
}

}  // namespace zsso
