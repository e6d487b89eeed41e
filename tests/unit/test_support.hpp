// SPDX-License-Identifier: BSD-3-Clause
// Small helpers shared by the unit suites: a private temp folder per test and
// file writing with an exact mode.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace zsso::testing {

// mkdtemp folder, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "zsso-unit-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes content and sets the mode exactly (chmod, so the umask does not interfere).
inline std::string write_file(const std::string& path, std::string_view content, mode_t mode = 0600) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("open " + path);
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) { ::close(fd); throw std::runtime_error("write " + path); }
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (::chmod(path.c_str(), mode) != 0) throw std::runtime_error("chmod " + path);
  return path;
}

}  // namespace zsso::testing
