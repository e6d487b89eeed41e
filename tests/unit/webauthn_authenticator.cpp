// SPDX-License-Identifier: BSD-3-Clause
#include "webauthn_authenticator.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "zsso/base64url.hpp"
#include "zsso/sha256.hpp"

namespace zsso::webauthn::test {

namespace {
[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "test authenticator: %s failed\n", what);
  std::abort();
}
#define MUST(x) \
  if (!(x)) die(#x)
}  // namespace

std::string cbor_head(int major, std::uint64_t n) {
  std::string out;
  auto m = static_cast<char>(major << 5);
  if (n < 24) {
    out += static_cast<char>(m | static_cast<char>(n));
  } else if (n <= 0xff) {
    out += static_cast<char>(m | 24);
    out += static_cast<char>(n);
  } else if (n <= 0xffff) {
    out += static_cast<char>(m | 25);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n);
  } else {
    out += static_cast<char>(m | 26);
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>(n >> s);
  }
  return out;
}
std::string cbor_uint_or_neg(std::int64_t v) {
  return v >= 0 ? cbor_head(0, static_cast<std::uint64_t>(v)) : cbor_head(1, static_cast<std::uint64_t>(-1 - v));
}
std::string cbor_bytes(std::string_view b) { return cbor_head(2, b.size()) + std::string(b); }
std::string cbor_text(std::string_view t) { return cbor_head(3, t.size()) + std::string(t); }

std::string sha256_bytes(std::string_view data) {
  auto h = sha256(data);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

Key::Key(Alg alg) : alg_(alg) {
  EVP_PKEY* k = nullptr;
  switch (alg) {
    case Alg::es256: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case Alg::eddsa: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case Alg::rs256: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)); break;
  }
  MUST(k);
  key_.reset(k);
}

namespace {
std::string bn_param(EVP_PKEY* k, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  MUST(EVP_PKEY_get_bn_param(k, name, &bn));
  std::string out(static_cast<std::size_t>(pad), '\0');
  MUST(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad) == pad);
  BN_free(bn);
  return out;
}
}  // namespace

std::string Key::raw() const {
  switch (alg_) {
    case Alg::es256: {
      unsigned char pt[65];
      size_t n = 0;
      MUST(EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) && n == 65);
      return std::string(reinterpret_cast<char*>(pt) + 1, 64);
    }
    case Alg::eddsa: {
      unsigned char pk[32];
      size_t n = sizeof pk;
      MUST(EVP_PKEY_get_raw_public_key(key_.get(), pk, &n) && n == 32);
      return std::string(reinterpret_cast<char*>(pk), 32);
    }
    case Alg::rs256:
      return bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N, 256) + bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E, 3);
  }
  return {};
}

std::string Key::cose() const {
  std::string r = raw();
  switch (alg_) {
    case Alg::es256:
      return cbor_head(5, 5) + cbor_uint_or_neg(1) + cbor_uint_or_neg(2) + cbor_uint_or_neg(3) + cbor_uint_or_neg(-7) +
             cbor_uint_or_neg(-1) + cbor_uint_or_neg(1) + cbor_uint_or_neg(-2) + cbor_bytes(r.substr(0, 32)) +
             cbor_uint_or_neg(-3) + cbor_bytes(r.substr(32));
    case Alg::eddsa:
      return cbor_head(5, 4) + cbor_uint_or_neg(1) + cbor_uint_or_neg(1) + cbor_uint_or_neg(3) + cbor_uint_or_neg(-8) +
             cbor_uint_or_neg(-1) + cbor_uint_or_neg(6) + cbor_uint_or_neg(-2) + cbor_bytes(r);
    case Alg::rs256:
      return cbor_head(5, 4) + cbor_uint_or_neg(1) + cbor_uint_or_neg(3) + cbor_uint_or_neg(3) +
             cbor_uint_or_neg(-257) + cbor_uint_or_neg(-1) + cbor_bytes(r.substr(0, 256)) + cbor_uint_or_neg(-2) +
             cbor_bytes(r.substr(256));
  }
  return {};
}

std::string Key::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  MUST(ctx);
  const EVP_MD* md = alg_ == Alg::eddsa ? nullptr : EVP_sha256();
  MUST(EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) == 1);
  size_t n = 0;
  auto in = reinterpret_cast<const unsigned char*>(message.data());
  MUST(EVP_DigestSign(ctx.get(), nullptr, &n, in, message.size()) == 1);
  std::string sig(n, '\0');
  MUST(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n, in, message.size()) == 1);
  sig.resize(n);
  return sig;
}

