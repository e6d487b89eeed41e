// SPDX-License-Identifier: BSD-3-Clause
// The security-key store on disk (issue 23, points 3 and 4): webauthn.authfile
// (pam_u2f's format, authfile.hpp) and its side file authfile + ".json", read
// and written by the broker (sign counts, enrolment) and by root's CLI
// (`zendesk-sso keys`). One lock for every writer, authfile + ".json.lock"
// (flock); every file is replaced whole through a new file and rename(2), so a
// reader without the lock sees the old file or the new one.
//
// Who may own the files: root, the running user, or the owner of their folder
// (who could replace them anyway; the shipped drop-in's folder is the
// broker's: /var/lib/zendesk-sso/webauthn, zendesk-sso, 0700). A rewritten
// file keeps the old one's owner, group and mode (when the writer may give
// them: root may, the broker keeps its own owner); a new file gets its
// folder's owner and group, mode 0640 (0600 for the invites), so a file root
// creates in the broker's folder is the broker's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "authfile.hpp"
#include "zsso/result.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::authfile {

// Keys one account may hold: as many as a key challenge can name.
inline constexpr std::size_t kMaxKeysPerUser = 16;
inline constexpr std::size_t kMaxStoreFileSize = 4 << 20;

std::string side_file_path(const std::string& authfile);  // authfile + ".json"

// An exclusive flock on authfile + ".json.lock" for its lifetime. Every
// writer of the authfile, the side file and the invites holds it, and the
// broker holds it from reading a sign count to saving the new one: two
// sign-ins with one key must not both pass with the same count.
class StoreLock {
 public:
  explicit StoreLock(const std::string& authfile);
  const std::string& error() const { return error_; }  // "" when held

 private:
  UniqueFd fd_;
  std::string error_;
};

// A store file's text, "" when it does not exist; refused when a symbolic
// link, not a regular file, writable by group or others, or owned by anyone
// but root, the running user or the folder's owner.
Result<std::string> read_store_file(const std::string& path);
// Replaces path with text (a new file beside it, fsync, rename, fsync of the
// folder). mode_if_new: the mode of a file that did not exist.
Result<void> replace_store_file(const std::string& path, const std::string& text, unsigned mode_if_new = 0640);

// Both files as they are on disk now (absent files are empty).
struct Store {
  std::map<std::string, std::vector<Credential>> users;
  SideFile side;
};
Result<Store> load_store(const std::string& authfile);
// Writes the authfile, then the side file (records of keys no longer in the
// authfile dropped). The caller holds the StoreLock.
Result<void> save_store(const std::string& authfile, const Store& store);

// How `keys list` names a credential and `keys remove` selects it:
// base64url of its key handle, or "*" + base64url of its public key for a
// resident key enrolled with `pamu2fcfg -r` (no handle in the file).
std::string credential_id(const Credential& c);

struct KeyInfo {
  std::string user;
  Credential credential;
  std::optional<SideRecord> side;  // the side file's record, when there is one
  std::string id;                  // credential_id()
};

// Adds a key for user. Refused: a key handle or public key already in the
// store (for anyone), user at kMaxKeysPerUser, a line pam_u2f would misread.
// record.user is set to user; record.added is the caller's clock.
Result<void> add_key(const std::string& authfile, const std::string& user, const Credential& key, SideRecord record);

// user's keys as the authfile holds them (the side file unread): what the
// broker's key step and a session check need.
Result<std::vector<Credential>> user_keys(const std::string& authfile, const std::string& user);

// The keys of user ("" = everyone), in the authfile's order, users by name.
Result<std::vector<KeyInfo>> list_keys(const std::string& authfile, const std::string& user = {});

// Which of a user's keys to remove: all, or the one whose credential_id
// starts with id_prefix (refused when none or several do, naming them).
struct KeySelector {
  bool all = false;
  std::string id_prefix;
};
// The keys removed. Refused (nothing changed): no match, an ambiguous prefix.
Result<std::vector<KeyInfo>> remove_keys(const std::string& authfile, const std::string& user, const KeySelector& which);

// The shortest prefix of each id, at least min_chars long, that no other id
// in ids shares: what `keys list` prints.
std::vector<std::string> short_ids(const std::vector<std::string>& ids, std::size_t min_chars = 12);

}  // namespace zsso::authfile
