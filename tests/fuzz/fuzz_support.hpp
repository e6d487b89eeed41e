// SPDX-License-Identifier: BSD-3-Clause
// Shared by the fuzz targets: invariant checks that crash loudly, so
// libFuzzer saves the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                               \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "invariant violated at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

inline std::string_view fuzz_input(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}
