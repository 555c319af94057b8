#include "platform/stop_signals.h"

#include <pthread.h>

namespace mpshare::platform {

StopSignals::StopSignals() {
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

int StopSignals::wait() const {
  int signal_number = 0;
  sigwait(&set_, &signal_number);
  return signal_number;
}

}  // namespace mpshare::platform
