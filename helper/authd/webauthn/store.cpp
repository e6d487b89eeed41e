// SPDX-License-Identifier: BSD-3-Clause
#include "store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "zsso/base64url.hpp"
#include "zsso/files.hpp"
#include "zsso/text.hpp"

namespace zsso::authfile {

namespace {

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The folder's owner and group; refused when others may write in it (they
// could swap the files).
Result<struct stat> folder_stat(const std::string& path) {
  const std::string dir = folder_of(path);
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return Error{dir + ": " + errno_text(errno)};
  if (!S_ISDIR(st.st_mode)) return Error{dir + ": not a folder"};
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Error{dir + ": writable by group or others; run chmod go-w"};
  return st;
}

// root may give a file any owner; anyone else keeps their own (a file they
// own stays trusted: the running user's).
void give_owner(int fd, uid_t uid, gid_t gid) {
  if (::fchown(fd, uid, gid) != 0 && ::geteuid() != 0) {
    (void)!::fchown(fd, static_cast<uid_t>(-1), gid);  // at least the group, if we are in it
  }
}

Result<void> write_all(int fd, const std::string& text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{path + ": write: " + errno_text(errno)};
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

std::string side_file_path(const std::string& authfile) { return authfile + ".json"; }

StoreLock::StoreLock(const std::string& authfile) {
  const std::string path = side_file_path(authfile) + ".lock";
  auto folder = folder_stat(path);
  if (!folder) {
    error_ = folder.error();
    return;
  }
  fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd_.valid()) {
    error_ = path + ": " + errno_text(errno);
    return;
  }
  // Made by root's CLI in the broker's folder: the broker must open it too.
  struct stat st{};
  if (::geteuid() == 0 && ::fstat(fd_.get(), &st) == 0 && st.st_uid != folder->st_uid)
    give_owner(fd_.get(), folder->st_uid, folder->st_gid);
  int rc;
  do rc = ::flock(fd_.get(), LOCK_EX);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) error_ = path + ": flock: " + errno_text(errno);
}

Result<std::string> read_store_file(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return std::string();
  auto folder = folder_stat(path);
  if (!folder) return Error{folder.error()};
  return read_trusted_file(path, {kMaxStoreFileSize, true}, folder->st_uid);
}

Result<void> replace_store_file(const std::string& path, const std::string& text, unsigned mode_if_new) {
  auto folder = folder_stat(path);
  if (!folder) return Error{folder.error()};
  uid_t uid = folder->st_uid;
  gid_t gid = folder->st_gid;
  mode_t mode = mode_if_new;
  struct stat old{};
  if (::lstat(path.c_str(), &old) == 0) {
    if (!S_ISREG(old.st_mode)) return Error{path + ": not a regular file"};
    uid = old.st_uid;
    gid = old.st_gid;
    mode = old.st_mode & 0755;  // never writable by group or others
  } else if (errno != ENOENT) {
    return Error{path + ": " + errno_text(errno)};
  }

  // Under the store's lock: a temporary file left by a crash is ours to replace.
  const std::string tmp = path + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return Error{tmp + ": " + errno_text(errno)};
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return Error{tmp + ": " + errno_text(errno)};
  give_owner(fd.get(), uid, gid);
  if (::fchmod(fd.get(), mode) != 0) return Error{tmp + ": chmod: " + errno_text(errno)};
  if (auto w = write_all(fd.get(), text, tmp); !w) return w;
  if (::fsync(fd.get()) != 0) return Error{tmp + ": fsync: " + errno_text(errno)};
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Error{path + ": rename: " + errno_text(errno)};
  UniqueFd dir(::open(folder_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) ::fsync(dir.get());
  return {};
}

Result<Store> load_store(const std::string& authfile) {
  Store store;
  auto text = read_store_file(authfile);
  if (!text) return Error{text.error()};
  auto users = parse_file(*text);
  if (!users) return Error{authfile + ": " + users.error()};
  store.users = std::move(*users);
  const std::string side_path = side_file_path(authfile);
  auto side_text = read_store_file(side_path);
  if (!side_text) return Error{side_text.error()};
  if (!side_text->empty()) {
    auto side = parse_side_file(*side_text);
    if (!side) return Error{side_path + ": " + side.error()};
    store.side = std::move(*side);
  }
  return store;
}

Result<void> save_store(const std::string& authfile, const Store& store) {
  std::set<std::string> keys;
  for (const auto& [user, creds] : store.users)
    for (const auto& c : creds) keys.insert(c.public_key);
  SideFile side;
  for (const auto& [pk, rec] : store.side)
    if (keys.count(pk)) side.emplace(pk, rec);
  // Both texts first: a store that cannot be written changes nothing.
  auto text = format_file(store.users);
  if (!text) return Error{authfile + ": " + text.error()};
  auto side_text = format_side_file(side);
  if (!side_text) return Error{side_file_path(authfile) + ": " + side_text.error()};
  if (auto w = replace_store_file(authfile, *text); !w) return w;
  return replace_store_file(side_file_path(authfile), *side_text);
}

std::string credential_id(const Credential& c) {
  return c.resident() ? "*" + base64url_encode(c.public_key) : base64url_encode(c.key_handle);
}

Result<void> add_key(const std::string& authfile, const std::string& user, const Credential& key, SideRecord record) {
  if (auto line = format_line(Entry{user, {key}}); !line) return Error{line.error()};
  StoreLock lock(authfile);
  if (!lock.error().empty()) return Error{lock.error()};
  auto store = load_store(authfile);
  if (!store) return Error{store.error()};
  for (const auto& [who, creds] : store->users)
    for (const auto& c : creds) {
      if (c.public_key == key.public_key) return Error{"this key is already enrolled"};
      if (!key.resident() && c.key_handle == key.key_handle) return Error{"this credential id is already enrolled"};
    }
  auto& mine = store->users[user];
  if (mine.size() >= kMaxKeysPerUser)
    return Error{"the account has " + std::to_string(kMaxKeysPerUser) + " keys already (the most one may hold)"};
  mine.push_back(key);
  record.user = user;
  store->side[key.public_key] = std::move(record);
  return save_store(authfile, *store);
}

Result<std::vector<Credential>> user_keys(const std::string& authfile, const std::string& user) {
  auto text = read_store_file(authfile);
  if (!text) return Error{text.error()};
  auto users = parse_file(*text);
  if (!users) return Error{authfile + ": " + users.error()};
  auto it = users->find(user);
  if (it == users->end()) return std::vector<Credential>{};
  return std::move(it->second);
}

Result<std::vector<KeyInfo>> list_keys(const std::string& authfile, const std::string& user) {
  auto store = load_store(authfile);
  if (!store) return Error{store.error()};
  std::vector<KeyInfo> out;
  for (const auto& [who, creds] : store->users) {
    if (!user.empty() && who != user) continue;
    for (const auto& c : creds) {
      KeyInfo k{who, c, std::nullopt, credential_id(c)};
      if (auto s = store->side.find(c.public_key); s != store->side.end() && s->second.user == who) k.side = s->second;
      out.push_back(std::move(k));
    }
  }
  return out;
}

Result<std::vector<KeyInfo>> remove_keys(const std::string& authfile, const std::string& user, const KeySelector& which) {
  if (!which.all && which.id_prefix.empty()) return Error{"no credential id given"};
  StoreLock lock(authfile);
  if (!lock.error().empty()) return Error{lock.error()};
  auto store = load_store(authfile);
  if (!store) return Error{store.error()};
  auto it = store->users.find(user);
  if (it == store->users.end() || it->second.empty()) return Error{"no security key is enrolled for " + quote_for_log(user)};
  auto& creds = it->second;
  std::vector<std::size_t> hits;
  for (std::size_t i = 0; i < creds.size(); ++i)
    if (which.all || credential_id(creds[i]).starts_with(which.id_prefix)) hits.push_back(i);
  if (hits.empty())
    return Error{"no key of " + quote_for_log(user) + " has a credential id starting with " + quote_for_log(which.id_prefix)};
  if (!which.all && hits.size() > 1) {
    std::vector<std::string> ids;
    for (const auto& c : creds) ids.push_back(credential_id(c));
    const auto shown = short_ids(ids);
    std::string names;
    for (auto i : hits) names += (names.empty() ? "" : ", ") + shown[i];
    return Error{quote_for_log(which.id_prefix) + " names " + std::to_string(hits.size()) + " keys of " +
                 quote_for_log(user) + " (" + names + "): give more of the id"};
  }
  std::vector<KeyInfo> removed;
  for (auto i = hits.rbegin(); i != hits.rend(); ++i) {
    const Credential& c = creds[*i];
    KeyInfo k{user, c, std::nullopt, credential_id(c)};
    if (auto s = store->side.find(c.public_key); s != store->side.end()) k.side = s->second;
    removed.insert(removed.begin(), std::move(k));
    creds.erase(creds.begin() + static_cast<std::ptrdiff_t>(*i));
  }
  if (auto saved = save_store(authfile, *store); !saved) return Error{saved.error()};
  return removed;
}

std::vector<std::string> short_ids(const std::vector<std::string>& ids, std::size_t min_chars) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::size_t n = std::min(min_chars, ids[i].size());
    for (std::size_t j = 0; j < ids.size(); ++j) {
      if (j == i || ids[j] == ids[i]) continue;
      std::size_t common = 0;
      while (common < ids[i].size() && common < ids[j].size() && ids[i][common] == ids[j][common]) ++common;
      n = std::max(n, std::min(common + 1, ids[i].size()));
    }
    out.push_back(ids[i].substr(0, n));
  }
  return out;
}

}  // namespace zsso::authfile
