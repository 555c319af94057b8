#pragma once

// Process set-up every server's main() needs, in one place. Construct it before
// any thread starts: SIGINT and SIGTERM are then blocked in every thread and
// taken only by wait(), so shutdown runs on the main thread, in order. SIGPIPE
// is ignored: a peer that hangs up (a scheduler, an API server, a load test)
// must fail that one write with EPIPE, never end the process.

#include <signal.h>

namespace mpshare::platform {

class StopSignals {
 public:
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Blocks until SIGINT or SIGTERM arrives; returns its number.
  [[nodiscard]] int wait() const;

 private:
  sigset_t set_{};
};

}  // namespace mpshare::platform
