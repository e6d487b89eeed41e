// SPDX-License-Identifier: BSD-3-Clause
// The broker's WebAuthn core (helper/authd/webauthn/webauthn.hpp) against
// registrations and assertions a software authenticator builds with real
// ES256, EdDSA and RS256 keys; each refusal checked for its reason.
#include "webauthn.hpp"

#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <string>

#include "webauthn_authenticator.hpp"

namespace {

using namespace zsso::webauthn;
using namespace zsso::webauthn::test;

constexpr std::uint8_t kUP = kFlagUserPresent;
constexpr std::uint8_t kUPUV = kFlagUserPresent | kFlagUserVerified;
const std::string kAaguid("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
const std::string kOtherAaguid(16, '\x77');

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  EXPECT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)), 1);
  return s;
}

class WebAuthn : public ::testing::TestWithParam<Alg> {
 protected:
  RelyingParty rp{"example.com", {"https://login.example.com", "https://sso.example.com"}, false};
  std::string challenge = random_bytes(32);
  std::string origin = "https://login.example.com";
  Key key{GetParam()};
  std::string cred_id = random_bytes(48);

  struct Reg {
    std::string cdj, ao;
  };
  Reg registration(std::uint8_t flags = kUP, std::string_view rp_id = "example.com",
                   std::string_view type = "webauthn.create") {
    Reg r;
    r.cdj = client_data(type, challenge, origin);
    auto ad = auth_data_attested(rp_id, flags, 0, kAaguid, cred_id, key.cose());
    r.ao = attestation_none(ad);
    return r;
  }

  struct Sig {
    std::string cdj, ad, sig;
  };
  Sig assertion(std::uint32_t count = 1, std::uint8_t flags = kUP, std::string_view rp_id = "example.com",
                std::string_view type = "webauthn.get", const Key* signer = nullptr) {
    Sig s;
    s.cdj = client_data(type, challenge, origin);
    s.ad = auth_data(rp_id, flags, count);
    s.sig = (signer ? *signer : key).sign(s.ad + sha256_bytes(s.cdj));
    return s;
  }
  StoredCredential stored(std::uint32_t count = 0) { return {GetParam(), key.raw(), count}; }
  Checked<Assertion> verify(const Sig& s, std::uint32_t stored_count = 0) {
    return verify_assertion(rp, challenge, stored(stored_count), s.cdj, s.ad, s.sig);
  }
};

#define EXPECT_REFUSED(checked, why)                                                     \
  do {                                                                                   \
    auto&& c_ = (checked);                                                               \
    ASSERT_FALSE(c_.ok());                                                               \
    EXPECT_EQ(refusal_name(c_.refused.reason), refusal_name(why)) << c_.refused.detail; \
  } while (0)

TEST_P(WebAuthn, RegistrationNoneGivesTheCredential) {
  auto r = registration(kUPUV);
  auto got = verify_registration(rp, challenge, r.cdj, r.ao);
  ASSERT_TRUE(got.ok()) << got.refused.detail;
  EXPECT_EQ(got.value->credential_id, cred_id);
  EXPECT_EQ(got.value->alg, GetParam());
  EXPECT_EQ(got.value->public_key, key.raw());
  EXPECT_EQ(got.value->public_key.size(), raw_key_size(GetParam()));
  EXPECT_EQ(got.value->aaguid, kAaguid);
  EXPECT_EQ(got.value->fmt, "none");
  EXPECT_TRUE(got.value->user_verified);
}

TEST_P(WebAuthn, RegistrationPackedSelfAttestation) {
  auto cdj = client_data("webauthn.create", challenge, origin);
  auto ad = auth_data_attested("example.com", kUP, 5, kAaguid, cred_id, key.cose());
  auto got = verify_registration(rp, challenge, cdj, attestation_packed_self(ad, cdj, key));
  ASSERT_TRUE(got.ok()) << got.refused.detail;
  EXPECT_TRUE(got.value->self_attested);
  EXPECT_EQ(got.value->sign_count, 5u);
  // Signed by another key of the same type: refused.
  Key other(GetParam());
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, attestation_packed_self(ad, cdj, other)), Refusal::attestation);
  // Signed over another clientDataJSON: refused.
  auto other_cdj = client_data("webauthn.create", challenge, "https://sso.example.com");
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, attestation_packed_self(ad, other_cdj, key)),
                 Refusal::attestation);
}

