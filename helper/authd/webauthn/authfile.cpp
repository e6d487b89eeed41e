// SPDX-License-Identifier: BSD-3-Clause
#include "authfile.hpp"

#include <nlohmann/json.hpp>

#include "zsso/base64url.hpp"
#include "zsso/text.hpp"

namespace zsso::authfile {

std::string_view type_name(CoseType t) {
  switch (t) {
    case CoseType::es256: return "es256";
    case CoseType::eddsa: return "eddsa";
    case CoseType::rs256: return "rs256";
  }
  return "?";
}

std::optional<CoseType> type_from_name(std::string_view name) {
  if (name == "es256") return CoseType::es256;
  if (name == "eddsa") return CoseType::eddsa;
  if (name == "rs256") return CoseType::rs256;
  return std::nullopt;
}

std::size_t raw_key_size(CoseType t) {
  switch (t) {
    case CoseType::es256: return 64;
    case CoseType::eddsa: return 32;
    case CoseType::rs256: return 259;
  }
  return 0;
}

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

// pam_u2f splits on ':' and ',' and compares names with strcmp: a user name
// must hold neither, nor anything that ends a line or hides in a log.
bool valid_user(std::string_view u) {
  if (u.empty() || u.size() > 256) return false;
  for (unsigned char c : u)
    if (c <= 0x20 || c == 0x7f || c == ':' || c == ',') return false;
  return is_valid_utf8(u);  // the side file is JSON
}

std::optional<std::string> hex_decode(std::string_view h) {
  if (h.size() % 2) return std::nullopt;
  std::string out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < h.size(); i += 2) {
    int a = nib(h[i]), b = nib(h[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    out.push_back(static_cast<char>(a << 4 | b));
  }
  return out;
}

Result<Credential> parse_credential(std::string_view text) {
  auto f = split(text, ',');
  for (std::size_t i = 0; i + 1 < f.size(); ++i)  // only the options may be empty
    if (f[i].empty()) return Error{"empty field in a credential"};
  Credential c;
  if (f.size() == 2) {
    // Old format: websafe base64 key handle (unpadded), hex 04||x||y.
    auto kh = base64url_decode(f[0]);
    auto pk = hex_decode(f[1]);
    if (!kh || kh->empty()) return Error{"old-format key handle is not base64url"};
    if (!pk || pk->size() != 65 || (*pk)[0] != '\x04') return Error{"old-format public key is not a hex P-256 point"};
    c.key_handle = *kh;
    c.public_key = pk->substr(1);
    c.presence = true;
    return c;
  }
  if (f.size() != 3 && f.size() != 4) return Error{"a credential has 4 comma-separated fields"};
  if (f[0] != "*") {
    auto kh = base64_decode(f[0]);
    if (!kh || kh->empty()) return Error{"key handle is not base64"};
    c.key_handle = *kh;
  }
  auto type = type_from_name(f[2]);
  if (!type) return Error{"COSE type is not es256, eddsa or rs256"};
  c.type = *type;
  auto pk = base64_decode(f[1]);
  // libfido2's es256_pk_from_ptr also takes the 65-byte 04||x||y form.
  if (pk && c.type == CoseType::es256 && pk->size() == 65 && (*pk)[0] == '\x04') pk->erase(0, 1);
  if (!pk || pk->size() != raw_key_size(c.type)) return Error{"public key is not base64 of a " + std::string(type_name(c.type)) + " key"};
  c.public_key = *pk;
  std::string_view opts = f.size() == 4 ? f[3] : std::string_view{};
  while (!opts.empty()) {
    if (opts[0] != '+') return Error{"options are +presence, +verification, +pin"};
    opts.remove_prefix(1);
    auto word = opts.substr(0, opts.find('+'));
    opts.remove_prefix(word.size());
    bool* flag = word == "presence" ? &c.presence : word == "verification" ? &c.verification : word == "pin" ? &c.pin : nullptr;
    if (!flag || *flag) return Error{"options are +presence, +verification, +pin, each once"};
    *flag = true;
  }
  return c;
}

}  // namespace

bool valid_user_name(std::string_view user) { return valid_user(user); }

Result<Entry> parse_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') return Error{"carriage return in the line"};
  auto parts = split(line, ':');
  if (!valid_user(parts[0])) return Error{"user name missing or holds ':', ',' or spaces"};
  if (parts.size() < 2) return Error{"no credential after the user name"};
  Entry e;
  e.user = std::string(parts[0]);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty()) return Error{"empty credential"};
    auto c = parse_credential(parts[i]);
    if (!c) return Error{c.error()};
    e.credentials.push_back(std::move(*c));
  }
  return e;
}

