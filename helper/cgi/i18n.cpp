// SPDX-License-Identifier: BSD-3-Clause
#include "i18n.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "zsso/files.hpp"
#include "zsso/text.hpp"

#ifndef ZSSO_LOCALE_DIR
#define ZSSO_LOCALE_DIR "/usr/share/locale"
#endif

namespace zsso::cgi {

namespace {

constexpr std::uint32_t kMoMagic = 0x950412de;
constexpr std::size_t kMaxCatalog = 1 << 20;   // ours are ~10 KiB

std::uint32_t read_u32(std::string_view mo, std::size_t at, bool swap) {
  std::uint32_t v;
  std::memcpy(&v, mo.data() + at, 4);
  return swap ? __builtin_bswap32(v) : v;
}

}  // namespace

Result<Catalog> Catalog::parse(std::string_view mo) {
  if (mo.size() < 28) return Error{"too short for a .mo file"};
  bool swap = false;
  if (read_u32(mo, 0, false) != kMoMagic) {
    if (read_u32(mo, 0, true) != kMoMagic) return Error{"not a .mo file (bad magic number)"};
    swap = true;
  }
  if ((read_u32(mo, 4, swap) >> 16) > 1) return Error{"unknown .mo major revision"};
  const std::uint64_t n = read_u32(mo, 8, swap);
  const std::uint64_t orig = read_u32(mo, 12, swap);
  const std::uint64_t trans = read_u32(mo, 16, swap);
  if (n > mo.size() / 16 || orig + n * 8 > mo.size() || trans + n * 8 > mo.size())
    return Error{"string tables lie outside the file"};
  auto string_at = [&](std::uint64_t table, std::uint64_t i, std::string_view& out) {
    const std::uint64_t len = read_u32(mo, table + i * 8, swap);
    const std::uint64_t off = read_u32(mo, table + i * 8 + 4, swap);
    if (off + len + 1 > mo.size() || mo[off + len] != '\0') return false;
    out = mo.substr(off, len);
    return true;
  };
  Catalog c;
  bool utf8 = false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view id, str;
    if (!string_at(orig, i, id) || !string_at(trans, i, str)) return Error{"a string lies outside the file"};
    if (id.empty()) {   // the header: only UTF-8 catalogues, so pages never mix encodings
      utf8 = ascii_lower(str).find("charset=utf-8") != std::string::npos;
      continue;
    }
    // Plural forms: msgid and msgstr hold NUL-separated variants; the first is the singular.
    id = id.substr(0, id.find('\0'));
    str = str.substr(0, str.find('\0'));
    if (!is_valid_utf8(str)) return Error{"translation of " + quote_for_log(id, 60) + " is not valid UTF-8"};
    if (!str.empty()) c.entries_.emplace(std::string(id), std::string(str));
  }
  if (!utf8) return Error{"the catalogue's header does not declare charset=UTF-8"};
  return c;
}

std::string_view Catalog::lookup(std::string_view msgid) const {
  auto it = entries_.find(std::string(msgid));
  return it == entries_.end() ? msgid : std::string_view(it->second);
}

std::string_view tr(const Language& lang, std::string_view msgid) { return lang.catalog.lookup(msgid); }

