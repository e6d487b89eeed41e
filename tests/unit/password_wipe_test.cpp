// SPDX-License-Identifier: BSD-3-Clause
// Every copy of the password is wiped before its memory goes back to the
// allocator, short passwords (std::string's in-object buffer) included:
// this binary replaces free() and realloc() and scans every block handed
// back for the password. Its own executable, since it replaces the
// allocator's entry points for the whole process (and not built with the
// sanitizers, which replace them too).
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "csrf.hpp"
#include "cgi_test_support.hpp"
#include "routes.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/secret.hpp"
#include "zsso/url.hpp"

extern "C" void __libc_free(void* p);
extern "C" void* __libc_malloc(std::size_t n);

namespace {

// What free() looks for; static storage, so never in a heap block itself.
char g_needle[128];
std::size_t g_needle_len = 0;
std::atomic<int> g_found{0};

void scan(void* p) {
  if (!p || g_needle_len == 0) return;
  if (::memmem(p, ::malloc_usable_size(p), g_needle, g_needle_len)) ++g_found;
}

}  // namespace

extern "C" void free(void* p) noexcept {
  scan(p);
  __libc_free(p);
}

// Always moves, so the old block goes through the scan as well.
extern "C" void* realloc(void* p, std::size_t n) noexcept {
  if (!p) return __libc_malloc(n);
  if (n == 0) {
    free(p);
    return nullptr;
  }
  void* q = __libc_malloc(n);
  if (!q) return nullptr;
  std::memcpy(q, p, std::min(n, ::malloc_usable_size(p)));
  free(p);
  return q;
}

namespace zsso {
namespace {

// Only unreserved characters: the same bytes encoded and decoded.
constexpr std::string_view kShort = "Sh0rtPw9";                                  // in-object (SSO) size
constexpr std::string_view kLong = "L0ngPassw0rdThatNeedsAHeapBufferOfItsOwn42";  // heap buffer

class PasswordScan {
 public:
  explicit PasswordScan(std::string_view pw) {
    std::memcpy(g_needle, pw.data(), pw.size());
    g_needle_len = pw.size();
    g_found = 0;
  }
  ~PasswordScan() { g_needle_len = 0; }
  int found() const { return g_found.load(); }
};

// The form body as the CGI holds it: bytes that are wiped when freed.
SecureBytes form_body(std::string_view password, std::string_view csrf = "x") {
  SecureBytes b;
  for (std::string_view piece : {std::string_view("user=alice&password="), password, std::string_view("&csrf="),
                                 csrf, std::string_view("&return_to=%2Fhc&a=1&b=2&c=3&d=4")})
    b.insert(b.end(), piece.begin(), piece.end());
  return b;
}

std::string_view view(const SecureBytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

TEST(PasswordWipe, TheScanFindsAnUnwipedCopy) {
  // The control: without it a scan that sees nothing would prove nothing.
  for (std::string_view pw : {kShort, kLong}) {
    PasswordScan scan(pw);
    auto* copy = static_cast<char*>(std::malloc(pw.size()));
    std::memcpy(copy, pw.data(), pw.size());
    std::free(copy);
    EXPECT_EQ(scan.found(), 1) << pw;
  }
}

TEST(PasswordWipe, FormDecoderLeavesNoCopyInFreedMemory) {
  for (std::string_view pw : {kShort, kLong}) {
    PasswordScan scan(pw);
    {
      SecureBytes body = form_body(pw);
      auto fields = parse_form(view(body));
      ASSERT_TRUE(fields.has_value());
      ASSERT_NE(form_get(*fields, "password"), nullptr);
      EXPECT_EQ(*form_get(*fields, "password"), pw);
      for (auto& [k, v] : *fields) secure_wipe(v.data(), v.size());   // what the CGI does when done
    }
    EXPECT_EQ(scan.found(), 0) << "a freed block still held the " << pw.size() << "-byte password";
  }
}

TEST(PasswordWipe, BrokenFormLeavesNoCopyInFreedMemory) {
  for (std::string_view pw : {kShort, kLong}) {
    PasswordScan scan(pw);
    {
      SecureBytes body = form_body(pw);
      for (char c : std::string_view("&broken=%zz")) body.push_back(static_cast<unsigned char>(c));
      EXPECT_FALSE(parse_form(view(body)).has_value());
    }
    EXPECT_EQ(scan.found(), 0) << pw.size() << "-byte password";
  }
}

TEST(PasswordWipe, CgiPathToTheBrokerLeavesNoCopyInFreedMemory) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/zsso-wipe-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  const std::string secret = "Zx9TqL2vR8mN4bK7wH3jF6dS1aG5yP0cE2uI8oV4nM7rT1kQ";
  {
    std::ofstream(dir / "secret") << secret << "\n";
    fs::permissions(dir / "secret", fs::perms::owner_read | fs::perms::owner_write);
    std::ofstream(dir / "config.json")
        << R"({"zendesk": {"subdomain": "acme", "secret_file": ")" << (dir / "secret").string()
        << R"("}, "broker": {"socket": ")" << (dir / "authd.sock").string() << R"("}})";
  }
  for (std::string_view pw : {kShort, kLong}) {
    const std::int64_t now = ::time(nullptr);
    auto token = cgi::new_csrf_token();
    ASSERT_TRUE(token);
    const broker::Response bad_login{broker::Status::bad_login, broker::Detail::pam};
    testing::FakeBroker broker((dir / "authd.sock").string(), bad_login);
    ASSERT_TRUE(broker.ok());
    int status = 0;
    {
      PasswordScan scan(pw);
      {
        // The body arrives on a pipe, as on the CGI's stdin.
        int p[2];
        ASSERT_EQ(::pipe(p), 0);
        SecureBytes body = form_body(pw, *token);
        ASSERT_EQ(::write(p[1], body.data(), body.size()), static_cast<ssize_t>(body.size()));
        ::close(p[1]);
        cgi::Request req = testing::login_post(body.size(), *token);
        cgi::Environment env;
        env.config_path = (dir / "config.json").string();
        env.request_id = "wipe";
        env.now = now;
        env.body_fd = p[0];
        cgi::Response r = cgi::handle_request(req, env);
        ::close(p[0]);
        status = r.status;
        EXPECT_NE(r.log_message.find(": broker: bad_login (PAM)"), std::string::npos)
            << r.log_message;
      }
      EXPECT_EQ(scan.found(), 0) << "a freed block still held the " << pw.size() << "-byte password";
    }
    EXPECT_EQ(status, 401) << "the request reached the broker and came back a bad login";
    EXPECT_EQ(broker.wait(), 0) << "the broker read a whole request";
    fs::remove(dir / "authd.sock");
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zsso
