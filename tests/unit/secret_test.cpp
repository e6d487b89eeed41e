// SPDX-License-Identifier: BSD-3-Clause
// load_secret_file and the trusted-file reader under it (files.hpp).
#include "zsso/secret.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "test_support.hpp"
#include "zsso/files.hpp"

namespace zsso {
namespace {

using zsso::testing::TempDir;
using zsso::testing::write_file;

constexpr std::string_view kZendeskLikeSecret = "k3Jd9QwErTy7UiOp2AsDfGhJ4KlZxCv6BnM8QaWsEdRfTgYh";   // 48 alnum

std::string load_error(const std::string& path) {
  auto r = load_secret_file(path);
  EXPECT_FALSE(r.ok()) << path << " was accepted";
  return r.ok() ? "" : r.error();
}

TEST(SecretFile, AcceptsMode0600AndKeepsBytesAsIs) {
  TempDir dir;
  auto r = load_secret_file(write_file(dir.file("secret"), kZendeskLikeSecret, 0600));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->view(), kZendeskLikeSecret);
  EXPECT_EQ(r->size(), 48u);
}

TEST(SecretFile, AcceptsMode0640And0400) {
  TempDir dir;
  for (mode_t mode : {0640, 0400, 0440}) {
    auto r = load_secret_file(write_file(dir.file("secret"), "s3cret", mode));
    ASSERT_TRUE(r.ok()) << std::oct << mode << " " << r.error();
    EXPECT_EQ(r->view(), "s3cret");
  }
}

TEST(SecretFile, IsNotBase64Decoded) {
  TempDir dir;
  auto r = load_secret_file(write_file(dir.file("secret"), "c2VjcmV0\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->view(), "c2VjcmV0");
}

TEST(SecretFile, TrimsOneTrailingLf) {
  TempDir dir;
  auto r = load_secret_file(write_file(dir.file("secret"), "abc123\n"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->view(), "abc123");
}

TEST(SecretFile, TrimsOneTrailingCrLf) {
  TempDir dir;
  auto r = load_secret_file(write_file(dir.file("secret"), "abc123\r\n"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->view(), "abc123");
}

TEST(SecretFile, TrimsExactlyOneNewlineNotTwo) {
  TempDir dir;
  std::string e = load_error(write_file(dir.file("secret"), "abc123\n\n"));
  EXPECT_NE(e.find("control character or more than one line"), std::string::npos) << e;
  load_error(write_file(dir.file("secret"), "abc123\r\n\r\n"));
  load_error(write_file(dir.file("secret"), "abc\n123"));
}

TEST(SecretFile, LoneTrailingCrIsNotANewline) {
  TempDir dir;
  std::string e = load_error(write_file(dir.file("secret"), "abc123\r"));
  EXPECT_NE(e.find("control character"), std::string::npos) << e;
}

TEST(SecretFile, KeepsSurroundingSpaces) {
  // The key is the bytes as-is: spaces are not ours to remove.
  TempDir dir;
  auto r = load_secret_file(write_file(dir.file("secret"), " abc \n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->view(), " abc ");
}

TEST(SecretFile, RefusesControlCharactersWithoutEchoingTheSecret) {
  TempDir dir;
  std::string e = load_error(write_file(dir.file("secret"), std::string("topsecret\x01value", 15)));
  EXPECT_EQ(e.find("topsecret"), std::string::npos) << "the secret leaked into: " << e;
  load_error(write_file(dir.file("secret"), std::string("abc\0def", 7)));
  load_error(write_file(dir.file("secret"), "abc\tdef"));
  load_error(write_file(dir.file("secret"), "abc\x7f"));
}

TEST(SecretFile, RefusesEmpty) {
  TempDir dir;
  for (const char* content : {"", "\n", "\r\n"}) {
    std::string e = load_error(write_file(dir.file("secret"), content));
    EXPECT_NE(e.find("empty"), std::string::npos) << e;
  }
}

TEST(SecretFile, RefusesGroupOrWorldWritable) {
  TempDir dir;
  for (mode_t mode : {0620, 0660, 0602, 0622, 0666}) {
    std::string e = load_error(write_file(dir.file("secret"), "s3cret", mode));
    EXPECT_NE(e.find("writable"), std::string::npos) << std::oct << mode << ": " << e;
  }
}

TEST(SecretFile, RefusesWorldReadable) {
  TempDir dir;
  for (mode_t mode : {0604, 0644, 0444}) {
    std::string e = load_error(write_file(dir.file("secret"), "s3cret", mode));
    EXPECT_NE(e.find("world-readable"), std::string::npos) << std::oct << mode << ": " << e;
  }
}

TEST(SecretFile, RefusesSymlinkEvenToAGoodFile) {
  TempDir dir;
  std::string real = write_file(dir.file("real"), "s3cret", 0600);
  std::string link = dir.file("secret");
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  std::string e = load_error(link);
  EXPECT_NE(e.find("symbolic link"), std::string::npos) << e;
}

TEST(SecretFile, RefusesFifoWithoutBlocking) {
  TempDir dir;
  std::string fifo = dir.file("secret");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string e = load_error(fifo);
  EXPECT_NE(e.find("not a regular file"), std::string::npos) << e;
}

TEST(SecretFile, RefusesDirectoryAndDevice) {
  TempDir dir;
  std::string sub = dir.file("secret");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  EXPECT_NE(load_error(sub).find("not a regular file"), std::string::npos);
  EXPECT_NE(load_error("/dev/null").find("not a regular file"), std::string::npos);
}

TEST(SecretFile, RefusesMoreThan4KiB) {
  TempDir dir;
  auto ok = load_secret_file(write_file(dir.file("secret"), std::string(4096, 'a')));
  EXPECT_TRUE(ok.ok()) << ok.error();
  std::string e = load_error(write_file(dir.file("secret"), std::string(4097, 'a')));
  EXPECT_NE(e.find("larger than 4096 bytes"), std::string::npos) << e;
  load_error(write_file(dir.file("secret"), std::string(1 << 20, 'a')));
}

TEST(SecretFile, RefusesFileOwnedBySomeoneElse) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  TempDir dir;
  std::string path = write_file(dir.file("secret"), "s3cret", 0600);
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  std::string e = load_error(path);
  // The one wording of the rule (issue 25.6): who owns it, who reads it.
  EXPECT_NE(e.find("uid 65534), read here by root (uid 0); it must be owned by root or by the user that reads it"),
            std::string::npos)
      << e;
}

TEST(SecretFile, AcceptsForeignGroupWithMode0640) {
  // Owner root, group of the broker user: the documented 0640 deployment.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chgrp";
  TempDir dir;
  std::string path = write_file(dir.file("secret"), "s3cret", 0640);
  ASSERT_EQ(::chown(path.c_str(), 0, 65534), 0);
  auto r = load_secret_file(path);
  EXPECT_TRUE(r.ok()) << r.error();
}

TEST(SecretFile, MissingFileErrorNamesThePath) {
  TempDir dir;
  std::string e = load_error(dir.file("absent"));
  EXPECT_EQ(e.rfind(dir.file("absent") + ": ", 0), 0u) << e;
}

TEST(SecretFile, ErrorsNameThePath) {
  TempDir dir;
  std::string path = write_file(dir.file("secret"), "s3cret", 0666);
  EXPECT_EQ(load_error(path).rfind(path + ": ", 0), 0u);
}

TEST(TrustedFile, AllowsWorldReadableWhenTheRulesSaySo) {
  TempDir dir;
  std::string path = write_file(dir.file("config.json"), "{}", 0644);
  auto r = read_trusted_file(path, TrustedFileRules{});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "{}");
  TrustedFileRules strict;
  strict.allow_world_readable = false;
  EXPECT_FALSE(read_trusted_file(path, strict).ok());
}

TEST(TrustedPath, RootOnlyRefusesTheRunningUsersOwnFile) {
  // Issue 22.11: code under /usr (zendesk-sso-direct.so) must be root's; by
  // default the running user's own file passes too. As root, a child plays
  // the web server's user (nobody, 65534) for the running user.
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0711), 0);
  const std::string path = write_file(dir.file("module.so"), "code", 0644);
  const bool as_root = ::geteuid() == 0;
  if (as_root) {
    EXPECT_TRUE(check_trusted_path(path, TrustedOwner::root).ok()) << "root's own passes";
    ASSERT_EQ(::chown(path.c_str(), 65534, static_cast<gid_t>(-1)), 0);
  }
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (as_root && ::seteuid(65534) != 0) ::_exit(10);
    const bool by_default = check_trusted_path(path).ok();
    auto root_only = check_trusted_path(path, TrustedOwner::root);
    const bool refused = !root_only.ok() && root_only.error().find(": owned by ") != std::string::npos &&
                         root_only.error().ends_with("; it must be owned by root");
    ::_exit((by_default ? 0 : 1) | (refused ? 0 : 2));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status) & 1, 0) << "by default the running user's own file passes";
  EXPECT_EQ(WEXITSTATUS(status) & 2, 0) << "root only: the running user's own file is refused, saying why";
  EXPECT_NE(WEXITSTATUS(status), 10) << "seteuid(65534) failed";
}

TEST(TrustedFile, HonoursMaxSize) {
  TempDir dir;
  std::string path = write_file(dir.file("f"), std::string(100, 'x'), 0644);
  TrustedFileRules rules;
  rules.max_size = 100;
  EXPECT_TRUE(read_trusted_file(path, rules).ok());
  rules.max_size = 99;
  auto r = read_trusted_file(path, rules);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("larger than 99 bytes"), std::string::npos) << r.error();
}