std::string fill(std::string_view text, const std::vector<std::pair<std::string_view, std::string_view>>& values) {
  std::string out;
  out.reserve(text.size() + 64);
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '{') {
      const std::size_t close = text.find('}', i + 1);
      if (close != std::string_view::npos) {
        const std::string_view name = text.substr(i + 1, close - i - 1);
        auto it = std::find_if(values.begin(), values.end(), [&](const auto& kv) { return kv.first == name; });
        if (it != values.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

std::vector<std::string> accept_language_tags(std::string_view header) {
  struct Entry {
    std::string tag;
    int q;   // thousandths
  };
  std::vector<Entry> entries;
  if (header.size() > 2000) header = header.substr(0, 2000);
  while (!header.empty() && entries.size() < 32) {
    std::size_t comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    std::size_t semi = item.find(';');
    std::string_view tag = trim(item.substr(0, semi));
    int q = 1000;
    bool ok = true;
    while (semi != std::string_view::npos) {
      item = item.substr(semi + 1);
      semi = item.find(';');
      std::string_view param = trim(item.substr(0, semi));
      if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
      std::string_view v = param.substr(2);
      // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
      if (v.empty() || (v[0] != '0' && v[0] != '1') || v.size() > 5 || (v.size() > 1 && v[1] != '.')) {
        ok = false;
        break;
      }
      int value = (v[0] - '0') * 1000, scale = 100;
      for (std::size_t k = 2; k < v.size(); ++k, scale /= 10) {
        if (v[k] < '0' || v[k] > '9') ok = false;
        else value += (v[k] - '0') * scale;
      }
      if (value > 1000) ok = false;
      q = value;
    }
    if (!ok || q == 0 || tag == "*" || !is_language_tag(tag)) continue;
    entries.push_back({std::string(tag), q});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.q > b.q; });
  std::vector<std::string> out;
  for (auto& e : entries) out.push_back(std::move(e.tag));
  return out;
}

std::string zendesk_locale_tag(std::int64_t id, const std::vector<std::pair<std::int64_t, std::string>>& extra) {
  for (const auto& [k, tag] : extra)
    if (k == id) return tag;
  // Verified against https://support.zendesk.com/api/v2/locales/public.json
  // and Zendesk's API examples. Other ids (pt-BR, it, ja, nl …): the admin
  // adds them with helper.locale_ids after looking them up in that list;
  // until then the browser's Accept-Language decides.
  static constexpr std::pair<std::int64_t, std::string_view> kKnown[] = {
      {1, "en-US"}, {2, "es"}, {8, "de"}, {9, "zh-TW"}, {10, "zh-CN"}, {13, "pl"}, {16, "fr"},
  };
  for (const auto& [k, tag] : kKnown)
    if (k == id) return std::string(tag);
  return {};
}

std::vector<std::string> catalog_names(std::string_view tag) {
  if (!is_language_tag(tag)) return {};
  const std::size_t sep = tag.find_first_of("-_");
  std::string lang = ascii_lower(tag.substr(0, sep));
  std::vector<std::string> out;
  if (sep != std::string_view::npos) {
    std::string region(tag.substr(sep + 1));
    for (char& c : region)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out.push_back(lang + "_" + region);
  }
  out.push_back(lang);
  return out;
}

LocaleSearch locale_search(std::string_view admin_dir) {
  LocaleSearch s;
  if (!admin_dir.empty()) s.dirs.emplace_back(admin_dir);
  s.dirs.emplace_back(ZSSO_LOCALE_DIR);
  return s;
}

Language choose_language(const std::vector<std::string>& candidates, LocaleSearch& where) {
  for (const auto& tag : candidates) {
    for (const auto& name : catalog_names(tag)) {
      for (const auto& dir : where.dirs) {
        const std::string path = dir + "/" + name + "/LC_MESSAGES/" + std::string(kTextDomain) + ".mo";
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
          // No such translation here is normal; anything else (a directory
          // the web server may not enter) is the admin's to know.
          if (errno != ENOENT && errno != ENOTDIR) {
            if (!where.problems.empty()) where.problems += "; ";
            where.problems += "catalogue " + path + ": " + errno_text(errno);
          }
          continue;
        }
        auto text = read_trusted_file(path, TrustedFileRules{kMaxCatalog, true});
        if (!text) {
          if (!where.problems.empty()) where.problems += "; ";
          where.problems += "catalogue " + text.error();
          continue;
        }
        auto cat = Catalog::parse(*text);
        if (!cat) {
          if (!where.problems.empty()) where.problems += "; ";
          where.problems += "catalogue " + path + ": " + cat.error();
          continue;
        }
        Language l;
        l.tag = name;
        std::replace(l.tag.begin(), l.tag.end(), '_', '-');
        l.catalog = std::move(*cat);
        return l;
      }
      // English is the source text: always there, even without a catalogue.
      if (name == "en") return Language{};
    }
  }
  return Language{};
}

}  // namespace zsso::cgi
