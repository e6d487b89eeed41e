#include "http.hpp"

#include "zsso/text.hpp"

namespace zsso::cli {

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* out) {
  auto* r = static_cast<Reply*>(out);
  if (r->body.size() + size * n > r->max_body) return 0;
  r->body.append(p, size * n);
  return size * n;
}

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* out) {
  auto* r = static_cast<Reply*>(out);
  std::string_view line(p, size * n);
  if (line.rfind("HTTP/", 0) == 0) r->headers.clear();   // a new response (after 100 Continue)
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    r->headers.emplace_back(ascii_lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  return size * n;
}

}  // namespace zsso::cli
