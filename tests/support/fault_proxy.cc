#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>

namespace mpshare::testsupport {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// Closing with a zero linger sends RST: the peer sees "connection reset", as
// when a load balancer or the API server's process goes away mid-exchange.
void reset(int fd) {
  linger option{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  close(fd);
}

bool sendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

FaultProxy::FaultProxy(uint16_t upstream_port, uint64_t seed)
    : upstream_port_(upstream_port), random_(seed), stall_random_(seed ^ 0x57a11ULL) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address = loopback(0);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listen_fd_, 256) != 0) {
    close(listen_fd_);
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1");
  }
  socklen_t length = sizeof address;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  acceptor_.join();
  close(listen_fd_);
  for (auto& connection : connections_) connection.join();
}

void FaultProxy::setRates(const FaultRates& rates) {
  std::lock_guard<std::mutex> lock(mutex_);
  rates_ = rates;
}

FaultCounts FaultProxy::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

void FaultProxy::acceptLoop() {
  while (!stopping_) {
    pollfd listening{listen_fd_, POLLIN, 0};
    if (poll(&listening, 1, 50) <= 0) continue;
    const int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    const int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = loopback(upstream_port_);
    if (connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(upstream);
      reset(client);
      continue;
    }
    const int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Fate fate;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++counts_.connections;
      std::uniform_real_distribution<double> chance(0.0, 1.0);
      std::uniform_int_distribution<size_t> offset(0, rates_.max_cut_bytes);
      // Every draw happens whatever the rates, so one seed's sequence of
      // fates does not shift when a rate is zero.
      const double cut = chance(random_);
      const size_t at = offset(random_);
      fate.seed = random_();
      if (cut < rates_.cut_request) {
        fate.cut_request_at = at;
      } else if (cut < rates_.cut_request + rates_.cut_reply) {
        fate.cut_reply_at = at;
      }
      const double stall = chance(stall_random_);
      const size_t stall_at = offset(stall_random_);
      std::uniform_int_distribution<int64_t> stall_for(
          rates_.stall_min.count(), std::max(rates_.stall_min, rates_.stall_max).count());
      const auto stall_ms = std::chrono::milliseconds(stall_for(stall_random_));
      if (stall < rates_.stall) {
        fate.stall_reply_at = stall_at;
        fate.stall_for = stall_ms;
      }
      fate.delay = rates_.delay;
      fate.max_delay = rates_.max_delay;
      connections_.emplace_back([this, client, upstream, fate] { pump(client, upstream, fate); });
    }
  }
}

void FaultProxy::pump(int client, int upstream, Fate fate) {
  std::mt19937_64 random(fate.seed);
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  std::uniform_int_distribution<int64_t> pause(0, fate.max_delay.count());
  const int from[2] = {client, upstream};
  const int to[2] = {upstream, client};
  const size_t cut_at[2] = {fate.cut_request_at, fate.cut_reply_at};
  size_t forwarded[2] = {0, 0};
  bool reading[2] = {true, true};
  bool cut = false;
  bool broken = false;
  char buffer[16384];
  while (!stopping_ && !cut && !broken && (reading[0] || reading[1])) {
    pollfd fds[2] = {{client, static_cast<short>(reading[0] ? POLLIN : 0), 0},
                     {upstream, static_cast<short>(reading[1] ? POLLIN : 0), 0}};
    if (poll(fds, 2, 50) <= 0) continue;
    for (int d = 0; d < 2 && !cut && !broken; ++d) {
      if (!reading[d] || (fds[d].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = recv(from[d], buffer, sizeof buffer, 0);
      if (got <= 0) {
        reading[d] = false;
        shutdown(to[d], SHUT_WR);  // pass the end of stream on
        continue;
      }
      size_t forward = static_cast<size_t>(got);
      if (cut_at[d] != SIZE_MAX && forwarded[d] + forward >= cut_at[d]) {
        forward = cut_at[d] - forwarded[d];
        cut = true;
      }
      if (fate.delay > 0 && chance(random) < fate.delay) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          ++counts_.delays;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(pause(random)));
      }
      // A stall point inside this piece: forward up to it, hold the rest.
      size_t before_stall = forward;
      const bool stall_here =
          d == 1 && fate.stall_reply_at != SIZE_MAX && forwarded[1] + forward > fate.stall_reply_at;
      if (stall_here) before_stall = fate.stall_reply_at - forwarded[1];
      if (!sendAll(to[d], buffer, before_stall)) broken = true;
      if (stall_here && !broken) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          ++counts_.stalls;
        }
        fate.stall_reply_at = SIZE_MAX;  // once per connection
        const auto until = std::chrono::steady_clock::now() + fate.stall_for;
        while (!stopping_ && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (!sendAll(to[d], buffer + before_stall, forward - before_stall)) broken = true;
      }
      forwarded[d] += forward;
      if (cut) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++(d == 0 ? counts_.requests_cut : counts_.replies_cut);
      }
    }
  }
  if (cut || broken) {
    reset(client);
    reset(upstream);
  } else {
    close(client);
    close(upstream);
  }
}

}  // namespace mpshare::testsupport
