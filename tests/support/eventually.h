#pragma once

// Waiting for what other threads or processes do: a test polls until the
// condition holds or the time is up, and asserts on the answer. Timeouts are
// generous, since the machine running the suite may be busy with other work.

#include <chrono>
#include <thread>

namespace mpshare::testing_support {

// True as soon as `predicate` holds; false when it still does not after
// `timeout` (checked once more at the end, so a slow machine gets a last look).
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(poll);
  }
  return predicate();
}

}  // namespace mpshare::testing_support
