// SPDX-License-Identifier: BSD-3-Clause
#include "webauthn.hpp"

#include <cbor.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "zsso/base64url.hpp"
#include "zsso/sha256.hpp"

namespace zsso::webauthn {

namespace {

// Sizes beyond any real ceremony: refused before parsing.
constexpr std::size_t kMaxClientData = 8192;
constexpr std::size_t kMaxAuthData = 8192;
constexpr std::size_t kMaxAttestation = 65536;
constexpr std::size_t kMaxCredentialId = 1023;  // WebAuthn §5.8.3

template <class T>
Checked<T> fail(Refusal r, std::string detail) {
  return Checked<T>::fail(r, std::move(detail));
}
template <class T>
Checked<T> pass(T v) {
  Checked<T> c;
  c.value = std::move(v);
  return c;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

struct CborFree {
  void operator()(cbor_item_t* i) const { cbor_decref(&i); }
};
using CborItem = std::unique_ptr<cbor_item_t, CborFree>;

// How many bytes the one well-formed CBOR item at the start of `in` takes;
// nullopt if there is none. Checked before libcbor sees the bytes: libcbor
// 0.8 allocates a definite array or map for its declared size up front, so
// a 9-byte header declaring 2^32 entries asked it for gigabytes (found by
// fuzz_webauthn). Here each declared entry must have a byte left to be in,
// strings must fit, indefinite lengths (never in CTAP2's canonical CBOR)
// are refused, and at most 16 containers nest.
std::optional<std::size_t> cbor_item_size(std::string_view in) {
  constexpr std::size_t kMaxDepth = 16;
  const auto* b = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t pos = 0, n = in.size();
  std::vector<std::uint64_t> pending{1};  // items still to read, per open container
  while (!pending.empty()) {
    if (pending.back() == 0) {
      pending.pop_back();
      continue;
    }
    --pending.back();
    if (pos >= n) return std::nullopt;
    unsigned major = b[pos] >> 5, info = b[pos] & 31;
    ++pos;
    std::uint64_t val = info;
    if (info >= 24 && info <= 27) {
      std::size_t len = std::size_t{1} << (info - 24);
      if (n - pos < len) return std::nullopt;
      val = 0;
      for (std::size_t i = 0; i < len; ++i) val = val << 8 | b[pos + i];
      pos += len;
    } else if (info > 27) {
      return std::nullopt;  // reserved, or an indefinite length
    }
    switch (major) {
      case 2:
      case 3:
        if (val > n - pos) return std::nullopt;
        pos += static_cast<std::size_t>(val);
        break;
      case 4:
      case 5:
        if (val > (n - pos) / (major == 5 ? 2 : 1) || pending.size() > kMaxDepth) return std::nullopt;
        pending.push_back(major == 5 ? 2 * val : val);
        break;
      case 6:
        if (pending.size() > kMaxDepth) return std::nullopt;
        pending.push_back(1);
        break;
      default:  // 0, 1 integers; 7 simple values and floats: the head was all
        break;
    }
  }
  return pos;
}

// One whole CBOR item; read gets how many bytes it took (nullptr: all of them).
CborItem cbor_parse(std::string_view in, std::size_t* read = nullptr) {
  auto size = cbor_item_size(in);
  if (!size || (!read && *size != in.size())) return {};
  cbor_load_result res{};
  CborItem item(cbor_load(bytes(in), *size, &res));
  if (!item || res.error.code != CBOR_ERR_NONE || res.read != *size) return {};
  if (read) *read = res.read;
  return item;
}

std::optional<std::int64_t> cbor_int(const cbor_item_t* i) {
  if (cbor_isa_uint(i)) {
    std::uint64_t v = cbor_get_int(i);
    if (v > INT64_MAX) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (cbor_isa_negint(i)) {
    std::uint64_t v = cbor_get_int(i);
    if (v > INT64_MAX) return std::nullopt;
    return -1 - static_cast<std::int64_t>(v);
  }
  return std::nullopt;
}

std::optional<std::string> cbor_bytes(const cbor_item_t* i) {
  if (!cbor_isa_bytestring(i) || !cbor_bytestring_is_definite(i)) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(cbor_bytestring_handle(i)), cbor_bytestring_length(i));
}

std::optional<std::string> cbor_text(const cbor_item_t* i) {
  if (!cbor_isa_string(i) || !cbor_string_is_definite(i)) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(cbor_string_handle(i)), cbor_string_length(i));
}

// Map entries by integer key; nullopt when not a definite map or a key repeats.
std::optional<std::vector<std::pair<std::int64_t, const cbor_item_t*>>> int_map(const cbor_item_t* m) {
  if (!cbor_isa_map(m) || !cbor_map_is_definite(m)) return std::nullopt;
  std::vector<std::pair<std::int64_t, const cbor_item_t*>> out;
  const cbor_pair* p = cbor_map_handle(m);
  for (std::size_t i = 0; i < cbor_map_size(m); ++i) {
    auto k = cbor_int(p[i].key);
    if (!k) return std::nullopt;
    for (auto& [seen, v] : out)
      if (seen == *k) return std::nullopt;
    out.emplace_back(*k, p[i].value);
  }
  return out;
}

const cbor_item_t* find(const std::vector<std::pair<std::int64_t, const cbor_item_t*>>& m, std::int64_t key) {
  for (auto& [k, v] : m)
    if (k == key) return v;
  return nullptr;
}

// Constant time for equal lengths; the length of a challenge is no secret.
bool same_challenge(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool same_bytes(std::string_view a, const unsigned char* p, std::size_t n) {
  return p != nullptr && a.size() == n && std::equal(a.begin(), a.end(), reinterpret_cast<const char*>(p));
}

// The checks both ceremonies make on clientDataJSON.
template <class T>
std::optional<Checked<T>> check_client_data(const RelyingParty& rp, std::string_view challenge,
                                            std::string_view json, std::string_view want_type) {
  auto cd = parse_client_data(json);
  if (!cd) return fail<T>(cd.refused.reason, cd.refused.detail);
  if (cd.value->type != want_type) return fail<T>(Refusal::type, "clientDataJSON type is not " + std::string(want_type));
  if (!same_challenge(cd.value->challenge, challenge))
    return fail<T>(Refusal::challenge, "not the challenge issued");
  if (cd.value->cross_origin) return fail<T>(Refusal::origin, "crossOrigin is true");
  if (std::find(rp.origins.begin(), rp.origins.end(), cd.value->origin) == rp.origins.end())
    return fail<T>(Refusal::origin, "origin not allowed");
  return std::nullopt;
}

// rpIdHash and the UP/UV flags, the same for both ceremonies.
template <class T>
std::optional<Checked<T>> check_auth_flags(const RelyingParty& rp, const AuthenticatorData& ad) {
  auto want = sha256(rp.rp_id);
  if (!std::equal(want.begin(), want.end(), ad.rp_id_hash.begin())) return fail<T>(Refusal::rp_id, "rpIdHash is not rp_id's");
  if (!(ad.flags & kFlagUserPresent)) return fail<T>(Refusal::user_presence, "user presence flag missing");
  if (rp.require_user_verification && !(ad.flags & kFlagUserVerified))
    return fail<T>(Refusal::user_verification, "user verification required but not done");
  return std::nullopt;
}

struct Es256Free {
  void operator()(es256_pk_t* p) const { es256_pk_free(&p); }
};
struct EddsaFree {
  void operator()(eddsa_pk_t* p) const { eddsa_pk_free(&p); }
};
struct Rs256Free {
  void operator()(rs256_pk_t* p) const { rs256_pk_free(&p); }
};
struct AssertFree {
  void operator()(fido_assert_t* p) const { fido_assert_free(&p); }
};
struct CredFree {
  void operator()(fido_cred_t* p) const { fido_cred_free(&p); }
};

// libfido2's public key for a raw stored key; checks the point/key is valid.
class PublicKey {
 public:
  bool load(Alg alg, std::string_view raw) {
    if (raw.size() != raw_key_size(alg)) return false;
    alg_ = alg;
    switch (alg) {
      case Alg::es256:
        es_.reset(es256_pk_new());
        return es_ && es256_pk_from_ptr(es_.get(), raw.data(), raw.size()) == FIDO_OK && valid<es256_pk_t>(es_.get());
      case Alg::eddsa:
        ed_.reset(eddsa_pk_new());
        return ed_ && eddsa_pk_from_ptr(ed_.get(), raw.data(), raw.size()) == FIDO_OK && valid<eddsa_pk_t>(ed_.get());
      case Alg::rs256:
        rs_.reset(rs256_pk_new());
        return rs_ && rs256_pk_from_ptr(rs_.get(), raw.data(), raw.size()) == FIDO_OK && valid<rs256_pk_t>(rs_.get());
    }
    return false;
  }
  const void* get() const {
    switch (alg_) {
      case Alg::es256: return es_.get();
      case Alg::eddsa: return ed_.get();
      case Alg::rs256: return rs_.get();
    }
    return nullptr;
  }

 private:
  // The key must convert to an OpenSSL key (an EC point on the curve, a usable RSA key).
  template <class K>
  static bool valid(const K* k) {
    EVP_PKEY* p = nullptr;
    if constexpr (std::is_same_v<K, es256_pk_t>) p = es256_pk_to_EVP_PKEY(k);
    else if constexpr (std::is_same_v<K, eddsa_pk_t>) p = eddsa_pk_to_EVP_PKEY(k);
    else p = rs256_pk_to_EVP_PKEY(k);
    if (!p) return false;
    EVP_PKEY_free(p);
    return true;
  }
  Alg alg_ = Alg::es256;
  std::unique_ptr<es256_pk_t, Es256Free> es_;
  std::unique_ptr<eddsa_pk_t, EddsaFree> ed_;
  std::unique_ptr<rs256_pk_t, Rs256Free> rs_;
};

// id-fido-gen-ce-aaguid (WebAuthn §8.2.1): when the attestation certificate
// carries it, it must name the authenticatorData's AAGUID and not be critical.
bool cert_aaguid_matches(const unsigned char* der, std::size_t len, std::string_view aaguid) {
  const unsigned char* p = der;
  std::unique_ptr<X509, decltype(&X509_free)> cert(d2i_X509(nullptr, &p, static_cast<long>(len)), X509_free);
  if (!cert) return false;
  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> oid(OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1),
                                                               ASN1_OBJECT_free);
  if (!oid) return false;
  int at = X509_get_ext_by_OBJ(cert.get(), oid.get(), -1);
  if (at < 0) return true;  // the extension is optional
  X509_EXTENSION* ext = X509_get_ext(cert.get(), at);
  if (!ext || X509_EXTENSION_get_critical(ext)) return false;
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  // The value is itself a DER OCTET STRING of 16 bytes: 04 10 <aaguid>.
  const unsigned char* v = ASN1_STRING_get0_data(data);
  int n = ASN1_STRING_length(data);
  return n == 18 && v[0] == 0x04 && v[1] == 0x10 && same_bytes(aaguid, v + 2, 16);
}

}  // namespace

std::string_view refusal_name(Refusal r) {
  switch (r) {
    case Refusal::malformed: return "malformed";
    case Refusal::type: return "type";
    case Refusal::challenge: return "challenge";
    case Refusal::origin: return "origin";
    case Refusal::rp_id: return "rp_id";
    case Refusal::user_presence: return "user_presence";
    case Refusal::user_verification: return "user_verification";
    case Refusal::algorithm: return "algorithm";
    case Refusal::signature: return "signature";
    case Refusal::sign_count: return "sign_count";
    case Refusal::attestation: return "attestation";
    case Refusal::aaguid: return "aaguid";
  }
  return "?";
}

Checked<ClientData> parse_client_data(std::string_view json) {
  if (json.size() > kMaxClientData) return fail<ClientData>(Refusal::malformed, "clientDataJSON too long");
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail<ClientData>(Refusal::malformed, "clientDataJSON is not a JSON object");
  ClientData cd;
  auto text = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  std::string challenge;
  if (!text("type", cd.type) || !text("challenge", challenge) || !text("origin", cd.origin))
    return fail<ClientData>(Refusal::malformed, "clientDataJSON lacks type, challenge or origin");
  auto decoded = base64url_decode(challenge);
  if (!decoded) return fail<ClientData>(Refusal::challenge, "challenge is not base64url");
  cd.challenge = std::move(*decoded);
  if (auto it = j.find("crossOrigin"); it != j.end()) {
    if (!it->is_boolean()) return fail<ClientData>(Refusal::malformed, "crossOrigin is not a boolean");
    cd.cross_origin = it->get<bool>();
  }
  return pass(std::move(cd));
}

Checked<CoseKey> parse_cose_key(std::string_view cbor) {
  auto item = cbor_parse(cbor);
  if (!item) return fail<CoseKey>(Refusal::malformed, "COSE key is not one CBOR item");
  auto m = int_map(item.get());
  if (!m) return fail<CoseKey>(Refusal::malformed, "COSE key is not a map with distinct integer keys");
  auto int_at = [&](std::int64_t k) -> std::optional<std::int64_t> {
    const cbor_item_t* v = find(*m, k);
    return v ? cbor_int(v) : std::nullopt;
  };
  auto bytes_at = [&](std::int64_t k) -> std::optional<std::string> {
    const cbor_item_t* v = find(*m, k);
    return v ? cbor_bytes(v) : std::nullopt;
  };
  auto kty = int_at(1), alg = int_at(3);
  if (!kty || !alg) return fail<CoseKey>(Refusal::malformed, "COSE key lacks kty or alg");
  CoseKey key;
  if (*kty == 2 && *alg == -7) {  // EC2, ES256
    auto crv = int_at(-1);
    auto x = bytes_at(-2), y = bytes_at(-3);
    if (crv != 1 || !x || !y || x->size() != 32 || y->size() != 32)
      return fail<CoseKey>(Refusal::algorithm, "ES256 key is not P-256 with 32-byte x and y");
    key.alg = Alg::es256;
    key.raw = *x + *y;
  } else if (*kty == 1 && *alg == -8) {  // OKP, EdDSA
    auto crv = int_at(-1);
    auto x = bytes_at(-2);
    if (crv != 6 || !x || x->size() != 32) return fail<CoseKey>(Refusal::algorithm, "EdDSA key is not Ed25519");
    key.alg = Alg::eddsa;
    key.raw = *x;
  } else if (*kty == 3 && *alg == -257) {  // RSA, RS256
    auto n = bytes_at(-1), e = bytes_at(-2);
    if (!n || !e || n->size() != 256 || e->size() != 3)
      return fail<CoseKey>(Refusal::algorithm, "RS256 key is not 2048-bit with a 3-byte exponent");
    key.alg = Alg::rs256;
    key.raw = *n + *e;
  } else {
    return fail<CoseKey>(Refusal::algorithm, "COSE key type/algorithm not supported (ES256, EdDSA, RS256)");
  }
  return pass(std::move(key));
}

Checked<AuthenticatorData> parse_authenticator_data(std::string_view raw) {
  if (raw.size() < 37 || raw.size() > kMaxAuthData)
    return fail<AuthenticatorData>(Refusal::malformed, "authenticatorData has an impossible length");
  AuthenticatorData ad;
  std::copy_n(bytes(raw), 32, ad.rp_id_hash.begin());
  ad.flags = static_cast<std::uint8_t>(raw[32]);
  ad.sign_count = std::uint32_t{bytes(raw)[33]} << 24 | std::uint32_t{bytes(raw)[34]} << 16 |
                  std::uint32_t{bytes(raw)[35]} << 8 | std::uint32_t{bytes(raw)[36]};
  std::string_view rest = raw.substr(37);
  if (ad.flags & kFlagAttested) {
    if (rest.size() < 18) return fail<AuthenticatorData>(Refusal::malformed, "attested credential data truncated");
    ad.aaguid = std::string(rest.substr(0, 16));
    std::size_t id_len = std::size_t{bytes(rest)[16]} << 8 | bytes(rest)[17];
    rest.remove_prefix(18);
    if (id_len == 0 || id_len > kMaxCredentialId || rest.size() < id_len)
      return fail<AuthenticatorData>(Refusal::malformed, "credential id length impossible");
    ad.credential_id = std::string(rest.substr(0, id_len));
    rest.remove_prefix(id_len);
    std::size_t used = 0;
    if (!cbor_parse(rest, &used)) return fail<AuthenticatorData>(Refusal::malformed, "credential public key is not CBOR");
    ad.cose_key = std::string(rest.substr(0, used));
    rest.remove_prefix(used);
  }
  if (ad.flags & kFlagExtensions) {
    auto ext = cbor_parse(rest);  // exactly one item, to the end
    if (!ext || !cbor_isa_map(ext.get())) return fail<AuthenticatorData>(Refusal::malformed, "extensions are not one CBOR map");
  } else if (!rest.empty()) {
    return fail<AuthenticatorData>(Refusal::malformed, "trailing bytes after authenticatorData");
  }
  return pass(std::move(ad));
}

Checked<AttestationObject> parse_attestation_object(std::string_view cbor) {
  if (cbor.size() > kMaxAttestation) return fail<AttestationObject>(Refusal::malformed, "attestationObject too long");
  auto item = cbor_parse(cbor);
  if (!item || !cbor_isa_map(item.get()) || !cbor_map_is_definite(item.get()))
    return fail<AttestationObject>(Refusal::malformed, "attestationObject is not a CBOR map");
  AttestationObject out;
  const cbor_item_t* stmt = nullptr;
  bool have_fmt = false, have_ad = false;
  const cbor_pair* p = cbor_map_handle(item.get());
  for (std::size_t i = 0; i < cbor_map_size(item.get()); ++i) {
    auto key = cbor_text(p[i].key);
    if (!key) return fail<AttestationObject>(Refusal::malformed, "attestationObject key is not text");
    if (*key == "fmt" && !have_fmt) {
      auto v = cbor_text(p[i].value);
      if (!v) return fail<AttestationObject>(Refusal::malformed, "fmt is not text");
      out.fmt = *v;
      have_fmt = true;
    } else if (*key == "authData" && !have_ad) {
      auto v = cbor_bytes(p[i].value);
      if (!v) return fail<AttestationObject>(Refusal::malformed, "authData is not bytes");
      out.auth_data = *v;
      have_ad = true;
    } else if (*key == "attStmt" && !stmt) {
      stmt = p[i].value;
    } else {
      return fail<AttestationObject>(Refusal::malformed, "attestationObject has an unknown or repeated key");
    }
  }
  if (!have_fmt || !have_ad || !stmt || !cbor_isa_map(stmt))
    return fail<AttestationObject>(Refusal::malformed, "attestationObject lacks fmt, authData or attStmt");
  unsigned char* buf = nullptr;
  std::size_t cap = 0;
  std::size_t n = cbor_serialize_alloc(stmt, &buf, &cap);
  if (n == 0) {
    free(buf);
    return fail<AttestationObject>(Refusal::malformed, "attStmt does not encode");
  }
  out.att_stmt.assign(reinterpret_cast<const char*>(buf), n);
  free(buf);
  return pass(std::move(out));
}

Checked<Registration> verify_registration(const RelyingParty& rp, std::string_view challenge,
                                          std::string_view client_data_json,
                                          std::string_view attestation_object,
                                          const RegistrationPolicy& policy) noexcept try {
  using R = Registration;
  if (auto bad = check_client_data<R>(rp, challenge, client_data_json, "webauthn.create")) return *bad;
  auto ao = parse_attestation_object(attestation_object);
  if (!ao) return fail<R>(ao.refused.reason, ao.refused.detail);
  auto ad = parse_authenticator_data(ao.value->auth_data);
  if (!ad) return fail<R>(ad.refused.reason, ad.refused.detail);
  if (!(ad.value->flags & kFlagAttested)) return fail<R>(Refusal::malformed, "no attested credential data");
  if (auto bad = check_auth_flags<R>(rp, *ad.value)) return *bad;
  auto key = parse_cose_key(ad.value->cose_key);
  if (!key) return fail<R>(key.refused.reason, key.refused.detail);
  PublicKey pk;
  if (!pk.load(key.value->alg, key.value->raw)) return fail<R>(Refusal::algorithm, "credential public key is not a valid key");

  const std::string& fmt = ao.value->fmt;
  if (fmt != "none" && fmt != "packed") return fail<R>(Refusal::attestation, "attestation format not supported: " + fmt);
  if (fmt == "none") {
    auto stmt = cbor_parse(ao.value->att_stmt);
    if (!stmt || cbor_map_size(stmt.get()) != 0) return fail<R>(Refusal::attestation, "\"none\" attestation with a statement");
  }

  // libfido2 parses the same authenticatorData again (its COSE decoder must
  // agree with ours) and, for "packed", checks the attestation signature.
  std::unique_ptr<fido_cred_t, CredFree> cred(fido_cred_new());
  auto hash = sha256(client_data_json);
  if (!cred || fido_cred_set_type(cred.get(), static_cast<int>(key.value->alg)) != FIDO_OK ||
      fido_cred_set_fmt(cred.get(), fmt.c_str()) != FIDO_OK ||
      fido_cred_set_rp(cred.get(), rp.rp_id.c_str(), nullptr) != FIDO_OK ||
      fido_cred_set_clientdata_hash(cred.get(), hash.data(), hash.size()) != FIDO_OK ||
      fido_cred_set_authdata_raw(cred.get(), bytes(ao.value->auth_data), ao.value->auth_data.size()) != FIDO_OK)
    return fail<R>(Refusal::malformed, "authenticatorData refused by libfido2");
  if (!same_bytes(key.value->raw, fido_cred_pubkey_ptr(cred.get()), fido_cred_pubkey_len(cred.get())) ||
      !same_bytes(ad.value->credential_id, fido_cred_id_ptr(cred.get()), fido_cred_id_len(cred.get())))
    return fail<R>(Refusal::malformed, "credential parsed differently by libfido2");

  R out;
  out.fmt = fmt;
  if (fmt == "packed") {
    // Self attestation: the statement's alg must be the credential's own.
    auto stmt = cbor_parse(ao.value->att_stmt);
    bool has_x5c = false;
    std::optional<std::int64_t> stmt_alg;
    if (stmt && cbor_isa_map(stmt.get())) {
      const cbor_pair* p = cbor_map_handle(stmt.get());
      for (std::size_t i = 0; i < cbor_map_size(stmt.get()); ++i) {
        auto k = cbor_text(p[i].key);
        if (k == "x5c") has_x5c = true;
        if (k == "alg") stmt_alg = cbor_int(p[i].value);
      }
    }
    if (!has_x5c && stmt_alg != static_cast<std::int64_t>(key.value->alg))
      return fail<R>(Refusal::attestation, "self attestation's alg is not the credential's");
    if (fido_cred_set_attstmt(cred.get(), bytes(ao.value->att_stmt), ao.value->att_stmt.size()) != FIDO_OK)
      return fail<R>(Refusal::attestation, "packed attestation statement malformed");
    if (has_x5c != (fido_cred_x5c_len(cred.get()) > 0))
      return fail<R>(Refusal::attestation, "x5c not read");
    int r = has_x5c ? fido_cred_verify(cred.get()) : fido_cred_verify_self(cred.get());
    if (r != FIDO_OK) return fail<R>(Refusal::attestation, std::string("packed attestation does not verify: ") + fido_strerr(r));
    if (has_x5c && !cert_aaguid_matches(fido_cred_x5c_ptr(cred.get()), fido_cred_x5c_len(cred.get()), ad.value->aaguid))
      return fail<R>(Refusal::attestation, "attestation certificate names another AAGUID");
    out.self_attested = !has_x5c;
  }
  if (!policy.aaguid_allow.empty()) {
    // Only a certificate-backed statement names its maker; "none" and self
    // attestation prove nothing about the AAGUID they carry.
    bool listed = std::find(policy.aaguid_allow.begin(), policy.aaguid_allow.end(), ad.value->aaguid) !=
                  policy.aaguid_allow.end();
    if (fmt != "packed" || out.self_attested || !listed)
      return fail<R>(Refusal::aaguid, "authenticator not in the AAGUID allow-list");
  }
  out.credential_id = ad.value->credential_id;
  out.alg = key.value->alg;
  out.public_key = key.value->raw;
  out.aaguid = ad.value->aaguid;
  out.sign_count = ad.value->sign_count;
  out.user_verified = (ad.value->flags & kFlagUserVerified) != 0;
  return pass(std::move(out));
} catch (...) {
  return fail<Registration>(Refusal::malformed, "out of memory");
}

Checked<Assertion> verify_assertion(const RelyingParty& rp, std::string_view challenge,
                                    const StoredCredential& key, std::string_view client_data_json,
                                    std::string_view authenticator_data,
                                    std::string_view signature) noexcept try {
  using A = Assertion;
  if (auto bad = check_client_data<A>(rp, challenge, client_data_json, "webauthn.get")) return *bad;
  auto ad = parse_authenticator_data(authenticator_data);
  if (!ad) return fail<A>(ad.refused.reason, ad.refused.detail);
  if (ad.value->flags & kFlagAttested) return fail<A>(Refusal::malformed, "attested credential data in an assertion");
  if (auto bad = check_auth_flags<A>(rp, *ad.value)) return *bad;
  PublicKey pk;
  if (!pk.load(key.alg, key.public_key)) return fail<A>(Refusal::algorithm, "stored public key is not a valid key");
  if (signature.empty() || signature.size() > 1024) return fail<A>(Refusal::signature, "signature length impossible");

  std::unique_ptr<fido_assert_t, AssertFree> as(fido_assert_new());
  auto hash = sha256(client_data_json);
  if (!as || fido_assert_set_count(as.get(), 1) != FIDO_OK ||
      fido_assert_set_rp(as.get(), rp.rp_id.c_str()) != FIDO_OK ||
      fido_assert_set_clientdata_hash(as.get(), hash.data(), hash.size()) != FIDO_OK ||
      fido_assert_set_authdata_raw(as.get(), 0, bytes(authenticator_data), authenticator_data.size()) != FIDO_OK ||
      fido_assert_set_sig(as.get(), 0, bytes(signature), signature.size()) != FIDO_OK ||
      fido_assert_set_up(as.get(), FIDO_OPT_TRUE) != FIDO_OK ||
      fido_assert_set_uv(as.get(), rp.require_user_verification ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) != FIDO_OK)
    return fail<A>(Refusal::malformed, "assertion refused by libfido2");
  if (int r = fido_assert_verify(as.get(), 0, static_cast<int>(key.alg), pk.get()); r != FIDO_OK)
    return fail<A>(Refusal::signature, std::string("signature does not verify: ") + fido_strerr(r));

  // WebAuthn §7.2 step 21: a count that does not grow, when either side keeps one.
  std::uint32_t now = ad.value->sign_count;
  if ((now != 0 || key.sign_count != 0) && now <= key.sign_count)
    return fail<A>(Refusal::sign_count, "sign count " + std::to_string(now) + " not above " +
                                            std::to_string(key.sign_count) + ": possible cloned key");
  A out;
  out.sign_count = now;
  out.user_verified = (ad.value->flags & kFlagUserVerified) != 0;
  return pass(out);
} catch (...) {
  return fail<Assertion>(Refusal::malformed, "out of memory");
}

}  // namespace zsso::webauthn