Result<std::string> format_line(const Entry& entry) {
  if (!valid_user(entry.user)) return Error{"user name empty or holds ':', ',' or spaces"};
  if (entry.credentials.empty()) return Error{"no credential"};
  std::string out = entry.user;
  for (const auto& c : entry.credentials) {
    if (c.public_key.size() != raw_key_size(c.type)) return Error{"public key of the wrong size for its type"};
    out += ':';
    out += c.resident() ? std::string("*") : base64_encode(c.key_handle);
    out += ',';
    out += base64_encode(c.public_key);
    out += ',';
    out += type_name(c.type);
    out += ',';
    if (c.presence) out += "+presence";
    if (c.verification) out += "+verification";
    if (c.pin) out += "+pin";
  }
  return out;
}

Result<std::map<std::string, std::vector<Credential>>> parse_file(std::string_view text) {
  std::map<std::string, std::vector<Credential>> users;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    auto e = parse_line(line);
    if (!e) return Error{"line " + std::to_string(number) + ": " + e.error()};
    users[e->user] = std::move(e->credentials);
  }
  return users;
}

Result<std::string> format_file(const std::map<std::string, std::vector<Credential>>& users) {
  std::string out;
  for (const auto& [user, creds] : users) {
    if (creds.empty()) continue;
    auto line = format_line(Entry{user, creds});
    if (!line) return Error{line.error()};
    out += *line;
    out += '\n';
  }
  return out;
}

Result<SideFile> parse_side_file(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error{"side file is not a JSON object"};
  auto v = j.find("version");
  auto creds = j.find("credentials");
  if (v == j.end() || !v->is_number_integer() || v->get<std::int64_t>() != 1) return Error{"side file version is not 1"};
  if (creds == j.end() || !creds->is_object()) return Error{"side file has no credentials object"};
  SideFile side;
  for (auto it = creds->begin(); it != creds->end(); ++it) {
    auto pk = base64_decode(it.key());
    if (!pk || pk->empty()) return Error{"side file key is not a base64 public key"};
    const auto& r = it.value();
    if (!r.is_object()) return Error{"side file record is not an object"};
    SideRecord rec;
    auto user = r.find("user");
    auto count = r.find("sign_count");
    if (user == r.end() || !user->is_string() || !valid_user(user->get<std::string>()))
      return Error{"side file record without a valid user"};
    rec.user = user->get<std::string>();
    if (count != r.end()) {
      if (!count->is_number_unsigned() || count->get<std::uint64_t>() > UINT32_MAX)
        return Error{"side file sign_count is not a 32-bit count"};
      rec.sign_count = static_cast<std::uint32_t>(count->get<std::uint64_t>());
    }
    if (auto h = r.find("user_handle"); h != r.end()) {
      auto raw = h->is_string() ? base64url_decode(h->get<std::string>()) : std::nullopt;
      if (!raw || raw->empty() || raw->size() > 64) return Error{"side file user_handle is not base64url of 1-64 bytes"};
      rec.user_handle = *raw;
    }
    if (auto a = r.find("added"); a != r.end()) {
      if (!a->is_number_unsigned() || a->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        return Error{"side file added is not a time in seconds"};
      rec.added = static_cast<std::int64_t>(a->get<std::uint64_t>());
    }
    side.emplace(std::move(*pk), std::move(rec));
  }
  return side;
}

Result<std::string> format_side_file(const SideFile& side) {
  nlohmann::json creds = nlohmann::json::object();
  for (const auto& [pk, rec] : side) {
    if (pk.empty() || !valid_user(rec.user)) return Error{"side file record without a public key or a valid user"};
    if (rec.user_handle.size() > 64) return Error{"user handle longer than 64 bytes"};
    nlohmann::json r = {{"user", rec.user}, {"sign_count", rec.sign_count}};
    if (!rec.user_handle.empty()) r["user_handle"] = base64url_encode(rec.user_handle);
    if (rec.added > 0) r["added"] = rec.added;
    creds[base64_encode(pk)] = std::move(r);
  }
  return nlohmann::json{{"version", 1}, {"credentials", std::move(creds)}}.dump(2) + "\n";
}

std::string account_for_user_handle(const SideFile& side, std::string_view user_handle) {
  std::string found;
  if (user_handle.empty()) return found;
  for (const auto& [pk, rec] : side) {
    if (rec.user_handle != user_handle) continue;
    if (!found.empty() && found != rec.user) return {};  // two accounts claim it: none
    found = rec.user;
  }
  return found;
}

}  // namespace zsso::authfile
