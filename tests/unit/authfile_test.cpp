// SPDX-License-Identifier: BSD-3-Clause
// pam_u2f's authfile format (helper/authd/webauthn/authfile.hpp), both ways:
// lines pamu2fcfg wrote (pam_u2f's own test credentials) parse here; lines we
// write parse under pam_u2f's rules (strtok on ':' and ',', base64 through
// OpenSSL, the key through libfido2's *_pk_from_ptr, as pam_u2f's util.c
// does) and the key they hold verifies a real assertion.
#include "authfile.hpp"

#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "webauthn.hpp"
#include "webauthn_authenticator.hpp"
#include "zsso/base64url.hpp"

namespace {

using namespace zsso::authfile;
namespace wa = zsso::webauthn;

// Verbatim from Yubico/pam-u2f tests/credentials/ (written by pamu2fcfg).
const char kNew[] =  // new_: pamu2fcfg
    "myuser:vlcWFQFik8gJySuxMTlRwSDvnq9u/mlMXRIqv4rd7Kq2CJj1V9Uh9PqbTF8UkY3EcQfHeS0G3nY0ibyxXE0pdw==,"
    "CTTRrHrqQmqfyI7/bhtAknx9TGCqhd936JdcoekUxUa6PNA6uYzsvFN0qaE+j2LchLPU4vajQPdAOcvvvNfWCA==,es256,+presence";
const char kPin[] =  // new_-N: pamu2fcfg -N
    "myuser:IPbgFVDLguVOr5GzdV7C5MH4Ec+bWfG2hifOy0IWWvNsHUZyN5x0rqbAoGWQPgxbAuQTKfk/n+3U9h4AWf8QXg==,"
    "5KfKYcZofwqflFbr+d+df0e9b8nfLulducJ1WMyTBO00Rf3rL3JInYeccS2+xvI+eYNsZmJ3RR6zFAPkkBUhzA==,es256,+presence+pin";
const char kVerification[] =  // new_-P-V: pamu2fcfg -P -V
    "myuser:WSSDFwB8Bv4wg5pOLzYNRsqyJYi6/rbuxL6nzuvPOkpSslyNX/8lcZSsPfBmuWkRE1CNh7xvalAlBUz1/LUcbg==,"
    "XUIVb5hwOunVJvtwDXAWr5/FTd7tkbYN6ahTzrSwmLtd8ISBJq9LBJ9v1NwfHBMakdCOBbl8LMVc7bDBSrMoZw==,es256,+verification";
const char kResident[] =  // new_-r-P-V: pamu2fcfg -r -P -V
    "myuser:*,GhUPBL+KXG7F7PwhO+F3WDZx4KfxoxYwh7h5rqAzsIqkFESR21CqE7vkCvoWm2dFTU51aJd2qdw/VmxJ0N/vRQ==,es256,"
    "+verification";
const char kDouble[] =  // new_double_-P-V-N
    "myuser:Ypw0/A5KEPshXH0zO72Qlgt1uHvB4VnVRBpObzVGDeS8LxR9smealISARIOo3rlOLgjqj6dkJxqu1LoLm22UpA==,"
    "dFnZLWVzEvbSw6O4ld9Fjb1Pki4NptNpvASGEthr5GsaWRp6pLe1Uqwm/IrVrOgwO2Q6sB0SXsQKdAIWbMrPHw==,es256,"
    "+verification+pin:IMaY3yG6NuO4oVjrKUrCArluNfimT+5pnxB2jA0CXD7xjmhUO+90lILLwxxnGYKvbq2X5wlxLNnuQLm5gpt7ig==,"
    "bDTCB4xWqBY9gh6BLP8b4gJmUIYIQbckvrSMDX/8lyftL/uesJBxblHkDVzfCIatAzqKZ6kltokEHE8saX8phA==,es256,+verification+pin";
const char kOld[] =  // old_credential: the pre-1.1 format
    "myuser:mGvXxDqTMSVkSlDnDRNTVsP5Ij9cceCkdZkSJYeaJCHCOpBtMIFGQXKBBkvZpV5bWuEuJkoElIiMKirhCPAU8Q,"
    "0405a35641a6f5b63e2ef4449393e7e1cb2b96711e797fc74dbd63e99dbf410ffe7425e79f8c41d8f049c8f7241a803563a43c139f923f0ab"
    "9007fbd0dcc722927";

TEST(Authfile, ReadsLinesPamu2fcfgWrote) {
  auto n = parse_line(kNew);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->user, "myuser");
  ASSERT_EQ(n->credentials.size(), 1u);
  EXPECT_EQ(n->credentials[0].key_handle.size(), 64u);
  EXPECT_EQ(n->credentials[0].public_key.size(), 64u);
  EXPECT_TRUE(n->credentials[0].presence);
  EXPECT_FALSE(n->credentials[0].verification);