TEST_P(WebAuthn, RegistrationPackedX5cAndTheAaguidAllowList) {
  Key att(Alg::es256);
  auto cdj = client_data("webauthn.create", challenge, origin);
  auto ad = auth_data_attested("example.com", kUP, 0, kAaguid, cred_id, key.cose());
  auto ao = attestation_packed_x5c(ad, cdj, att, kAaguid);
  auto got = verify_registration(rp, challenge, cdj, ao);
  ASSERT_TRUE(got.ok()) << got.refused.detail;
  EXPECT_FALSE(got.value->self_attested);
  RegistrationPolicy listed{{kOtherAaguid, kAaguid}}, unlisted{{kOtherAaguid}};
  EXPECT_TRUE(verify_registration(rp, challenge, cdj, ao, listed).ok());
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, ao, unlisted), Refusal::aaguid);
  // "none" and self attestation name no maker: never pass an allow-list.
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, attestation_none(ad), listed), Refusal::aaguid);
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, attestation_packed_self(ad, cdj, key), listed),
                 Refusal::aaguid);
  // A certificate naming another AAGUID than the authenticatorData's.
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, attestation_packed_x5c(ad, cdj, att, kOtherAaguid)),
                 Refusal::attestation);
  // A certificate without the extension is allowed (it is optional).
  EXPECT_TRUE(verify_registration(rp, challenge, cdj, attestation_packed_x5c(ad, cdj, att, "")).ok());
  // A changed byte inside the attestation signature ("sig", 0x58 LEN, DER...).
  auto at_sig = ao.find("sig");
  ASSERT_NE(at_sig, std::string::npos);
  std::string tampered = ao;
  tampered[at_sig + 3 + 2 + 10] ^= 0x01;
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, tampered), Refusal::attestation);
}

TEST_P(WebAuthn, RegistrationRefusals) {
  auto good = registration();
  ASSERT_TRUE(verify_registration(rp, challenge, good.cdj, good.ao).ok());
  auto wrong_type = registration(kUP, "example.com", "webauthn.get");
  EXPECT_REFUSED(verify_registration(rp, challenge, wrong_type.cdj, wrong_type.ao), Refusal::type);
  EXPECT_REFUSED(verify_registration(rp, random_bytes(32), good.cdj, good.ao), Refusal::challenge);
  auto wrong_rp = registration(kUP, "evil.example");
  EXPECT_REFUSED(verify_registration(rp, challenge, wrong_rp.cdj, wrong_rp.ao), Refusal::rp_id);
  auto no_up = registration(0);
  EXPECT_REFUSED(verify_registration(rp, challenge, no_up.cdj, no_up.ao), Refusal::user_presence);
  rp.require_user_verification = true;
  EXPECT_REFUSED(verify_registration(rp, challenge, good.cdj, good.ao), Refusal::user_verification);
  auto uv = registration(kUPUV);
  EXPECT_TRUE(verify_registration(rp, challenge, uv.cdj, uv.ao).ok());
  rp.origins = {"https://sso.example.com"};
  EXPECT_REFUSED(verify_registration(rp, challenge, uv.cdj, uv.ao), Refusal::origin);
}

TEST_P(WebAuthn, AssertionVerifiesAndReturnsTheCount) {
  auto got = verify(assertion(7), 6);
  ASSERT_TRUE(got.ok()) << got.refused.detail;
  EXPECT_EQ(got.value->sign_count, 7u);
  EXPECT_FALSE(got.value->user_verified);
  // A key that keeps no count (always 0) passes with a stored 0.
  EXPECT_TRUE(verify(assertion(0), 0).ok());
}

