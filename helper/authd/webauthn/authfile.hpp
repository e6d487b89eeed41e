// SPDX-License-Identifier: BSD-3-Clause
// Security keys in pam_u2f's authfile format (issue 23.4), so one file serves
// the web sign-in and pam_u2f (console, sudo):
//
//   user:KeyHandle,UserKey,CoseType,Options[:KeyHandle,UserKey,CoseType,Options...]
//
// KeyHandle and UserKey standard base64 (padded), as pamu2fcfg writes them;
// KeyHandle "*" for a resident credential enrolled with `pamu2fcfg -r`;
// UserKey libfido2's raw public key (es256 x||y, eddsa 32 bytes, rs256 n||e);
// CoseType es256 | eddsa | rs256; Options "+presence", "+verification",
// "+pin" run together, possibly empty. pam_u2f reads the LAST line of a user.
// The old two-field format (websafe key handle, hex uncompressed P-256
// point) is read, never written.
//
// What the format cannot hold lives in a side file (AuthSideFile below),
// keyed by the credential's public key, since a "*" line has no handle.
// No OpenSSL, no libfido2: the CLI (`zendesk-sso keys`) links this too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/result.hpp"

namespace zsso::authfile {

// COSE algorithm identifiers (RFC 9053), the three pam_u2f stores; the
// WebAuthn core uses the same type (webauthn::Alg).
enum class CoseType : int { es256 = -7, eddsa = -8, rs256 = -257 };
// "es256", "eddsa", "rs256": pam_u2f's CoseType names.
std::string_view type_name(CoseType t);
std::optional<CoseType> type_from_name(std::string_view name);
// The length of libfido2's raw public key for a type: es256 x||y (64),
// eddsa (32), rs256 n||e (256 + 3).
std::size_t raw_key_size(CoseType t);

struct Credential {
  std::string key_handle;  // raw bytes; empty when resident ("*")
  std::string public_key;  // raw bytes, libfido2's form
  CoseType type = CoseType::es256;
  bool presence = false;
  bool verification = false;
  bool pin = false;
  bool resident() const { return key_handle.empty(); }
};

struct Entry {
  std::string user;
  std::vector<Credential> credentials;
};

// A name pam_u2f's format can hold: no ':', ',', spaces or controls, UTF-8.
bool valid_user_name(std::string_view user);

// One line (no newline). Refuses what pam_u2f would misread: empty fields,
// bad base64, a key of the wrong size for its type, unknown options.
Result<Entry> parse_line(std::string_view line);
// The line as pamu2fcfg writes it.
Result<std::string> format_line(const Entry& entry);

// A whole file: blank lines skipped; a user's last line wins (pam_u2f's
// rule). Any malformed line fails the file, naming its number.
Result<std::map<std::string, std::vector<Credential>>> parse_file(std::string_view text);
// Users in name order, one line each, each ending in '\n'.
Result<std::string> format_file(const std::map<std::string, std::vector<Credential>>& users);

// The side file: JSON {"version":1,"credentials":{"<base64 public key>":
// {"user":"...","sign_count":N,"user_handle":"<base64url>","added":T}}}.
struct SideRecord {
  std::string user;
  std::uint32_t sign_count = 0;
  std::string user_handle;  // raw bytes; empty if none (not a passkey)
  std::int64_t added = 0;   // seconds since the epoch it was enrolled here; 0: unknown (pamu2fcfg)
};
using SideFile = std::map<std::string, SideRecord>;  // key: raw public key bytes
Result<SideFile> parse_side_file(std::string_view json);
// Refuses a record whose user name the authfile could not hold either.
Result<std::string> format_side_file(const SideFile& side);

// The account a passkey's user handle names, or "" when none does.
std::string account_for_user_handle(const SideFile& side, std::string_view user_handle);

}  // namespace zsso::authfile