  auto pin = parse_line(kPin);
  ASSERT_TRUE(pin.ok()) << pin.error();
  EXPECT_TRUE(pin->credentials[0].presence && pin->credentials[0].pin);

  auto uv = parse_line(kVerification);
  ASSERT_TRUE(uv.ok()) << uv.error();
  EXPECT_TRUE(uv->credentials[0].verification);
  EXPECT_FALSE(uv->credentials[0].presence);

  auto rk = parse_line(kResident);
  ASSERT_TRUE(rk.ok()) << rk.error();
  EXPECT_TRUE(rk->credentials[0].resident());

  auto two = parse_line(kDouble);
  ASSERT_TRUE(two.ok()) << two.error();
  ASSERT_EQ(two->credentials.size(), 2u);
  EXPECT_NE(two->credentials[0].public_key, two->credentials[1].public_key);

  auto old = parse_line(kOld);
  ASSERT_TRUE(old.ok()) << old.error();
  EXPECT_EQ(old->credentials[0].public_key.substr(0, 4), std::string("\x05\xa3\x56\x41", 4));
  EXPECT_TRUE(old->credentials[0].presence);
}

TEST(Authfile, WritesWhatItReadsByteForByte) {
  for (const char* line : {kNew, kPin, kVerification, kResident, kDouble}) {
    auto e = parse_line(line);
    ASSERT_TRUE(e.ok()) << line;
    auto again = format_line(*e);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, line);
  }
  // The old format is read, and written as the new one (es256, +presence).
  auto old = parse_line(kOld);
  ASSERT_TRUE(old.ok());
  auto line = format_line(*old);
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line->ends_with(",es256,+presence"));
  auto back = parse_line(*line);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->credentials[0].public_key, old->credentials[0].public_key);
  EXPECT_EQ(back->credentials[0].key_handle, old->credentials[0].key_handle);
}

TEST(Authfile, RefusesWhatPamU2fWouldMisread) {
  const std::string good(kNew);
  const auto comma = good.find(',');
  for (std::string bad : {
           std::string(":") + good.substr(7),                                // no user
           std::string("my user") + good.substr(6),                          // space in the name
           std::string("myuser"),                                            // no credential
           good + ":",                                                       // empty credential
           good + "\r",                                                      // CRLF file
           "myuser:" + good.substr(comma + 1),                               // key handle missing
           good.substr(0, good.size() - 9) + "+touch",                       // unknown option
           good.substr(0, good.size() - 9) + "+presence+presence",          // option twice
           good.substr(0, good.size() - 9) + "presence",                     // no '+'
           std::string("myuser:*,AAAA,es256,"),                             // key too short
           good.substr(0, good.find(",es256")) + ",es384,+presence",         // type we do not take
           good.substr(0, good.find(",es256")) + ",eddsa,+presence",         // 64-byte key as eddsa
           good + ",extra",                                                  // a fifth field
           "myuser:" + good.substr(7, comma - 7 - 2) + "-_," + good.substr(comma + 1),  // url alphabet
       }) {
    EXPECT_FALSE(parse_line(bad).ok()) << bad;
  }
}

