// SPDX-License-Identifier: BSD-3-Clause
// Enrolment codes (helper/authd/webauthn/invites.hpp) against real files.
#include "invites.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "store.hpp"

namespace {

using namespace zsso::authfile;
namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'800'000'000;

class Invites : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zsso-invites-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    authfile_ = dir_ + "/authfile";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file_text() const {
    std::ifstream in(invites_path(authfile_));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_, authfile_;
};

TEST_F(Invites, ACodeIsTwelveEasyCharactersInGroupsOfFourStoredOnlyAsAHash) {
  auto code = create_invite(authfile_, "alice", kInviteDefaultMinutes, kNow);
  ASSERT_TRUE(code.ok()) << code.error();
  EXPECT_TRUE(std::regex_match(code->text, std::regex("[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")))
      << code->text;
  EXPECT_EQ(code->expires, kNow + 15 * 60);
  const std::string text = file_text();
  std::string bare = code->text;
  std::erase(bare, '-');
  EXPECT_EQ(text.find(bare), std::string::npos);
  EXPECT_EQ(text.find(code->text.substr(0, 4)), std::string::npos);
  struct stat st{};
  ASSERT_EQ(::stat(invites_path(authfile_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(has_invite(authfile_, "alice", kNow));
  EXPECT_FALSE(has_invite(authfile_, "bob", kNow));
}

TEST_F(Invites, TwoCodesDiffer) {
  auto a = create_invite(authfile_, "alice", 15, kNow);
  auto b = create_invite(authfile_, "bob", 15, kNow);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->text, b->text);
}

TEST_F(Invites, RedeemsOnceOnly) {
  auto code = create_invite(authfile_, "alice", 15, kNow);
  ASSERT_TRUE(code.ok());
  auto first = redeem_invite(authfile_, "alice", code->text, kNow + 60);
  EXPECT_TRUE(first.ok()) << first.error();
  auto again = redeem_invite(authfile_, "alice", code->text, kNow + 61);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), "invalid enrolment code");
  EXPECT_FALSE(has_invite(authfile_, "alice", kNow + 61));
}

TEST_F(Invites, CaseSpacesAndDashesDoNotMatter) {
  auto code = create_invite(authfile_, "alice", 15, kNow);
  ASSERT_TRUE(code.ok());
  std::string typed;
  for (char c : code->text)
    if (c != '-') typed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  typed.insert(6, " ");
  EXPECT_TRUE(redeem_invite(authfile_, "alice", typed, kNow).ok());
}

TEST_F(Invites, AWrongCodeKeepsTheInvite) {
  auto code = create_invite(authfile_, "alice", 15, kNow);
  ASSERT_TRUE(code.ok());
  std::string wrong = code->text;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  for (std::string_view guess : {std::string_view(wrong), std::string_view("short"), std::string_view("")}) {
    auto r = redeem_invite(authfile_, "alice", guess, kNow);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "invalid enrolment code");
  }
  // Another user's code is not this user's (the hash is salted with the name).
  EXPECT_FALSE(redeem_invite(authfile_, "bob", code->text, kNow).ok());
  EXPECT_TRUE(redeem_invite(authfile_, "alice", code->text, kNow).ok());
}

TEST_F(Invites, AnExpiredInviteIsRefusedAndRemoved) {
  auto code = create_invite(authfile_, "alice", 15, kNow);
  ASSERT_TRUE(code.ok());
  EXPECT_TRUE(has_invite(authfile_, "alice", kNow + 15 * 60 - 1));
  auto late = redeem_invite(authfile_, "alice", code->text, kNow + 15 * 60);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error(), "enrolment code expired");
  EXPECT_EQ(file_text().find("alice"), std::string::npos);
  EXPECT_EQ(redeem_invite(authfile_, "alice", code->text, kNow).error(), "invalid enrolment code");
}

TEST_F(Invites, ANewInviteReplacesTheOld) {
  auto old_code = create_invite(authfile_, "alice", 15, kNow);
  ASSERT_TRUE(old_code.ok());
  auto new_code = create_invite(authfile_, "alice", 60, kNow + 10);
  ASSERT_TRUE(new_code.ok());
  EXPECT_FALSE(redeem_invite(authfile_, "alice", old_code->text, kNow + 20).ok());
  EXPECT_TRUE(redeem_invite(authfile_, "alice", new_code->text, kNow + 20).ok());
}

TEST_F(Invites, RefusesBadMinutesAndNames) {
  EXPECT_FALSE(create_invite(authfile_, "alice", 0, kNow).ok());
  EXPECT_FALSE(create_invite(authfile_, "alice", kInviteMaxMinutes + 1, kNow).ok());
  EXPECT_TRUE(create_invite(authfile_, "alice", kInviteMaxMinutes, kNow).ok());
  EXPECT_FALSE(create_invite(authfile_, "al:ice", 15, kNow).ok());
}

TEST_F(Invites, AnInvitesFileOthersMayWriteIsRefused) {
  auto code = create_invite(authfile_, "alice", 15, kNow);
  ASSERT_TRUE(code.ok());
  ::chmod(invites_path(authfile_).c_str(), 0622);
  EXPECT_FALSE(redeem_invite(authfile_, "alice", code->text, kNow).ok());
  EXPECT_FALSE(has_invite(authfile_, "alice", kNow));
}

}  // namespace