TEST_P(WebAuthn, AssertionRefusals) {
  auto good = assertion(11);
  ASSERT_TRUE(verify(good, 10).ok());
  EXPECT_REFUSED(verify_assertion(rp, random_bytes(32), stored(10), good.cdj, good.ad, good.sig), Refusal::challenge);
  EXPECT_REFUSED(verify_assertion(rp, challenge.substr(0, 31), stored(10), good.cdj, good.ad, good.sig),
                 Refusal::challenge);
  EXPECT_REFUSED(verify(assertion(11, kUP, "example.com", "webauthn.create")), Refusal::type);
  EXPECT_REFUSED(verify(assertion(11, kUP, "login.example.com")), Refusal::rp_id);
  EXPECT_REFUSED(verify(assertion(11, kFlagUserVerified)), Refusal::user_presence);
  std::string bad_sig = good.sig;
  bad_sig[bad_sig.size() / 2] ^= 0x40;
  EXPECT_REFUSED(verify_assertion(rp, challenge, stored(10), good.cdj, good.ad, bad_sig), Refusal::signature);
  // authenticatorData changed after signing (the count raised): the signature fails.
  std::string raised = good.ad;
  raised[36] = static_cast<char>(raised[36] + 1);
  EXPECT_REFUSED(verify_assertion(rp, challenge, stored(10), good.cdj, raised, good.sig), Refusal::signature);
  // Another credential's key (same algorithm) did the signing.
  Key other(GetParam());
  EXPECT_REFUSED(verify(assertion(11, kUP, "example.com", "webauthn.get", &other), 10), Refusal::signature);
  // Stored key of another algorithm.
  Alg another = GetParam() == Alg::es256 ? Alg::eddsa : Alg::es256;
  Key foreign(another);
  EXPECT_REFUSED(verify_assertion(rp, challenge, StoredCredential{another, foreign.raw(), 0}, good.cdj, good.ad, good.sig),
                 Refusal::signature);
  rp.origins = {"https://sso.example.com"};
  EXPECT_REFUSED(verify(good, 10), Refusal::origin);
}

TEST_P(WebAuthn, SignCountMustGrow) {
  EXPECT_REFUSED(verify(assertion(9), 10), Refusal::sign_count);   // lowered
  EXPECT_REFUSED(verify(assertion(10), 10), Refusal::sign_count);  // replayed count
  EXPECT_REFUSED(verify(assertion(0), 10), Refusal::sign_count);   // counting stopped
  EXPECT_TRUE(verify(assertion(11), 10).ok());
  EXPECT_TRUE(verify(assertion(1), 0).ok());
}

TEST_P(WebAuthn, UserVerificationWhenRequired) {
  rp.require_user_verification = true;
  EXPECT_REFUSED(verify(assertion(1, kUP)), Refusal::user_verification);
  auto got = verify(assertion(1, kUPUV));
  ASSERT_TRUE(got.ok()) << got.refused.detail;
  EXPECT_TRUE(got.value->user_verified);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, WebAuthn, ::testing::Values(Alg::es256, Alg::eddsa, Alg::rs256),
                         [](const auto& info) { return std::string(alg_name(info.param)); });

