// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/claims.hpp"

#include <nlohmann/json.hpp>

#include "zsso/text.hpp"

namespace zsso {

namespace {

// Calls emit(literal) / placeholder(name) in order; Error on a lone brace.
template <class Lit, class Ph>
Result<void> walk_template(std::string_view t, Lit&& lit, Ph&& ph) {
  std::size_t i = 0;
  while (i < t.size()) {
    char c = t[i];
    if (c == '{' && i + 1 < t.size() && t[i + 1] == '{') { lit("{"); i += 2; continue; }
    if (c == '}' && i + 1 < t.size() && t[i + 1] == '}') { lit("}"); i += 2; continue; }
    if (c == '}') return Error{"lone '}' (write '}}' for a literal brace)"};
    if (c == '{') {
      auto end = t.find('}', i);
      if (end == std::string_view::npos) return Error{"unclosed '{'"};
      auto name = t.substr(i + 1, end - i - 1);
      if (auto r = ph(name); !r) return r;
      i = end + 1;
      continue;
    }
    auto next = t.find_first_of("{}", i);
    if (next == std::string_view::npos) next = t.size();
    lit(t.substr(i, next - i));
    i = next;
  }
  return {};
}

bool known_placeholder(std::string_view n) {
  return n == "user" || n == "uid" || n == "gid" || n == "gecos" || n == "home" || n == "group";
}

Result<void> check_value(std::string_view claim, std::string_view v) {
  if (has_control_chars(v)) return Error{"claim " + std::string(claim) + ": control character in value"};
  if (!is_valid_utf8(v)) return Error{"claim " + std::string(claim) + ": invalid UTF-8"};
  return {};
}

}  // namespace

Result<void> check_template(std::string_view tmpl) {
  return walk_template(
      tmpl, [](std::string_view) {},
      [](std::string_view name) -> Result<void> {
        if (!known_placeholder(name))
          return Error{"unknown placeholder {" + std::string(name) +
                       "} (known: {user} {uid} {gid} {gecos} {home} {group})"};
        return {};
      });
}

Result<std::string> expand_template(std::string_view tmpl, const Account& a) {
  std::string out;
  auto r = walk_template(
      tmpl, [&](std::string_view s) { out += s; },
      [&](std::string_view name) -> Result<void> {
        if (name == "user") out += a.user;
        else if (name == "uid") out += std::to_string(a.uid);
        else if (name == "gid") out += std::to_string(a.gid);
        else if (name == "gecos") out += a.gecos;
        else if (name == "home") out += a.home;
        else if (name == "group") out += a.group;
        else return Error{"unknown placeholder {" + std::string(name) + "}"};
        return {};
      });
  if (!r) return Error{r.error()};
  return out;
}

std::optional<std::string> role_for(const Account& a, const ClaimsConfig& c) {
  for (const auto& [group, r] : c.role_by_group)
    if (a.in_group(group)) return r;
  return c.role;
}

Result<TemplateKey> template_key(std::string_view tmpl) {
  TemplateKey k;
  int placeholders = 0;
  std::string* side = &k.prefix;
  auto r = walk_template(
      tmpl, [&](std::string_view lit) { *side += lit; },
      [&](std::string_view name) -> Result<void> {
        ++placeholders;
        if (name == "user") k.kind = TemplateKey::Kind::user;
        else if (name == "uid") k.kind = TemplateKey::Kind::uid;
        else return Error{"has {" + std::string(name) + "}; sync can only read back {user} or {uid}"};
        side = &k.suffix;
        return {};
      });
  if (!r) return Error{r.error()};
  if (placeholders != 1) return Error{"needs exactly one {user} or {uid} for sync to find the account"};
  return k;
}

std::optional<std::string> TemplateKey::match(std::string_view value) const {
  if (value.size() <= prefix.size() + suffix.size()) return std::nullopt;
  if (value.substr(0, prefix.size()) != prefix) return std::nullopt;
  if (value.substr(value.size() - suffix.size()) != suffix) return std::nullopt;
  std::string key(value.substr(prefix.size(), value.size() - prefix.size() - suffix.size()));
  if (has_control_chars(key) || !is_valid_utf8(key)) return std::nullopt;
  if (kind == Kind::uid) {
    if (key.size() > 10 || (key.size() > 1 && key[0] == '0')) return std::nullopt;
    for (char ch : key)
      if (ch < '0' || ch > '9') return std::nullopt;
  }
  return key;
}

Result<nlohmann::ordered_json> build_claims(const Account& a, const ZendeskConfig& zd,
                                            const ClaimsConfig& c, std::int64_t now,
                                            std::string_view jti) {
  using J = nlohmann::ordered_json;
  J j = J::object();
  // Room for every claim (at most 17) up front: ordered_map is a vector of
  // pairs with const keys, so each regrowth would deep-copy the claims so far.
  j.get_ref<J::object_t&>().reserve(17);
  j["iat"] = now;
  j["jti"] = std::string(jti);

  // Expands a template and checks the result; on failure, returns from build_claims.
  std::string err;
  auto text = [&](std::string_view claim, std::string_view tmpl, std::string& out) -> bool {
    auto v = expand_template(tmpl, a);
    if (!v) { err = "claim " + std::string(claim) + ": " + v.error(); return false; }
    if (auto ok = check_value(claim, *v); !ok) { err = ok.error(); return false; }
    out = std::move(*v);
    return true;
  };

  std::string email, name;
  if (!text("email", c.email, email)) return Error{err};
  auto at = email.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string::npos || email.find(' ') != std::string::npos)
    return Error{"claim email: " + quote_for_log(email) + " is not an email address"};
  if (!text("name", c.name, name)) return Error{err};
  if (trim(name).empty()) {
    name = a.user;   // no GECOS name: the user name is better than nothing
    // It bypassed the template check above; NSS user names are outside input too.
    if (auto ok = check_value("name", name); !ok) return Error{ok.error()};
  }
  j["email"] = std::move(email);
  j["name"] = std::move(name);

