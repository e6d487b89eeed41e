// SPDX-License-Identifier: BSD-3-Clause
// The broker's WebAuthn verification core (issue 23, slice 1): what a
// browser's navigator.credentials.create() and .get() return, checked
// against the challenge the broker issued, its relying party and the stored
// key. clientDataJSON, authenticatorData and the COSE key are parsed here
// (nlohmann/json, libcbor); signatures and packed attestation are checked
// by libfido2 (the code pam_u2f verifies with), whose raw public-key forms
// are exactly what pam_u2f's authfile stores. No exceptions leave this API;
// every refusal says why. Nothing here keeps state: the caller owns the
// challenge (single use) and the stored sign count.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authfile.hpp"

namespace zsso::webauthn {

// COSE algorithm identifiers (RFC 9053): the authfile's own type, so a
// stored credential's type is the algorithm verified with.
using Alg = authfile::CoseType;
inline std::string_view alg_name(Alg alg) { return authfile::type_name(alg); }
inline std::optional<Alg> alg_from_name(std::string_view name) { return authfile::type_from_name(name); }
using authfile::raw_key_size;

// Why a ceremony was refused; tests and the audit log name the reason.
enum class Refusal {
  malformed,          // not JSON / CBOR / the structure WebAuthn defines
  type,               // clientDataJSON type is not webauthn.get / webauthn.create
  challenge,          // not the challenge issued
  origin,             // not in the configured origins (or crossOrigin)
  rp_id,              // rpIdHash is not SHA-256(rp_id)
  user_presence,      // UP flag missing
  user_verification,  // UV flag missing while required
  algorithm,          // a COSE algorithm or key we do not take
  signature,          // the signature does not verify with the key
  sign_count,         // the count did not grow: possible cloned key
  attestation,        // attestation format unknown or its statement fails
  aaguid,             // not in the admin's AAGUID allow-list
};
std::string_view refusal_name(Refusal r);

struct Refused {
  Refusal reason;
  std::string detail;  // for the log: never holds a secret
};

// A value or a refusal, like zsso::Result but with a reason code.
template <class T>
struct Checked {
  std::optional<T> value;
  Refused refused{Refusal::malformed, {}};
  bool ok() const { return value.has_value(); }
  explicit operator bool() const { return ok(); }
  static Checked fail(Refusal r, std::string detail) { return Checked{std::nullopt, Refused{r, std::move(detail)}}; }
};

// What the broker is configured with (webauthn.rp_id, webauthn.origins,
// webauthn.user_verification == "required").
struct RelyingParty {
  std::string rp_id;
  std::vector<std::string> origins;
  bool require_user_verification = false;
};

// --- Parsers (fuzzed: tests/fuzz/fuzz_webauthn.cpp) ---

struct ClientData {
  std::string type;
  std::string challenge;  // decoded bytes
  std::string origin;
  bool cross_origin = false;
};
Checked<ClientData> parse_client_data(std::string_view json);

inline constexpr std::uint8_t kFlagUserPresent = 0x01;
inline constexpr std::uint8_t kFlagUserVerified = 0x04;
inline constexpr std::uint8_t kFlagAttested = 0x40;
inline constexpr std::uint8_t kFlagExtensions = 0x80;

struct CoseKey {
  Alg alg = Alg::es256;
  std::string raw;  // libfido2's raw form (see raw_key_size)
};
// A COSE_Key map: EC2 P-256 with alg -7, OKP Ed25519 with alg -8, RSA with
// alg -257 and a 2048-bit modulus (what libfido2 takes).
Checked<CoseKey> parse_cose_key(std::string_view cbor);

struct AuthenticatorData {
  std::array<unsigned char, 32> rp_id_hash{};
  std::uint8_t flags = 0;
  std::uint32_t sign_count = 0;
  // With kFlagAttested (registrations):
  std::string aaguid;         // 16 bytes
  std::string credential_id;  // 1..1023 bytes
  std::string cose_key;       // the COSE_Key's CBOR bytes as sent
};
Checked<AuthenticatorData> parse_authenticator_data(std::string_view raw);

struct AttestationObject {
  std::string fmt;
  std::string auth_data;  // raw authenticatorData
  std::string att_stmt;   // the attStmt map, CBOR-encoded again
};
Checked<AttestationObject> parse_attestation_object(std::string_view cbor);

// --- Ceremonies ---

struct Registration {
  std::string credential_id;
  Alg alg = Alg::es256;
  std::string public_key;  // raw form, as the authfile stores it (base64)
  std::string aaguid;      // 16 bytes
  std::uint32_t sign_count = 0;
  bool user_verified = false;
  std::string fmt;           // "none" or "packed"
  bool self_attested = false;  // packed without x5c
};

struct RegistrationPolicy {
  // Empty: any authenticator. Otherwise the AAGUIDs (16 raw bytes each)
  // taken; "none" attestation then never passes, as it proves no AAGUID.
  std::vector<std::string> aaguid_allow;
};

// challenge: the raw bytes issued for this ceremony (compared in constant time).
Checked<Registration> verify_registration(const RelyingParty& rp, std::string_view challenge,
                                          std::string_view client_data_json,
                                          std::string_view attestation_object,
                                          const RegistrationPolicy& policy = {}) noexcept;

struct StoredCredential {
  Alg alg = Alg::es256;
  std::string public_key;        // raw form
  std::uint32_t sign_count = 0;  // last count seen (0: none yet / key keeps none)
};

struct Assertion {
  std::uint32_t sign_count = 0;  // to store for next time
  bool user_verified = false;
};

// A count that does not grow when either side is non-zero is refused
// (Refusal::sign_count): the caller logs it as a possible clone.
Checked<Assertion> verify_assertion(const RelyingParty& rp, std::string_view challenge,
                                    const StoredCredential& key, std::string_view client_data_json,
                                    std::string_view authenticator_data,
                                    std::string_view signature) noexcept;

}  // namespace zsso::webauthn