TEST(Authfile, FileKeepsEachUsersLastLineAndNamesBadLines) {
  std::string text = std::string(kDouble) + "\n\n" + kNew + "\n" + "other" + std::string(kPin).substr(6) + "\n";
  auto users = parse_file(text);
  ASSERT_TRUE(users.ok()) << users.error();
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ(users->at("myuser").size(), 1u);  // kNew replaced kDouble, as in pam_u2f
  EXPECT_TRUE(users->at("other")[0].pin);
  auto written = format_file(*users);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, std::string(kNew) + "\n" + "other" + std::string(kPin).substr(6) + "\n");
  auto bad = parse_file(std::string(kNew) + "\nmyuser:junk\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("line 2"), std::string::npos) << bad.error();
}

TEST(Authfile, SideFileRoundTripsAndMapsUserHandles) {
  SideFile side;
  side[std::string(64, '\x01')] = {"alice", 17, "handle-alice"};
  side[std::string(32, '\x02')] = {"bob", 0, ""};
  auto text = format_side_file(side);
  ASSERT_TRUE(text.ok()) << text.error();
  auto back = parse_side_file(*text);
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ(back->at(std::string(64, '\x01')).sign_count, 17u);
  EXPECT_EQ(account_for_user_handle(*back, "handle-alice"), "alice");
  EXPECT_EQ(account_for_user_handle(*back, "handle-bob"), "");
  EXPECT_EQ(account_for_user_handle(*back, ""), "");
  // What the side file could not read back is not written.
  EXPECT_FALSE(format_side_file({{std::string(32, '\x04'), {"bad\xff", 0, ""}}}).ok());
  EXPECT_FALSE(format_side_file({{std::string(32, '\x04'), {"a:b", 0, ""}}}).ok());
  EXPECT_FALSE(format_side_file({{std::string(32, '\x04'), {"a", 0, std::string(65, 'h')}}}).ok());
  // Two accounts claiming one handle name none.
  side[std::string(32, '\x03')] = {"mallory", 0, "handle-alice"};
  EXPECT_EQ(account_for_user_handle(side, "handle-alice"), "");
  for (const char* bad : {"", "[]", R"({"version":2,"credentials":{}})",
                          R"({"version":1,"credentials":{"AAAA":{"user":"a","sign_count":-1}}})",
                          R"({"version":1,"credentials":{"AAAA":{"user":"a","sign_count":4294967296}}})",
                          R"({"version":1,"credentials":{"AAAA":{"user":"a:b"}}})",
                          R"({"version":1,"credentials":{"A":{"user":"a"}}})",
                          R"({"version":1,"credentials":{"AAAA":{"user":"a","user_handle":"a+b"}}})"})
    EXPECT_FALSE(parse_side_file(bad).ok()) << bad;
}

// --- pam_u2f's reading of a line, after its util.c (native format) ---

