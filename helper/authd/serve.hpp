// SPDX-License-Identifier: BSD-3-Clause
// One sign-in attempt: the whole life of a broker child. It answers the
// connection it was given; when the PAM stack asks more than the password,
// it holds the PAM transaction, listens on the conversation's own socket and
// answers each next step there, until the sign-in ends or times out.
#pragma once

#include <chrono>
#include <string>

#include "zsso/secret.hpp"

namespace zsso::authd {

struct ServeOptions {
  std::string config_path;
  // The broker's listening socket; conversation sockets live in "conv/"
  // beside it. Empty: beside the configured broker.socket.
  std::string socket_path;
  // A request must have arrived completely within this time (slow clients
  // cannot hold a process), and the answer must be written within it.
  std::chrono::seconds io_timeout{5};
  // How long PAM may run between two answers from the browser (a stuck
  // module must not keep the process); past it the process ends. The wait
  // for the browser has its own limits, broker.prompt_timeout and
  // broker.sign_in_deadline.
  std::chrono::seconds deadline{20};
  // The listener's control channel (listener.cpp): before a conversation is
  // held, the child asks it for the slot's share. -1: none (socket
  // activation with Accept=yes), every conversation may be held.
  int control_fd = -1;
};

// Serves the connected socket fd and closes it. Returns the exit status for
// the process: 0 when an answer was sent (whatever it said), 1 otherwise.
// request: the frame's body when the listener has read it already.
int serve_connection(int fd, const ServeOptions& opt, SecureBytes* request = nullptr);

// Ends a listener's child with status once it has answered. SIGTERM and
// SIGINT are blocked first: a stop arriving now (the listener's, or
// systemd's to the whole cgroup) has nothing left to end and would only cut
// the exit short: the library destructors (PAM modules, test wrappers) and,
// in the sanitizer build, the leak report half written.
[[noreturn]] void end_child(int status);

}  // namespace zsso::authd
