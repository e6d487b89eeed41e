// SPDX-License-Identifier: BSD-3-Clause
// The security-key store's write side (helper/authd/webauthn/store.hpp)
// against real files in a fresh folder.
#include "store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

using namespace zsso::authfile;
namespace fs = std::filesystem;

// pamu2fcfg's line (pam_u2f's tests/credentials/new_), as an admin pastes it.
const char kPamu2fcfgLine[] =
    "myuser:vlcWFQFik8gJySuxMTlRwSDvnq9u/mlMXRIqv4rd7Kq2CJj1V9Uh9PqbTF8UkY3EcQfHeS0G3nY0ibyxXE0pdw==,"
    "CTTRrHrqQmqfyI7/bhtAknx9TGCqhd936JdcoekUxUa6PNA6uYzsvFN0qaE+j2LchLPU4vajQPdAOcvvvNfWCA==,es256,+presence\n";

class Store : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zsso-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/authfile";
  }
  void TearDown() override { fs::remove_all(dir_); }

  static Credential key(char seed, bool resident = false) {
    Credential c;
    if (!resident) c.key_handle = std::string(32, seed) + "handle";
    c.public_key = std::string(64, seed);
    c.presence = true;
    return c;
  }
  std::string read(const std::string& p) const {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write(const std::string& p, const std::string& text, mode_t mode = 0600) const {
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
  }
  static unsigned mode_of(const std::string& p) {
    struct stat st{};
    ::stat(p.c_str(), &st);
    return st.st_mode & 07777;
  }

  std::string dir_, path_;
};

TEST_F(Store, AddsKeysAndListsThemWithTheSideRecord) {
  SideRecord rec;
  rec.added = 1700000000;
  rec.user_handle = "handle-of-alice";
  ASSERT_TRUE(add_key(path_, "alice", key('a'), rec).ok());
  ASSERT_TRUE(add_key(path_, "bob", key('b', /*resident=*/true), {}).ok());
  ASSERT_TRUE(add_key(path_, "alice", key('c'), {}).ok());

  auto all = list_keys(path_);
  ASSERT_TRUE(all.ok()) << all.error();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].user, "alice");
  EXPECT_EQ((*all)[0].credential.public_key, key('a').public_key);
  ASSERT_TRUE((*all)[0].side.has_value());
  EXPECT_EQ((*all)[0].side->added, 1700000000);
  EXPECT_EQ((*all)[0].side->user_handle, "handle-of-alice");
  EXPECT_EQ((*all)[1].credential.public_key, key('c').public_key);
  EXPECT_EQ((*all)[2].user, "bob");
  EXPECT_EQ((*all)[2].id[0], '*');  // a resident key has no handle in the file

  auto bob = list_keys(path_, "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->size(), 1u);
  // One line per user, as pam_u2f reads it; new files 0640.
  auto parsed = parse_file(read(path_));
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->at("alice").size(), 2u);
  EXPECT_EQ(mode_of(path_), 0640u);
  EXPECT_EQ(mode_of(side_file_path(path_)), 0640u);
}

TEST_F(Store, RefusesADuplicateKeyOrHandleAndChangesNothing) {
  ASSERT_TRUE(add_key(path_, "alice", key('a'), {}).ok());
  const std::string before = read(path_), side_before = read(side_file_path(path_));
  auto same_key = add_key(path_, "bob", key('a', true), {});
  ASSERT_FALSE(same_key.ok());
  EXPECT_NE(same_key.error().find("already enrolled"), std::string::npos);
  Credential same_handle = key('b');
  same_handle.key_handle = key('a').key_handle;
  EXPECT_FALSE(add_key(path_, "bob", same_handle, {}).ok());
  EXPECT_EQ(read(path_), before);
  EXPECT_EQ(read(side_file_path(path_)), side_before);
}

TEST_F(Store, CapsTheKeysOfOneAccount) {
  for (std::size_t i = 0; i < kMaxKeysPerUser; ++i)
    ASSERT_TRUE(add_key(path_, "alice", key(static_cast<char>('A' + i)), {}).ok()) << i;
  auto one_more = add_key(path_, "alice", key('z'), {});
  ASSERT_FALSE(one_more.ok());
  EXPECT_NE(one_more.error().find("16 keys"), std::string::npos) << one_more.error();
  EXPECT_TRUE(add_key(path_, "bob", key('z'), {}).ok());
}

