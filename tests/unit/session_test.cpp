// SPDX-License-Identifier: BSD-3-Clause
// Sign-in session cookies (session.hpp): issue, verify, every way a value is refused.
#include "zsso/session.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"
#include "zsso/base64url.hpp"

namespace zsso {
namespace {

using zsso::testing::TempDir;
using zsso::testing::write_file;

constexpr std::string_view kKeyA = "0123456789abcdef0123456789abcdef-key-A";
constexpr std::string_view kKeyB = "fedcba9876543210fedcba9876543210-key-B";
constexpr std::int64_t kT0 = 1'800'000'000;

SessionConfig limits(std::int64_t max = 3600, std::int64_t idle = 600) {
  SessionConfig c;
  c.max_seconds = max;
  c.idle_seconds = idle;
  c.key_file = "/unused";
  return c;
}

SessionKeys keys(std::string_view cur, std::string_view prev = {}) {
  Secret c(cur), p(prev);
  auto k = SessionKeys::from_secrets(c, prev.empty() ? nullptr : &p);
  EXPECT_TRUE(k.ok()) << k.error();
  return std::move(*k);
}

std::string issue(SessionKeys& k, std::string user = "alice", std::string profile = "", std::int64_t iat = kT0,
                  std::int64_t last = kT0) {
  Session s;
  s.user = std::move(user);
  s.profile = std::move(profile);
  s.issued_at = iat;
  s.last_used = last;
  auto v = k.issue(s);
  EXPECT_TRUE(v.ok()) << v.error();
  return *v;
}

TEST(Session, IssuedValueVerifiesAndCarriesItsFields) {
  auto k = keys(kKeyA);
  std::string v = issue(k, "alice", "", kT0, kT0 + 5);
  auto r = k.verify(v, "", kT0 + 10, limits());
  ASSERT_EQ(r.check, SessionCheck::ok) << to_string(r.check);
  EXPECT_EQ(r.session.user, "alice");
  EXPECT_EQ(r.session.issued_at, kT0);
  EXPECT_EQ(r.session.last_used, kT0 + 5);
  EXPECT_EQ(r.session.key_id, k.current_id());
}

TEST(Session, ValueIsCookieSafeAndHoldsNoKey) {
  auto k = keys(kKeyA);
  std::string v = issue(k, "o'brien; x=\"y\"", "team");
  for (char c : v)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') << v;
  EXPECT_EQ(v.find(kKeyA.substr(0, 16)), std::string::npos);
  EXPECT_TRUE(k.verify(v, "team", kT0, limits()).ok());
}

TEST(Session, EveryChangedCharacterIsRefused) {
  auto k = keys(kKeyA);
  std::string v = issue(k);
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::string t = v;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(k.verify(t, "", kT0, limits()).ok()) << "position " << i;
  }
}

TEST(Session, TruncatedAndExtendedValuesAreRefused) {
  auto k = keys(kKeyA);
  std::string v = issue(k);
  for (std::size_t n = 0; n < v.size(); ++n) EXPECT_FALSE(k.verify(v.substr(0, n), "", kT0, limits()).ok()) << n;
  EXPECT_FALSE(k.verify(v + "A", "", kT0, limits()).ok());
  EXPECT_FALSE(k.verify(v + ".x", "", kT0, limits()).ok());
  EXPECT_FALSE(k.verify(std::string(5000, 'a'), "", kT0, limits()).ok());
}

TEST(Session, ChangedUserWithValidShapeFailsTheMac) {
  auto k = keys(kKeyA);
  std::string v = issue(k, "alice");
  auto pos = v.find(base64url_encode("alice"));
  ASSERT_NE(pos, std::string::npos);
  v.replace(pos, base64url_encode("alice").size(), base64url_encode("root"));
  EXPECT_EQ(k.verify(v, "", kT0, limits()).check, SessionCheck::forged);
}

TEST(Session, OtherKeyIsUnknownOrForged) {
  auto a = keys(kKeyA), b = keys(kKeyB);
  std::string v = issue(a);
  EXPECT_EQ(b.verify(v, "", kT0, limits()).check, SessionCheck::unknown_key);
  // The key id says which key; a value claiming B's id with A's MAC is forged.
  std::string claimed = v;
  claimed.replace(2, 8, b.current_id());
  EXPECT_EQ(b.verify(claimed, "", kT0, limits()).check, SessionCheck::forged);
}

TEST(Session, PreviousKeyStillVerifiesDuringRotation) {
  auto old = keys(kKeyA);
  std::string v = issue(old);
  auto rotated = keys(kKeyB, kKeyA);
  EXPECT_TRUE(rotated.verify(v, "", kT0, limits()).ok());
  // New values use the new key; without the previous key the old value is gone.
  EXPECT_EQ(issue(rotated).substr(2, 8), rotated.current_id());
  EXPECT_EQ(keys(kKeyB).verify(v, "", kT0, limits()).check, SessionCheck::unknown_key);
}

TEST(Session, BoundToItsProfile) {
  auto k = keys(kKeyA);
  EXPECT_EQ(k.verify(issue(k, "alice", ""), "team", kT0, limits()).check, SessionCheck::wrong_profile);
  EXPECT_EQ(k.verify(issue(k, "alice", "team"), "", kT0, limits()).check, SessionCheck::wrong_profile);
  EXPECT_EQ(k.verify(issue(k, "alice", "team"), "users", kT0, limits()).check, SessionCheck::wrong_profile);
  EXPECT_TRUE(k.verify(issue(k, "alice", "team"), "team", kT0, limits()).ok());
}

TEST(Session, AbsoluteLifetime) {
  auto k = keys(kKeyA);
  // Used a moment ago, but issued max_seconds ago: over.
  std::string v = issue(k, "alice", "", kT0, kT0 + 3590);
  EXPECT_TRUE(k.verify(v, "", kT0 + 3599, limits(3600, 600)).ok());
  EXPECT_EQ(k.verify(v, "", kT0 + 3600, limits(3600, 600)).check, SessionCheck::expired);
}

TEST(Session, IdleLifetimeAndNoIdleLimit) {
  auto k = keys(kKeyA);
  std::string v = issue(k);
  EXPECT_TRUE(k.verify(v, "", kT0 + 599, limits(3600, 600)).ok());
  EXPECT_EQ(k.verify(v, "", kT0 + 600, limits(3600, 600)).check, SessionCheck::idle);
  EXPECT_TRUE(k.verify(v, "", kT0 + 3000, limits(3600, 0)).ok());
}

TEST(Session, MaxSecondsZeroAcceptsNothing) {
  auto k = keys(kKeyA);
  EXPECT_EQ(k.verify(issue(k), "", kT0, limits(0, 0)).check, SessionCheck::expired);
}

TEST(Session, FromTheFutureIsRefused) {
  auto k = keys(kKeyA);
  std::string v = issue(k, "alice", "", kT0 + 61, kT0 + 61);
  EXPECT_EQ(k.verify(v, "", kT0, limits()).check, SessionCheck::future);
  EXPECT_TRUE(k.verify(issue(k, "alice", "", kT0 + 30, kT0 + 30), "", kT0, limits()).ok());
}

TEST(Session, IssueRefusesWhatVerifyWouldNot) {
  auto k = keys(kKeyA);
  Session s;
  s.user = "";
  EXPECT_FALSE(k.issue(s).ok());
  s.user = "bad\nname";
  EXPECT_FALSE(k.issue(s).ok());
  s.user = "alice";
  s.profile = "no spaces";
  EXPECT_FALSE(k.issue(s).ok());
  s.profile = "";
  s.issued_at = 10;
  s.last_used = 5;
  EXPECT_FALSE(k.issue(s).ok());
}

TEST(Session, ParseUnverifiedReadsTheFieldsOnly) {
  auto k = keys(kKeyA);
  auto s = parse_session_unverified(issue(k, "bob", "team", kT0, kT0 + 7));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "bob");
  EXPECT_EQ(s->profile, "team");
  EXPECT_EQ(s->last_used - s->issued_at, 7);
  EXPECT_FALSE(parse_session_unverified("1.00000000.1.1..YWxpY2U.x"));
  EXPECT_FALSE(parse_session_unverified(""));
  EXPECT_FALSE(parse_session_unverified("3" + issue(k).substr(1)));
  EXPECT_FALSE(parse_session_unverified("1.00000000.01.1..YWxpY2U." + std::string(43, 'A')));
}

