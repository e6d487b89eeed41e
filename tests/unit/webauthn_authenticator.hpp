// SPDX-License-Identifier: BSD-3-Clause
// A software authenticator for the WebAuthn tests: real OpenSSL keys (ES256,
// EdDSA, RS256), authenticatorData, attestation objects ("none", "packed"
// self and x5c) and assertion signatures built as CTAP2 and WebAuthn say,
// plus the browser's clientDataJSON. Test code: aborts on OpenSSL failure.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "webauthn.hpp"

namespace zsso::webauthn::test {

// Minimal canonical CBOR writer (RFC 8949 §4.2.1 heads).
std::string cbor_head(int major, std::uint64_t n);
std::string cbor_uint_or_neg(std::int64_t v);
std::string cbor_bytes(std::string_view b);
std::string cbor_text(std::string_view t);

class Key {
 public:
  explicit Key(Alg alg);
  Alg alg() const { return alg_; }
  std::string raw() const;   // libfido2's raw form
  std::string cose() const;  // COSE_Key CBOR
  std::string sign(std::string_view message) const;
  EVP_PKEY* pkey() const { return key_.get(); }

 private:
  Alg alg_;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
};

std::string client_data(std::string_view type, std::string_view challenge, std::string_view origin,
                        bool cross_origin = false);

std::string auth_data(std::string_view rp_id, std::uint8_t flags, std::uint32_t count);
std::string auth_data_attested(std::string_view rp_id, std::uint8_t flags, std::uint32_t count,
                               std::string_view aaguid, std::string_view credential_id, std::string_view cose);

std::string attestation_none(std::string_view auth_data);
// Packed self attestation: signed with the credential key itself.
std::string attestation_packed_self(std::string_view auth_data, std::string_view client_data_json, const Key& key);
// Packed full attestation: an ES256 attestation key with a self-signed
// certificate (optionally carrying the id-fido-gen-ce-aaguid extension).
std::string attestation_packed_x5c(std::string_view auth_data, std::string_view client_data_json, const Key& att_key,
                                   std::string_view cert_aaguid);

std::string sha256_bytes(std::string_view data);

}  // namespace zsso::webauthn::test