TEST(WebAuthnParse, ClientData) {
  auto ok = parse_client_data(R"({"type":"webauthn.get","challenge":"AAEC","origin":"https://a","crossOrigin":false})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value->challenge, std::string("\0\1\2", 3));
  EXPECT_REFUSED(parse_client_data("not json"), Refusal::malformed);
  EXPECT_REFUSED(parse_client_data("[]"), Refusal::malformed);
  EXPECT_REFUSED(parse_client_data(R"({"type":"webauthn.get","origin":"https://a"})"), Refusal::malformed);
  EXPECT_REFUSED(parse_client_data(R"({"type":"webauthn.get","challenge":"AA==","origin":"https://a"})"),
                 Refusal::challenge);  // padded: not base64url
  EXPECT_REFUSED(parse_client_data(R"({"type":1,"challenge":"AAEC","origin":"https://a"})"), Refusal::malformed);
  EXPECT_REFUSED(parse_client_data(R"({"type":"webauthn.get","challenge":"AAEC","origin":"https://a","crossOrigin":"no"})"),
                 Refusal::malformed);
  auto cross = parse_client_data(R"({"type":"webauthn.get","challenge":"AAEC","origin":"https://a","crossOrigin":true})");
  ASSERT_TRUE(cross.ok());
  EXPECT_TRUE(cross.value->cross_origin);
}

TEST(WebAuthnParse, CrossOriginIsRefused) {
  RelyingParty rp{"example.com", {"https://login.example.com"}, false};
  Key key(Alg::es256);
  std::string challenge = random_bytes(16);
  auto cdj = client_data("webauthn.get", challenge, "https://login.example.com", true);
  auto ad = auth_data("example.com", kUP, 1);
  EXPECT_REFUSED(verify_assertion(rp, challenge, {Alg::es256, key.raw(), 0}, cdj, ad, key.sign(ad + sha256_bytes(cdj))),
                 Refusal::origin);
}

TEST(WebAuthnParse, AuthenticatorData) {
  std::string ad = auth_data("example.com", kUP, 0x01020304);
  auto got = parse_authenticator_data(ad);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value->sign_count, 0x01020304u);
  EXPECT_EQ(got.value->flags, kUP);
  EXPECT_REFUSED(parse_authenticator_data(ad.substr(0, 36)), Refusal::malformed);
  EXPECT_REFUSED(parse_authenticator_data(ad + "x"), Refusal::malformed);  // trailing bytes
  // Extensions flag: exactly one CBOR map follows.
  std::string with_ext = auth_data("example.com", kUP | kFlagExtensions, 1);
  EXPECT_TRUE(parse_authenticator_data(with_ext + cbor_head(5, 0)).ok());
  EXPECT_REFUSED(parse_authenticator_data(with_ext), Refusal::malformed);
  EXPECT_REFUSED(parse_authenticator_data(with_ext + cbor_head(5, 0) + "x"), Refusal::malformed);
  // Attested data: a credential id longer than what follows.
  Key key(Alg::eddsa);
  std::string att = auth_data_attested("example.com", kUP, 0, kAaguid, "id", key.cose());
  auto parsed = parse_authenticator_data(att);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value->credential_id, "id");
  EXPECT_EQ(parsed.value->cose_key, key.cose());
  att[37 + 16] = '\x7f';
  EXPECT_REFUSED(parse_authenticator_data(att), Refusal::malformed);
}

TEST(WebAuthnParse, CoseKeys) {
  for (Alg alg : {Alg::es256, Alg::eddsa, Alg::rs256}) {
    Key key(alg);
    auto got = parse_cose_key(key.cose());
    ASSERT_TRUE(got.ok()) << alg_name(alg);
    EXPECT_EQ(got.value->alg, alg);
    EXPECT_EQ(got.value->raw, key.raw());
  }
  // ES384 (-35) and a P-256 key claiming EdDSA: not ours.
  std::string xy(32, '\x01');
  auto es = [&](std::int64_t alg, std::int64_t crv) {
    return cbor_head(5, 5) + cbor_uint_or_neg(1) + cbor_uint_or_neg(2) + cbor_uint_or_neg(3) + cbor_uint_or_neg(alg) +
           cbor_uint_or_neg(-1) + cbor_uint_or_neg(crv) + cbor_uint_or_neg(-2) + cbor_bytes(xy) + cbor_uint_or_neg(-3) +
           cbor_bytes(xy);
  };
  EXPECT_REFUSED(parse_cose_key(es(-35, 2)), Refusal::algorithm);
  EXPECT_REFUSED(parse_cose_key(es(-8, 1)), Refusal::algorithm);
  EXPECT_REFUSED(parse_cose_key(es(-7, 2)), Refusal::algorithm);
  EXPECT_TRUE(parse_cose_key(es(-7, 1)).ok());  // parses; the point is checked when loaded
  // Repeated key, trailing bytes, not a map.
  EXPECT_REFUSED(parse_cose_key(cbor_head(5, 2) + cbor_uint_or_neg(1) + cbor_uint_or_neg(2) + cbor_uint_or_neg(1) +
                                cbor_uint_or_neg(2)),
                 Refusal::malformed);
  EXPECT_REFUSED(parse_cose_key(es(-7, 1) + "x"), Refusal::malformed);
  EXPECT_REFUSED(parse_cose_key(cbor_head(4, 0)), Refusal::malformed);
}

TEST(WebAuthnParse, PointOffTheCurveIsNoKey) {
  RelyingParty rp{"example.com", {"https://login.example.com"}, false};
  std::string challenge = random_bytes(16);
  std::string xy(32, '\x01');
  std::string cose = cbor_head(5, 5) + cbor_uint_or_neg(1) + cbor_uint_or_neg(2) + cbor_uint_or_neg(3) +
                     cbor_uint_or_neg(-7) + cbor_uint_or_neg(-1) + cbor_uint_or_neg(1) + cbor_uint_or_neg(-2) +
                     cbor_bytes(xy) + cbor_uint_or_neg(-3) + cbor_bytes(xy);
  auto cdj = client_data("webauthn.create", challenge, "https://login.example.com");
  auto ao = attestation_none(auth_data_attested("example.com", kUP, 0, kAaguid, "id", cose));
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, ao), Refusal::algorithm);
}

TEST(WebAuthnParse, AttestationObjects) {
  Key key(Alg::es256);
  auto ad = auth_data_attested("example.com", kUP, 0, kAaguid, "id", key.cose());
  auto got = parse_attestation_object(attestation_none(ad));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value->fmt, "none");
  EXPECT_EQ(got.value->auth_data, ad);
  EXPECT_EQ(got.value->att_stmt, cbor_head(5, 0));
  EXPECT_REFUSED(parse_attestation_object(cbor_head(5, 1) + cbor_text("fmt") + cbor_text("none")), Refusal::malformed);
  EXPECT_REFUSED(parse_attestation_object(attestation_none(ad) + "x"), Refusal::malformed);
  // Unsupported formats are refused by the ceremony, not the parser.
  RelyingParty rp{"example.com", {"https://login.example.com"}, false};
  std::string challenge = random_bytes(16);
  auto cdj = client_data("webauthn.create", challenge, "https://login.example.com");
  std::string u2f = cbor_head(5, 3) + cbor_text("fmt") + cbor_text("fido-u2f") + cbor_text("attStmt") + cbor_head(5, 0) +
                    cbor_text("authData") + cbor_bytes(ad);
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, u2f), Refusal::attestation);
  std::string none_with_stmt = cbor_head(5, 3) + cbor_text("fmt") + cbor_text("none") + cbor_text("attStmt") +
                               cbor_head(5, 1) + cbor_text("sig") + cbor_bytes("x") + cbor_text("authData") +
                               cbor_bytes(ad);
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, none_with_stmt), Refusal::attestation);
  // An assertion's authenticatorData (no attested credential) cannot register.
  auto plain = cbor_head(5, 3) + cbor_text("fmt") + cbor_text("none") + cbor_text("attStmt") + cbor_head(5, 0) +
               cbor_text("authData") + cbor_bytes(auth_data("example.com", kUP, 0));
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, plain), Refusal::malformed);
}