// Issue 22, point 6: a session is bound to the password its sign-in proved.
SessionCredential password(std::string hash) {
  SessionCredential c;
  c.kind = SessionCredential::Kind::password;
  c.password_hash = std::move(hash);
  return c;
}

constexpr std::string_view kHash = "$y$j9T$F5Jx5fExrKuJdh.Ga2Bzq.$Ekc0PlJnmtA2zBl0sNiLNPHGOUtn2n5hUGIDGMrOCn3";
constexpr std::string_view kNewHash = "$y$j9T$Q5c2wHPdKb8zqBnPd8YBm/$wUDNxFZq9xO8tWn8o0yG7Cq3Y3pQzWsG4k9vLpyR0bA";

std::string issue_bound(SessionKeys& k, const SessionCredential& cred, std::string user = "alice") {
  Session s;
  s.user = std::move(user);
  s.issued_at = kT0;
  s.last_used = kT0;
  auto v = k.issue(s, cred);
  EXPECT_TRUE(v.ok()) << v.error();
  return *v;
}

TEST(SessionBinding, AChangedPasswordEndsTheSession) {
  auto k = keys(kKeyA);
  std::string v = issue_bound(k, password(std::string(kHash)));
  EXPECT_TRUE(k.verify(v, "", kT0, limits(), password(std::string(kHash))).ok());
  // chpasswd, even to the same password: a new salt, a new hash.
  EXPECT_EQ(k.verify(v, "", kT0, limits(), password(std::string(kNewHash))).check, SessionCheck::credential_changed);
  // Locked (usermod -L puts "!" in front), or no longer readable: not the same credential.
  EXPECT_EQ(k.verify(v, "", kT0, limits(), password("!" + std::string(kHash))).check, SessionCheck::credential_changed);
  EXPECT_EQ(k.verify(v, "", kT0, limits(), {}).check, SessionCheck::credential_changed);
}