TEST_F(Store, RefusesAUserNamePamU2fWouldMisread) {
  EXPECT_FALSE(add_key(path_, "al:ice", key('a'), {}).ok());
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(Store, KeepsAPamu2fcfgLineAndTheFilesMode) {
  write(path_, kPamu2fcfgLine, 0600);
  ASSERT_TRUE(add_key(path_, "zed", key('z'), {}).ok());
  const std::string text = read(path_);
  EXPECT_EQ(text.substr(0, sizeof kPamu2fcfgLine - 1), kPamu2fcfgLine);  // "myuser" sorts first
  EXPECT_EQ(mode_of(path_), 0600u);

  auto mine = list_keys(path_, "myuser");
  ASSERT_TRUE(mine.ok()) << mine.error();
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_FALSE((*mine)[0].side.has_value());  // no side record: enrolled elsewhere
  EXPECT_EQ((*mine)[0].id.substr(0, 12), "vlcWFQFik8gJ");
}

TEST_F(Store, RemovesByIdPrefixOrAllAndDropsTheSideRecords) {
  ASSERT_TRUE(add_key(path_, "alice", key('a'), {}).ok());
  ASSERT_TRUE(add_key(path_, "alice", key('b'), {}).ok());
  ASSERT_TRUE(add_key(path_, "bob", key('c'), {}).ok());
  const std::string id_a = credential_id(key('a'));

  auto none = remove_keys(path_, "alice", {false, "zzzz"});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("zzzz"), std::string::npos);
  // bob's key is not alice's to remove
  EXPECT_FALSE(remove_keys(path_, "alice", {false, credential_id(key('c')).substr(0, 12)}).ok());

  auto gone = remove_keys(path_, "alice", {false, id_a.substr(0, 12)});
  ASSERT_TRUE(gone.ok()) << gone.error();
  ASSERT_EQ(gone->size(), 1u);
  EXPECT_EQ((*gone)[0].credential.public_key, key('a').public_key);
  auto side = parse_side_file(read(side_file_path(path_)));
  ASSERT_TRUE(side.ok());
  EXPECT_EQ(side->count(key('a').public_key), 0u);
  EXPECT_EQ(side->count(key('b').public_key), 1u);

  auto rest = remove_keys(path_, "alice", {true, ""});
  ASSERT_TRUE(rest.ok()) << rest.error();
  EXPECT_EQ(rest->size(), 1u);
  auto left = list_keys(path_);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].user, "bob");
  EXPECT_EQ(read(path_).find("alice"), std::string::npos);
  EXPECT_FALSE(remove_keys(path_, "alice", {true, ""}).ok());  // nothing left to remove
}

TEST_F(Store, RefusesAnAmbiguousPrefixNamingTheMatches) {
  Credential one = key('a'), two = key('b');
  one.key_handle = std::string(30, 'x') + "one";
  two.key_handle = std::string(30, 'x') + "two";
  ASSERT_TRUE(add_key(path_, "alice", one, {}).ok());
  ASSERT_TRUE(add_key(path_, "alice", two, {}).ok());
  const std::string before = read(path_);
  auto r = remove_keys(path_, "alice", {false, credential_id(one).substr(0, 12)});
  ASSERT_FALSE(r.ok());
  auto shown = short_ids({credential_id(one), credential_id(two)});
  EXPECT_NE(r.error().find(shown[0]), std::string::npos) << r.error();
  EXPECT_NE(r.error().find(shown[1]), std::string::npos) << r.error();
  EXPECT_EQ(read(path_), before);
}

TEST(StoreIds, ShortIdsGrowUntilUnique) {
  auto s = short_ids({"abcdefghijklmnop1", "abcdefghijklmnop2", "zzzzzzzzzzzzzzzzzz", "short"});
  EXPECT_EQ(s[0], "abcdefghijklmnop1");
  EXPECT_EQ(s[1], "abcdefghijklmnop2");
  EXPECT_EQ(s[2], "zzzzzzzzzzzz");
  EXPECT_EQ(s[3], "short");
}

TEST_F(Store, RefusesAStoreOthersMayWrite) {
  write(path_, kPamu2fcfgLine, 0620);
  auto r = list_keys(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("writable"), std::string::npos) << r.error();
  ::chmod(path_.c_str(), 0600);
  ::chmod(dir_.c_str(), 0777);
  EXPECT_FALSE(list_keys(path_).ok());
  EXPECT_FALSE(add_key(path_, "bob", key('b'), {}).ok());
  ::chmod(dir_.c_str(), 0700);
}

TEST_F(Store, ASymlinkIsNotFollowed) {
  write(dir_ + "/real", kPamu2fcfgLine);
  fs::create_symlink(dir_ + "/real", path_);
  EXPECT_FALSE(list_keys(path_).ok());
}

// root's CLI writing into the broker's folder: the files (and the lock) are
// the folder owner's, so the broker can go on writing and locking them.
TEST_F(Store, FilesRootMakesInAnotherUsersFolderAreThatUsers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
  const uid_t broker = 65534;  // nobody
  ASSERT_EQ(::chown(dir_.c_str(), broker, broker), 0);
  ASSERT_TRUE(add_key(path_, "alice", key('a'), {}).ok());
  for (const auto& p : {path_, side_file_path(path_), side_file_path(path_) + ".lock"}) {
    struct stat st{};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_uid, broker) << p;
  }
  auto keys = list_keys(path_);  // root trusts the folder owner's files
  ASSERT_TRUE(keys.ok()) << keys.error();
  EXPECT_EQ(keys->size(), 1u);
}

}  // namespace