// Found by fuzz_webauthn: libcbor 0.8 allocates a definite array or map for
// its declared size before reading it (a 9-byte header asked for 13 GB).
// Such headers, indefinite lengths and deep nesting are refused first.
TEST(WebAuthnParse, CborHeadersClaimingMoreThanTheInputAreRefused) {
  std::string head = cbor_head(5, 3) + cbor_text("fmt") + cbor_text("none") + cbor_text("attStmt");
  EXPECT_REFUSED(parse_attestation_object(head + "\x9a\x66\x6d\x74\x64"), Refusal::malformed);
  EXPECT_REFUSED(parse_attestation_object(head + "\x9b\xff\xff\xff\xff\xff\xff\xff\xff"), Refusal::malformed);
  EXPECT_REFUSED(parse_cose_key("\xbb\x00\x00\x00\x01\x00\x00\x00\x00"), Refusal::malformed);
  EXPECT_REFUSED(parse_cose_key("\xba\x00\x00\x00\x02" + std::string(3, '\x01')), Refusal::malformed);
  EXPECT_REFUSED(parse_cose_key("\x5a\xff\xff\xff\xff"), Refusal::malformed);  // byte string past the end
  EXPECT_REFUSED(parse_cose_key("\xbf\x01\x02\xff"), Refusal::malformed);      // indefinite map
  std::string ext = auth_data("example.com", kUP | kFlagExtensions, 1);
  auto nested = [](int containers) {  // a map, arrays of one, an empty array
    return cbor_head(5, 1) + cbor_uint_or_neg(1) + std::string(static_cast<std::size_t>(containers - 2), '\x81') +
           cbor_head(4, 0);
  };
  EXPECT_TRUE(parse_authenticator_data(ext + nested(16)).ok());
  EXPECT_REFUSED(parse_authenticator_data(ext + nested(17)), Refusal::malformed);
}

TEST(WebAuthnParse, SelfAttestationAlgMustBeTheCredentials) {
  RelyingParty rp{"example.com", {"https://login.example.com"}, false};
  std::string challenge = random_bytes(16);
  Key key(Alg::es256);
  auto cdj = client_data("webauthn.create", challenge, "https://login.example.com");
  auto ad = auth_data_attested("example.com", kUP, 0, kAaguid, "id", key.cose());
  std::string sig = key.sign(ad + sha256_bytes(cdj));
  std::string stmt = cbor_head(5, 2) + cbor_text("alg") + cbor_uint_or_neg(-257) + cbor_text("sig") + cbor_bytes(sig);
  std::string ao = cbor_head(5, 3) + cbor_text("fmt") + cbor_text("packed") + cbor_text("attStmt") + stmt +
                   cbor_text("authData") + cbor_bytes(ad);
  EXPECT_REFUSED(verify_registration(rp, challenge, cdj, ao), Refusal::attestation);
}

}  // namespace