TEST(SessionBinding, AnAccountWithoutAReadableHashIsBoundToNothing) {
  auto k = keys(kKeyA);
  std::string v = issue_bound(k, {});
  EXPECT_EQ(v.substr(v.rfind('.') - 2, 2), ".n");
  EXPECT_TRUE(k.verify(v, "", kT0, limits(), {}).ok());
  // The account got a local password since: the session made without it ends.
  EXPECT_EQ(k.verify(v, "", kT0, limits(), password(std::string(kHash))).check, SessionCheck::credential_changed);
}

TEST(SessionBinding, TheCookieCarriesAKeyedDigestNotTheHash) {
  auto a = keys(kKeyA), b = keys(kKeyB);
  std::string va = issue_bound(a, password(std::string(kHash)));
  std::string vb = issue_bound(b, password(std::string(kHash)));
  EXPECT_EQ(va.find("j9T"), std::string::npos);
  auto bound = [](const std::string& v) {
    auto parts = parse_session_unverified(v);
    return parts ? parts->bound : std::string();
  };
  ASSERT_EQ(bound(va).size(), 1 + 22u);   // "p" + 16 bytes in base64url
  EXPECT_EQ(bound(va)[0], 'p');
  EXPECT_NE(bound(va), bound(vb));        // keyed: another key, another digest
  // Tied to the user too: the same hash under another name binds differently.
  EXPECT_NE(bound(va), bound(issue_bound(a, password(std::string(kHash)), "bob")));
}