std::string pam_u2f_b64_decode(const std::string& in) {
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return {};
  std::size_t pad = in.ends_with("==") ? 2 : in.ends_with('=') ? 1 : 0;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

struct PamU2fDevice {
  std::string key_handle, public_key, cose_type, attributes;
};

// strtok_r on ':' (user, then credentials) and ',' (kh, pk, type, attr),
// exactly as parse_native_format / parse_native_credential.
std::vector<PamU2fDevice> pam_u2f_parse(std::string line, const char* username) {
  std::vector<PamU2fDevice> devs;
  char* save = nullptr;
  char* user = strtok_r(line.data(), ":", &save);
  if (!user || std::strcmp(user, username) != 0) return devs;
  while (char* cred = strtok_r(nullptr, ":", &save)) {
    char* s2 = nullptr;
    const char* kh = strtok_r(cred, ",", &s2);
    const char* pk = kh ? strtok_r(nullptr, ",", &s2) : nullptr;
    const char* type = pk ? strtok_r(nullptr, ",", &s2) : nullptr;
    const char* attr = type ? strtok_r(nullptr, ",", &s2) : nullptr;
    if (!kh || !pk || !type) return {};
    devs.push_back({kh, pk, type, attr ? attr : ""});
  }
  return devs;
}

// pam_u2f's key load: b64 decode, then the type's *_pk_from_ptr.
bool pam_u2f_loads(const PamU2fDevice& d) {
  std::string pk = pam_u2f_b64_decode(d.public_key);
  if (d.cose_type == "es256") {
    es256_pk_t* k = es256_pk_new();
    bool ok = es256_pk_from_ptr(k, pk.data(), pk.size()) == FIDO_OK;
    es256_pk_free(&k);
    return ok;
  }
  if (d.cose_type == "eddsa") {
    eddsa_pk_t* k = eddsa_pk_new();
    bool ok = eddsa_pk_from_ptr(k, pk.data(), pk.size()) == FIDO_OK;
    eddsa_pk_free(&k);
    return ok;
  }
  if (d.cose_type == "rs256") {
    rs256_pk_t* k = rs256_pk_new();
    bool ok = rs256_pk_from_ptr(k, pk.data(), pk.size()) == FIDO_OK;
    rs256_pk_free(&k);
    return ok;
  }
  return false;
}

TEST(Authfile, LinesWeWriteParseUnderPamU2fsRules) {
  // Enrol one key of each type through our registration check, write the
  // line, read it as pam_u2f does, and sign in with the key read back.
  wa::RelyingParty rp{"example.com", {"https://login.example.com"}, false};
  Entry entry{"alice", {}};
  std::vector<wa::test::Key> keys;
  for (wa::Alg alg : {wa::Alg::es256, wa::Alg::eddsa, wa::Alg::rs256}) keys.emplace_back(alg);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::string challenge(32, static_cast<char>('a' + i));
    auto cdj = wa::test::client_data("webauthn.create", challenge, "https://login.example.com");
    std::string id = "credential-" + std::to_string(i);
    auto ao = wa::test::attestation_none(wa::test::auth_data_attested(
        "example.com", wa::kFlagUserPresent | wa::kFlagUserVerified, 0, std::string(16, '\0'), id, keys[i].cose()));
    auto reg = wa::verify_registration(rp, challenge, cdj, ao);
    ASSERT_TRUE(reg.ok()) << reg.refused.detail;
    Credential c;
    c.key_handle = i == 2 ? std::string() : reg.value->credential_id;  // the RS256 one as a resident "*"
    c.public_key = reg.value->public_key;
    c.type = std::array{CoseType::es256, CoseType::eddsa, CoseType::rs256}[i];
    c.presence = true;
    c.verification = reg.value->user_verified;
    entry.credentials.push_back(c);
  }
  auto line = format_line(entry);
  ASSERT_TRUE(line.ok()) << line.error();

  auto devs = pam_u2f_parse(*line, "alice");
  ASSERT_EQ(devs.size(), 3u) << *line;
  EXPECT_EQ(devs[0].cose_type, "es256");
  EXPECT_EQ(devs[1].cose_type, "eddsa");
  EXPECT_EQ(devs[2].cose_type, "rs256");
  EXPECT_EQ(devs[2].key_handle, "*");
  EXPECT_EQ(pam_u2f_b64_decode(devs[0].key_handle), "credential-0");
  for (const auto& d : devs) {
    EXPECT_TRUE(pam_u2f_loads(d)) << d.cose_type;
    // pam_u2f's option test is strstr on the attribute field.
    EXPECT_NE(std::strstr(d.attributes.c_str(), "+presence"), nullptr);
    EXPECT_NE(std::strstr(d.attributes.c_str(), "+verification"), nullptr);
    EXPECT_EQ(std::strstr(d.attributes.c_str(), "+pin"), nullptr);
  }
  EXPECT_TRUE(pam_u2f_parse(*line, "alic").empty());

  // And our parse of the same line signs in with each key.
  auto back = parse_line(*line);
  ASSERT_TRUE(back.ok()) << back.error();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::string challenge(16, 'z');
    auto cdj = wa::test::client_data("webauthn.get", challenge, "https://login.example.com");
    auto ad = wa::test::auth_data("example.com", wa::kFlagUserPresent, 3);
    auto sig = keys[i].sign(ad + wa::test::sha256_bytes(cdj));
    const auto& c = back->credentials[i];
    auto alg = wa::alg_from_name(devs[i].cose_type);
    ASSERT_TRUE(alg);
    auto ok = wa::verify_assertion(rp, challenge, {*alg, c.public_key, 2}, cdj, ad, sig);
    EXPECT_TRUE(ok.ok()) << ok.refused.detail;
  }
}

}  // namespace
