// SPDX-License-Identifier: BSD-3-Clause
// WebAuthn parsing (helper/authd/webauthn/). First byte: 0 clientDataJSON,
// 1 authenticatorData, 2 a COSE key, 3 an attestationObject (then the whole
// registration check with a fixed challenge), 4 an authenticatorData as an
// assertion with a fixed key, 5 a pam_u2f authfile (and side file).
// Invariants: what parses is inside the input and consistent with it; a
// fixed challenge is never matched by chance; what the authfile reader
// accepts is written back and read again to the same credentials.
#include <cstddef>
#include <cstdint>
#include <string>

#include "authfile.hpp"
#include "fuzz_support.hpp"
#include "webauthn.hpp"
#include "zsso/sha256.hpp"

namespace wa = zsso::webauthn;
namespace af = zsso::authfile;

namespace {

const wa::RelyingParty kRp{"example.com", {"https://login.example.com"}, false};
// The challenge the fuzzer would have to guess: 32 bytes it never sees.
const std::string kChallenge(32, '\xA5');

bool same_credentials(const std::vector<af::Credential>& a, const std::vector<af::Credential>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].key_handle != b[i].key_handle || a[i].public_key != b[i].public_key || a[i].type != b[i].type ||
        a[i].presence != b[i].presence || a[i].verification != b[i].verification || a[i].pin != b[i].pin)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  auto input = fuzz_input(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0: {
      auto cd = wa::parse_client_data(input);
      if (cd) {
        FUZZ_CHECK(cd.value->challenge.size() * 4 / 3 <= input.size());
        FUZZ_CHECK(cd.value->origin.size() < input.size());
      }
      break;
    }
    case 1: {
      auto ad = wa::parse_authenticator_data(input);
      if (ad) {
        FUZZ_CHECK(input.size() >= 37);
        FUZZ_CHECK(ad.value->sign_count == (std::uint32_t{data[34]} << 24 | std::uint32_t{data[35]} << 16 |
                                            std::uint32_t{data[36]} << 8 | data[37]));
        if (ad.value->flags & wa::kFlagAttested) {
          FUZZ_CHECK(ad.value->aaguid.size() == 16);
          FUZZ_CHECK(!ad.value->credential_id.empty() && ad.value->credential_id.size() <= 1023);
          FUZZ_CHECK(37 + 18 + ad.value->credential_id.size() + ad.value->cose_key.size() <= input.size());
          FUZZ_CHECK(input.substr(37 + 18, ad.value->credential_id.size()) == ad.value->credential_id);
        } else {
          FUZZ_CHECK(ad.value->credential_id.empty() && ad.value->cose_key.empty());
        }
      }
      break;
    }
    case 2: {
      auto key = wa::parse_cose_key(input);
      if (key) FUZZ_CHECK(key.value->raw.size() == wa::raw_key_size(key.value->alg));
      break;
    }
    case 3: {
      auto ao = wa::parse_attestation_object(input);
      if (ao) FUZZ_CHECK(ao.value->auth_data.size() < input.size() && !ao.value->att_stmt.empty());
      // A clientDataJSON with the right challenge; the attestation is the fuzzer's.
      std::string cdj = R"({"type":"webauthn.create","challenge":"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU","origin":"https://login.example.com"})";
      auto reg = wa::verify_registration(kRp, kChallenge, cdj, input);
      if (reg) {
        // Accepted: then it parsed, names our rp id and had the user present.
        FUZZ_CHECK(ao.ok());
        auto ad = wa::parse_authenticator_data(ao.value->auth_data);
        FUZZ_CHECK(ad.ok() && (ad.value->flags & wa::kFlagUserPresent));
        auto want = zsso::sha256("example.com");
        FUZZ_CHECK(std::equal(want.begin(), want.end(), ad.value->rp_id_hash.begin()));
        FUZZ_CHECK(reg.value->public_key.size() == wa::raw_key_size(reg.value->alg));
        FUZZ_CHECK(reg.value->fmt == "none" || reg.value->fmt == "packed");
      }
      // With a challenge it was not issued for: never accepted.
      FUZZ_CHECK(!wa::verify_registration(kRp, std::string(32, '\x5A'), cdj, input).ok());
      break;
    }
    case 4: {
      // A fixed Ed25519 key (RFC 8032 test 1): the fuzzer cannot sign the
      // fixed clientData's hash, so no assertion may verify.
      std::string cdj = R"({"type":"webauthn.get","challenge":"paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU","origin":"https://login.example.com"})";
      auto split = input.find('\0');
      auto ad = input.substr(0, split);
      auto sig = split == std::string_view::npos ? std::string_view{} : input.substr(split + 1);
      const std::string pk("\xd7\x5a\x98\x01\x82\xb1\x0a\xb7\xd5\x4b\xfe\xd3\xc9\x64\x07\x3a"
                           "\x0e\xe1\x72\xf3\xda\xa6\x23\x25\xaf\x02\x1a\x68\xf7\x07\x51\x1a", 32);
      wa::StoredCredential key{wa::Alg::eddsa, pk, 0};
      FUZZ_CHECK(!wa::verify_assertion(kRp, kChallenge, key, cdj, ad, sig).ok());
      break;
    }
    case 5: {
      auto users = af::parse_file(input);
      if (users) {
        auto text = af::format_file(*users);
        FUZZ_CHECK(text.ok());
        auto again = af::parse_file(*text);
        FUZZ_CHECK(again.ok() && again->size() == users->size());
        for (const auto& [user, creds] : *users) FUZZ_CHECK(same_credentials(again->at(user), creds));
        auto text2 = af::format_file(*again);
        FUZZ_CHECK(text2.ok() && *text2 == *text);
      }
      auto side = af::parse_side_file(input);
      if (side) {
        auto text = af::format_side_file(*side);
        FUZZ_CHECK(text.ok());
        auto again = af::parse_side_file(*text);
        FUZZ_CHECK(again.ok() && again->size() == side->size());
      }
      break;
    }
  }
  return 0;
}