TEST(SessionBinding, APreviousKeysSessionStaysBoundAndRefreshesUnderTheNewKey) {
  auto old = keys(kKeyA);
  std::string v = issue_bound(old, password(std::string(kHash)));
  auto rotated = keys(kKeyB, kKeyA);
  auto r = rotated.verify(v, "", kT0, limits(), password(std::string(kHash)));
  ASSERT_TRUE(r.ok()) << to_string(r.check);
  EXPECT_EQ(rotated.verify(v, "", kT0, limits(), password(std::string(kNewHash))).check,
            SessionCheck::credential_changed);
  auto refreshed = rotated.issue(r.session, password(std::string(kHash)));
  ASSERT_TRUE(refreshed.ok());
  EXPECT_TRUE(keys(kKeyB).verify(*refreshed, "", kT0, limits(), password(std::string(kHash))).ok());
}

TEST(SessionBinding, AnUnknownBindingKindIsMalformed) {
  auto k = keys(kKeyA);
  std::string v = issue_bound(k, {});
  std::string other = v;
  other.replace(v.rfind('.') - 1, 1, "q");
  EXPECT_EQ(k.verify(other, "", kT0, limits()).check, SessionCheck::malformed);
  other.replace(v.rfind('.') - 1, 1, "k");  // a key binding without its digest
  EXPECT_EQ(k.verify(other, "", kT0, limits()).check, SessionCheck::malformed);
}

// Issue 23: a session a security-key sign-in made is bound to the password
// and to that key; removing the key (or changing the password) ends it.
TEST(SessionBinding, AKeySessionHoldsWhileItsKeyIsAmongTheAccountsKeys) {
  auto k = keys(kKeyA);
  SessionCredential made = password(std::string(kHash));
  made.key = std::string(64, '\x01');
  std::string v = issue_bound(k, made);
  auto bound = parse_session_unverified(v)->bound;
  ASSERT_EQ(bound.size(), 1 + 22u);
  EXPECT_EQ(bound[0], 'k');

  SessionCredential now = password(std::string(kHash));
  now.keys = {std::string(64, '\x02'), std::string(64, '\x01')};
  auto r = k.verify(v, "", kT0, limits(), now);
  ASSERT_TRUE(r.ok()) << to_string(r.check);
  EXPECT_EQ(r.key, std::string(64, '\x01'));
  // Refreshed with the key the verdict names: the same binding.
  SessionCredential again = password(std::string(kHash));
  again.key = r.key;
  auto refreshed = k.issue(r.session, again);
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(parse_session_unverified(*refreshed)->bound, bound);

  now.keys = {std::string(64, '\x02')};  // the key was removed; another remains
  EXPECT_EQ(k.verify(v, "", kT0, limits(), now).check, SessionCheck::credential_changed);
  now.keys.clear();
  EXPECT_EQ(k.verify(v, "", kT0, limits(), now).check, SessionCheck::credential_changed);
  // The key is there, the password changed: ended too.
  SessionCredential changed = password(std::string(kNewHash));
  changed.keys = {made.key};
  EXPECT_EQ(k.verify(v, "", kT0, limits(), changed).check, SessionCheck::credential_changed);
  SessionCredential no_hash;
  no_hash.keys = {made.key};
  EXPECT_EQ(k.verify(v, "", kT0, limits(), no_hash).check, SessionCheck::credential_changed);
}