std::string client_data(std::string_view type, std::string_view challenge, std::string_view origin, bool cross_origin) {
  // Key order as browsers write it.
  nlohmann::ordered_json j;
  j["type"] = type;
  j["challenge"] = base64url_encode(challenge);
  j["origin"] = origin;
  j["crossOrigin"] = cross_origin;
  return j.dump();
}

std::string auth_data(std::string_view rp_id, std::uint8_t flags, std::uint32_t count) {
  std::string out = sha256_bytes(rp_id);
  out += static_cast<char>(flags);
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>(count >> s);
  return out;
}

std::string auth_data_attested(std::string_view rp_id, std::uint8_t flags, std::uint32_t count,
                               std::string_view aaguid, std::string_view credential_id, std::string_view cose) {
  std::string out = auth_data(rp_id, static_cast<std::uint8_t>(flags | kFlagAttested), count);
  out += aaguid;
  out += static_cast<char>(credential_id.size() >> 8);
  out += static_cast<char>(credential_id.size());
  out += credential_id;
  out += cose;
  return out;
}

namespace {
std::string attestation_object(std::string_view fmt, std::string_view att_stmt, std::string_view auth_data) {
  // Canonical key order (shorter first): fmt, attStmt, authData.
  return cbor_head(5, 3) + cbor_text("fmt") + cbor_text(fmt) + cbor_text("attStmt") + std::string(att_stmt) +
         cbor_text("authData") + cbor_bytes(auth_data);
}
}  // namespace

std::string attestation_none(std::string_view auth_data) { return attestation_object("none", cbor_head(5, 0), auth_data); }

std::string attestation_packed_self(std::string_view auth_data, std::string_view client_data_json, const Key& key) {
  std::string sig = key.sign(std::string(auth_data) + sha256_bytes(client_data_json));
  std::string stmt = cbor_head(5, 2) + cbor_text("alg") + cbor_uint_or_neg(static_cast<int>(key.alg())) +
                     cbor_text("sig") + cbor_bytes(sig);
  return attestation_object("packed", stmt, auth_data);
}

std::string attestation_packed_x5c(std::string_view auth_data, std::string_view client_data_json, const Key& att_key,
                                   std::string_view cert_aaguid) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  MUST(cert);
  MUST(X509_set_version(cert.get(), 2));
  MUST(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1));
  MUST(X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0));
  MUST(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600));
  X509_NAME* name = X509_get_subject_name(cert.get());
  MUST(X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("SE"), -1, -1, 0));
  MUST(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Test Maker"), -1, -1, 0));
  MUST(X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>("Authenticator Attestation"), -1, -1, 0));
  MUST(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Test Key"), -1, -1, 0));
  MUST(X509_set_issuer_name(cert.get(), name));
  MUST(X509_set_pubkey(cert.get(), att_key.pkey()));
  // Packed attestation certificates are end-entity ones (WebAuthn §8.2.1).
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:FALSE");
  MUST(bc);
  MUST(X509_add_ext(cert.get(), bc, -1));
  X509_EXTENSION_free(bc);
  if (!cert_aaguid.empty()) {
    std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> oid(OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1),
                                                                 ASN1_OBJECT_free);
    std::string value = "\x04\x10" + std::string(cert_aaguid);
    std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)> os(ASN1_OCTET_STRING_new(),
                                                                             ASN1_OCTET_STRING_free);
    MUST(oid && os);
    MUST(ASN1_OCTET_STRING_set(os.get(), reinterpret_cast<const unsigned char*>(value.data()),
                               static_cast<int>(value.size())));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, os.get());
    MUST(ext);
    MUST(X509_add_ext(cert.get(), ext, -1));
    X509_EXTENSION_free(ext);
  }
  MUST(X509_sign(cert.get(), att_key.pkey(), EVP_sha256()) > 0);
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  MUST(len > 0);
  std::string cert_der(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);

  std::string sig = att_key.sign(std::string(auth_data) + sha256_bytes(client_data_json));
  std::string stmt = cbor_head(5, 3) + cbor_text("alg") + cbor_uint_or_neg(static_cast<int>(att_key.alg())) +
                     cbor_text("sig") + cbor_bytes(sig) + cbor_text("x5c") + cbor_head(4, 1) + cbor_bytes(cert_der);
  return attestation_object("packed", stmt, auth_data);
}

}  // namespace zsso::webauthn::test