  auto optional_text = [&](const char* claim, const std::optional<std::string>& tmpl) -> bool {
    if (!tmpl) return true;
    std::string v;
    if (!text(claim, *tmpl, v)) return false;
    if (!v.empty()) j[claim] = std::move(v);
    return true;
  };
  if (!optional_text("external_id", c.external_id)) return Error{err};
  if (c.organization_id) j["organization_id"] = *c.organization_id;
  else if (!optional_text("organization", c.organization)) return Error{err};
  if (!c.organizations.empty()) {
    std::string joined;
    for (const auto& o : c.organizations) {
      if (!joined.empty()) joined += ',';
      joined += o;
    }
    j["organizations"] = joined;
  }
  if (!c.organization_ids.empty()) {
    std::string joined;
    for (auto id : c.organization_ids) {
      if (!joined.empty()) joined += ',';
      joined += std::to_string(id);
    }
    j["organization_ids"] = joined;
  }

  J tags = J::array();
  for (const auto& t : c.tags) tags.push_back(t);
  for (const auto& g : c.tags_from_groups)
    if (a.in_group(g)) tags.push_back(g);
  if (!c.tags.empty() || !c.tags_from_groups.empty()) j["tags"] = std::move(tags);

  if (auto role = role_for(a, c)) j["role"] = *role;
  if (c.custom_role_id) j["custom_role_id"] = *c.custom_role_id;
  if (c.locale) j["locale"] = *c.locale;
  if (c.locale_id) j["locale_id"] = *c.locale_id;
  if (!optional_text("phone", c.phone)) return Error{err};
  if (!optional_text("remote_photo_url", c.remote_photo_url)) return Error{err};
  if (c.user_fields && !c.user_fields->empty()) {
    J fields = J::object();
    for (const auto& [key, val] : c.user_fields->items()) {
      if (val.is_string()) {
        std::string v;
        if (!text("user_fields." + key, val.get_ref<const std::string&>(), v)) return Error{err};
        fields[key] = std::move(v);
      } else {
        fields[key] = val;
      }
    }
    j["user_fields"] = std::move(fields);
  }
  if (zd.exp_seconds > 0) j["exp"] = now + zd.exp_seconds;
  return j;
}

}  // namespace zsso
