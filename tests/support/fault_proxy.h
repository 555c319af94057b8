#pragma once

// A seeded, fault-injecting TCP proxy for tests: put it between a client and
// a server (TLS passes through untouched) and it resets connections part-way
// through what either side sends, and delays what it forwards. Cutting the
// server's bytes at a random point loses a reply after the server acted on
// the request (the case a retry must survive); cutting the client's bytes
// loses the request, or half of it, before the server acted.
//
// Each accepted connection draws its fate from one generator seeded at
// construction, in the order connections arrive: the same seed gives the
// same sequence of fates. Which request meets which fate still depends on
// thread timing, so a test checks properties that hold for every schedule.
//
// A connection can also stall: the server's bytes stop for a while part-way
// through, the connection kept open. Longer than the client's idle timeout,
// a watch must be given up and resumed; on a list, it only makes the list slow.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <random>
#include <thread>

namespace mpshare::testsupport {

struct FaultRates {
  // Probability that a new connection is reset once the client has sent a
  // random number of bytes (0..max_cut_bytes).
  double cut_request = 0;
  // The same for the bytes the server sends back.
  double cut_reply = 0;
  // Probability that a chunk is forwarded only after a pause of up to max_delay.
  double delay = 0;
  size_t max_cut_bytes = 8192;
  std::chrono::milliseconds max_delay{20};
  // Probability that the server's bytes stop for stall_min..stall_max once a
  // random number of them (0..max_cut_bytes) went through. Drawn from a
  // generator of its own, so the fates above are the same with or without it.
  double stall = 0;
  std::chrono::milliseconds stall_min{0};
  std::chrono::milliseconds stall_max{0};
};

struct FaultCounts {
  int connections = 0;
  int requests_cut = 0;
  int replies_cut = 0;
  int delays = 0;
  int stalls = 0;
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:upstream_port.
  FaultProxy(uint16_t upstream_port, uint64_t seed);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  // Applies to connections accepted from now on; all-zero rates pass through.
  void setRates(const FaultRates& rates);
  [[nodiscard]] FaultCounts counts() const;

 private:
  struct Fate {
    size_t cut_request_at = SIZE_MAX;
    size_t cut_reply_at = SIZE_MAX;
    double delay = 0;
    std::chrono::milliseconds max_delay{0};
    uint64_t seed = 0;
    size_t stall_reply_at = SIZE_MAX;
    std::chrono::milliseconds stall_for{0};
  };
  void acceptLoop();
  void pump(int client, int upstream, Fate fate);

  const uint16_t upstream_port_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::mt19937_64 random_;
  std::mt19937_64 stall_random_;
  FaultRates rates_;
  FaultCounts counts_;
  std::list<std::thread> connections_;
  std::thread acceptor_;
};

}  // namespace mpshare::testsupport
