// SPDX-License-Identifier: BSD-3-Clause
// For driving the CGI's handle_request in-process through its broker
// client: a stand-in broker and a POST /login as the web server hands it over.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "request.hpp"
#include "zsso/broker_protocol.hpp"

namespace zsso::testing {

// POST /login from 127.0.0.1 with a form of body_size bytes (the caller
// hands the body over on a pipe, as on the CGI's stdin) and its CSRF cookie.
inline cgi::Request login_post(std::size_t body_size, const std::string& csrf_token) {
  cgi::Request req;
  req.method = "POST";
  req.script_name = "/zendesk";
  req.path_info = "/login";
  req.content_type = "application/x-www-form-urlencoded";
  req.content_length = body_size;
  req.remote_addr = "127.0.0.1";
  req.cookie = "zsso_csrf=" + csrf_token;
  return req;
}

// A one-connection stand-in for zendesk-sso-authd in a child process (its
// heap is its own): reads one request, gives one answer.
class FakeBroker {
 public:
  FakeBroker(const std::string& path, const broker::Response& answer) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      int c = ::accept(fd_, nullptr, nullptr);
      auto frame = broker::read_frame(c, broker::Clock::now() + std::chrono::seconds(10), broker::kMaxRequestSize);
      std::string encoded = broker::encode_response(answer);
      broker::write_all(c, {reinterpret_cast<const unsigned char*>(encoded.data()), encoded.size()},
                        broker::Clock::now() + std::chrono::seconds(10), nullptr);
      ::_exit(frame.io == broker::Io::ok ? 0 : 3);
    }
  }
  ~FakeBroker() {
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    if (fd_ >= 0) ::close(fd_);
  }
  FakeBroker(const FakeBroker&) = delete;
  FakeBroker& operator=(const FakeBroker&) = delete;

  bool ok() const { return pid_ > 0; }
  // The child's exit status: 0 when it read a whole request.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
  }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
};

}  // namespace zsso::testing
