// SPDX-License-Identifier: BSD-3-Clause
// Drives our WebAuthn core for tests/unit/webauthn_interop.py, which checks
// it against python3-fido2's Fido2Server, an independent implementation.
//   make     print ceremonies our software authenticator built, one JSON
//            object a line, each with the verdict it was built to get
//   verify   read such lines on stdin (ours or Python-built), print our
//            verdict for each: "ok" or the refusal's name
// Bytes are base64url in the JSON.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "webauthn.hpp"
#include "webauthn_authenticator.hpp"
#include "zsso/base64url.hpp"

namespace {

using namespace zsso::webauthn;
using namespace zsso::webauthn::test;
using nlohmann::json;
using zsso::base64url_encode;

const std::string kRpId = "example.com";
const std::string kOrigin = "https://login.example.com";
const std::string kAaguid("\xf8\xa0\x11\xf3\x8c\x0a\x4d\x15\x80\x06\x17\x11\x1f\x9e\xdc\x7d", 16);

json base(std::string_view kind, std::string_view name, std::string_view expect, const std::string& challenge,
          const std::string& cdj, bool require_uv) {
  return {{"kind", kind},
          {"name", name},
          {"expect", expect},
          {"rp_id", kRpId},
          {"origins", {kOrigin}},
          {"require_uv", require_uv},
          {"challenge", base64url_encode(challenge)},
          {"client_data", base64url_encode(cdj)}};
}

void make() {
  int serial = 0;
  for (Alg alg : {Alg::es256, Alg::eddsa, Alg::rs256}) {
    std::string an(alg_name(alg));
    Key key(alg), other(alg), att(Alg::es256);
    std::string id = "cred-" + an;
    auto challenge = [&] { return "challenge-" + an + "-" + std::to_string(++serial) + std::string(16, '\x01'); };

    auto reg = [&](std::string_view name, std::string_view expect, std::uint8_t flags, std::string_view fmt,
                   bool require_uv = false, std::string rp_id = kRpId, std::string type = "webauthn.create",
                   std::string origin = kOrigin, bool wrong_challenge = false, const Key* att_signer = nullptr,
                   std::string cert_aaguid = kAaguid) {
      std::string c = challenge();
      auto cdj = client_data(type, wrong_challenge ? c + "x" : c, origin);
      auto ad = auth_data_attested(rp_id, flags, 0, kAaguid, id, key.cose());
      std::string ao = fmt == "none" ? attestation_none(ad)
                       : fmt == "self" ? attestation_packed_self(ad, cdj, att_signer ? *att_signer : key)
                                       : attestation_packed_x5c(ad, cdj, att, cert_aaguid);
      json j = base("register", an + " " + std::string(name), expect, c, cdj, require_uv);
      j["attestation_object"] = base64url_encode(ao);
      std::cout << j.dump() << "\n";
    };
    const std::uint8_t up = kFlagUserPresent, upuv = kFlagUserPresent | kFlagUserVerified;
    reg("none", "ok", up, "none");
    reg("none with uv required", "ok", upuv, "none", true);
    reg("packed self", "ok", up, "self");
    reg("packed x5c", "ok", up, "x5c");
    reg("packed x5c, certificate names another aaguid", "attestation", up, "x5c", false, kRpId, "webauthn.create",
        kOrigin, false, nullptr, std::string(16, '\x33'));
    reg("packed self signed by another key", "attestation", up, "self", false, kRpId, "webauthn.create", kOrigin, false,
        &other);
    reg("wrong challenge", "challenge", up, "none", false, kRpId, "webauthn.create", kOrigin, true);
    reg("wrong origin", "origin", up, "none", false, kRpId, "webauthn.create", "https://evil.example.net");
    reg("wrong rp id", "rp_id", up, "none", false, "evil.example.net");
    reg("wrong type", "type", up, "none", false, kRpId, "webauthn.get");
    reg("no user presence", "user_presence", 0, "none");
    reg("no user verification when required", "user_verification", up, "none", true);

    auto sig = [&](std::string_view name, std::string_view expect, std::uint8_t flags, std::uint32_t count,
                   std::uint32_t stored, bool require_uv = false, std::string rp_id = kRpId,
                   std::string type = "webauthn.get", std::string origin = kOrigin, bool wrong_challenge = false,
                   const Key* signer = nullptr, bool flip = false) {
      std::string c = challenge();
      auto cdj = client_data(type, wrong_challenge ? c + "x" : c, origin);
      auto ad = auth_data(rp_id, flags, count);
      auto s = (signer ? *signer : key).sign(ad + sha256_bytes(cdj));
      if (flip) s[s.size() / 2] ^= 0x20;
      json j = base("authenticate", an + " " + std::string(name), expect, c, cdj, require_uv);
      j["credential_id"] = base64url_encode(id);
      j["public_key_cose"] = base64url_encode(key.cose());
      j["stored_count"] = stored;
      j["authenticator_data"] = base64url_encode(ad);
      j["signature"] = base64url_encode(s);
      std::cout << j.dump() << "\n";
    };
    sig("assertion", "ok", up, 5, 4);
    sig("assertion, key keeps no count", "ok", up, 0, 0);
    sig("assertion with uv required", "ok", upuv, 5, 4, true);
    sig("wrong challenge", "challenge", up, 5, 4, false, kRpId, "webauthn.get", kOrigin, true);
    sig("wrong origin", "origin", up, 5, 4, false, kRpId, "webauthn.get", "https://evil.example.net");
    sig("wrong rp id", "rp_id", up, 5, 4, false, "evil.example.net");
    sig("wrong type", "type", up, 5, 4, false, kRpId, "webauthn.create");
    sig("no user presence", "user_presence", kFlagUserVerified, 5, 4);
    sig("no user verification when required", "user_verification", up, 5, 4, true);
    sig("bad signature", "signature", up, 5, 4, false, kRpId, "webauthn.get", kOrigin, false, nullptr, true);
    sig("another credential's key", "signature", up, 5, 4, false, kRpId, "webauthn.get", kOrigin, false, &other);
    sig("lowered sign count", "sign_count", up, 3, 4);
    sig("repeated sign count", "sign_count", up, 4, 4);
  }
}

std::string field(const json& j, const char* name) {
  auto v = zsso::base64url_decode(j.at(name).get<std::string>());
  if (!v) throw std::runtime_error(std::string("bad base64url in ") + name);
  return *v;
}

std::string verdict(const json& j) {
  RelyingParty rp{j.at("rp_id").get<std::string>(), j.at("origins").get<std::vector<std::string>>(),
                  j.at("require_uv").get<bool>()};
  std::string challenge = field(j, "challenge"), cdj = field(j, "client_data");
  if (j.at("kind") == "register") {
    auto r = verify_registration(rp, challenge, cdj, field(j, "attestation_object"));
    return r ? "ok" : std::string(refusal_name(r.refused.reason));
  }
  auto key = parse_cose_key(field(j, "public_key_cose"));
  if (!key) return std::string(refusal_name(key.refused.reason));
  StoredCredential stored{key.value->alg, key.value->raw, j.at("stored_count").get<std::uint32_t>()};
  auto a = verify_assertion(rp, challenge, stored, cdj, field(j, "authenticator_data"), field(j, "signature"));
  return a ? "ok" : std::string(refusal_name(a.refused.reason));
}

}  // namespace

int main(int argc, char** argv) try {
  std::string mode = argc == 2 ? argv[1] : "";
  if (mode == "make") {
    make();
    return 0;
  }
  if (mode == "verify") {
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) std::cout << verdict(json::parse(line)) << "\n";
    return 0;
  }
  std::cerr << "usage: zsso_webauthn_interop_tool make|verify\n";
  return 2;
} catch (const std::exception& e) {
  std::cerr << "zsso_webauthn_interop_tool: " << e.what() << "\n";
  return 1;
}
