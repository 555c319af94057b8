#pragma once

// The value of a Result a test cannot go on without, for the places ASSERT_*
// cannot be used: helpers that return a value, and fixture constructors. An
// error throws, which GoogleTest reports as a failure of the test with the
// error's text; dereferencing a failed Result instead would be undefined.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace mpshare::testing_support {

template <typename T>
T requireOk(core::Result<T> result, std::string_view what) {
  if (!result)
    throw std::runtime_error(std::string(what) + " failed: " + result.error().describe());
  return std::move(*result);
}

}  // namespace mpshare::testing_support