TEST(TrustedFile, SecretVariantReturnsTheSameBytes) {
  TempDir dir;
  std::string path = write_file(dir.file("f"), "abc\n", 0600);
  auto r = read_trusted_secret_file(path, TrustedFileRules{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::string(r->begin(), r->end()), "abc\n");
}

TEST(SecureWipe, ZeroesTheBuffer) {
  unsigned char buf[32];
  for (auto& b : buf) b = 0xAB;
  secure_wipe(buf, sizeof buf);
  for (auto b : buf) EXPECT_EQ(b, 0);
  secure_wipe(nullptr, 10);   // tolerated
}

TEST(Secret, ViewMatchesConstructorBytes) {
  Secret s(std::string_view("a\0b", 3));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.view(), std::string_view("a\0b", 3));
  EXPECT_TRUE(Secret().empty());
}

TEST(ConstantTimeEqual, ComparesEveryByte) {
  const std::string a = "0123456789abcdef0123456789abcdef0123456789a";
  EXPECT_TRUE(constant_time_equal(a.data(), a.data(), a.size()));
  for (std::size_t i : {std::size_t{0}, a.size() / 2, a.size() - 1}) {
    std::string b = a;
    b[i] = static_cast<char>(b[i] ^ 0x01);   // one bit, first, middle or last byte
    EXPECT_FALSE(constant_time_equal(a.data(), b.data(), a.size())) << "difference at byte " << i;
  }
  EXPECT_TRUE(constant_time_equal("x", "y", 0)) << "nothing to compare is equal";
  EXPECT_FALSE(constant_time_equal("\x80", "\x00", 1)) << "the high bit counts";
}

}  // namespace
}  // namespace zsso