TEST(SessionBinding, AKeySessionOfAnAccountWithoutAReadableHashIsBoundToTheKeyAlone) {
  auto k = keys(kKeyA);
  SessionCredential made;
  made.key = std::string(32, 'e');
  std::string v = issue_bound(k, made);
  SessionCredential now;
  now.keys = {made.key};
  EXPECT_TRUE(k.verify(v, "", kT0, limits(), now).ok());
  now.keys = {std::string(32, 'f')};
  EXPECT_EQ(k.verify(v, "", kT0, limits(), now).check, SessionCheck::credential_changed);
  // Not the same digest as a password-bound session of the same user: kinds cannot be swapped.
  EXPECT_NE(parse_session_unverified(v)->bound.substr(1),
            parse_session_unverified(issue_bound(k, password(std::string(kHash))))->bound.substr(1));
}

TEST(SessionBinding, APasswordSessionIsNotBoundToAnyKey) {
  auto k = keys(kKeyA);
  std::string v = issue_bound(k, password(std::string(kHash)));
  SessionCredential now = password(std::string(kHash));
  now.keys = {std::string(64, '\x01')};
  EXPECT_TRUE(k.verify(v, "", kT0, limits(), now).ok());
  EXPECT_TRUE(k.verify(v, "", kT0, limits(), password(std::string(kHash))).ok());
}

TEST(SessionFormat, VersionOneValuesAreRefusedCleanlyAsOld) {
  // A value as the previous release made it: seven parts, no binding.
  auto k = keys(kKeyA);
  const std::string v1 = "1." + k.current_id() + "." + std::to_string(kT0) + "." + std::to_string(kT0) +
                         ".." + base64url_encode("alice") + "." + std::string(43, 'A');
  EXPECT_FALSE(parse_session_unverified(v1));
  EXPECT_EQ(k.verify(v1, "", kT0, limits()).check, SessionCheck::old_format);
  EXPECT_FALSE(k.verify(v1, "", kT0, limits()).ok());
  EXPECT_STREQ(to_string(SessionCheck::old_format), "made by an older version (sign in again)");
  EXPECT_EQ(issue(k).substr(0, 2), "2.");
}

TEST(Session, CookieNamesCarryTheHostPrefixAndProfile) {
  EXPECT_EQ(session_cookie_name(""), "__Host-zsso_session");
  EXPECT_EQ(session_cookie_name("team"), "__Host-zsso_session_team");
}

TEST(Session, ShortKeysAreRefused) {
  Secret short_key("too short");
  auto k = SessionKeys::from_secrets(short_key, nullptr);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().find("shorter than 32"), std::string::npos) << k.error();
}

TEST(SessionKeyFiles, LoadsCurrentAndPreviousWithSecretRules) {
  TempDir dir;
  SessionConfig c = limits();
  c.key_file = write_file(dir.file("cur"), std::string(kKeyB) + "\n", 0600);
  c.previous_key_file = write_file(dir.file("prev"), kKeyA, 0640);
  auto old = keys(kKeyA);
  std::string v = issue(old);
  auto k = SessionKeys::load(c);
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_TRUE(k->verify(v, "", kT0, c).ok());
  // Removing the previous key file ends the grace period.
  ::unlink(c.previous_key_file.c_str());
  k = SessionKeys::load(c);
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(k->verify(v, "", kT0, c).check, SessionCheck::unknown_key);
}

TEST(SessionKeyFiles, WorldReadableKeyIsRefused) {
  TempDir dir;
  SessionConfig c = limits();
  c.key_file = write_file(dir.file("cur"), kKeyA, 0644);
  EXPECT_FALSE(SessionKeys::load(c).ok());
  c.key_file = write_file(dir.file("cur2"), kKeyA, 0600);
  c.previous_key_file = write_file(dir.file("prev"), kKeyB, 0666);
  EXPECT_FALSE(SessionKeys::load(c).ok());
}

TEST(SessionKeyFiles, NewKeyTextIsLongEnoughAndRandom) {
  auto a = new_session_key_text(), b = new_session_key_text();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 43u);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(SessionKeys::from_secrets(Secret(*a), nullptr).ok());
}

}  // namespace
}  // namespace zsso
