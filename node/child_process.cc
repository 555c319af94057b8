#include "node/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX leaves it undeclared

namespace mpshare::node {
namespace {

constexpr auto kReapPoll = std::chrono::milliseconds(5);

bool isExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// Closes a file descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  SpawnSetup() {
    ::posix_spawnattr_init(&attributes);
    ::posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    ::posix_spawnattr_destroy(&attributes);
    ::posix_spawn_file_actions_destroy(&actions);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawnattr_t attributes{};
  posix_spawn_file_actions_t actions{};
};

}  // namespace

core::Result<std::string> findExecutable(const std::string& binary,
                                         const std::string& search_path) {
  if (binary.empty()) {
    return core::invalidArgument("binary", "is empty");
  }
  if (binary.find('/') != std::string::npos) {
    if (!isExecutable(binary)) {
      return core::Error{core::ErrorCode::kNotFound, binary,
                         std::string("is not an executable file: ") + std::strerror(errno)};
    }
    // Relative paths are resolved now: the daemons outlive any later chdir.
    if (binary.front() != '/') {
      char cwd[4096];
      if (::getcwd(cwd, sizeof cwd) != nullptr) return std::string(cwd) + "/" + binary;
    }
    return binary;
  }
  std::istringstream dirs(search_path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + binary;
    if (isExecutable(candidate)) {
      return candidate.front() == '/' ? candidate : findExecutable(candidate, "");
    }
  }
  return core::Error{core::ErrorCode::kNotFound, binary, "not found on PATH (" + search_path + ")"};
}

std::vector<std::string> environmentWith(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto equals = text.find('=');
    if (equals != std::string::npos)
      variables.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  for (const auto& [name, value] : overrides) variables[name] = value;
  std::vector<std::string> env;
  env.reserve(variables.size());
  for (const auto& [name, value] : variables) env.push_back(name + "=" + value);
  return env;
}

core::Result<pid_t> spawnProcess(const SpawnOptions& options) {
  SpawnSetup setup;
  // Own process group; signals back to their defaults and unblocked, whatever
  // this process does with them (the agent may block SIGTERM for a waiting thread).
  sigset_t all;
  sigset_t none;
  ::sigfillset(&all);
  ::sigemptyset(&none);
  ::posix_spawnattr_setpgroup(&setup.attributes, 0);
  ::posix_spawnattr_setsigdefault(&setup.attributes, &all);
  ::posix_spawnattr_setsigmask(&setup.attributes, &none);
  ::posix_spawnattr_setflags(
      &setup.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  // Input goes through a socket, not a pipe: send() with MSG_NOSIGNAL cannot
  // raise SIGPIPE in the agent when the child exits without reading.
  Fd ours;
  Fd theirs;
  if (options.input) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      return core::Error{core::ErrorCode::kUnavailable, options.path,
                         std::string("cannot create a socket for stdin: ") + std::strerror(errno)};
    }
    ours.reset(pair[0]);
    theirs.reset(pair[1]);
    ::posix_spawn_file_actions_adddup2(&setup.actions, theirs.get(), STDIN_FILENO);
  } else {
    ::posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (options.quiet) {
    ::posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    ::posix_spawn_file_actions_adddup2(&setup.actions, STDOUT_FILENO, STDERR_FILENO);
  }
  // A daemon outlives many of the agent's sockets (the metrics listener, gRPC,
  // the API server): it must hold none of them, or a restarted agent could not
  // listen again and a dead kubelet connection would stay open.
  ::posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(options.path.c_str()));  // NOLINT: posix_spawn's C signature
  for (const auto& arg : options.args) argv.push_back(const_cast<char*>(arg.c_str()));  // NOLINT
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& entry : options.env) envp.push_back(const_cast<char*>(entry.c_str()));  // NOLINT
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, options.path.c_str(), &setup.actions, &setup.attributes,
                                  argv.data(), envp.data());
  if (error != 0) {
    return core::Error{core::ErrorCode::kUnavailable, options.path,
                       std::string("cannot start: ") + std::strerror(error)};
  }
  if (options.input) {
    theirs.reset();
    std::string_view rest = *options.input;
    while (!rest.empty()) {
      const ssize_t sent = ::send(ours.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) break;  // the child is gone or not reading: its exit status tells
      rest.remove_prefix(static_cast<size_t>(sent));
    }
  }
  return pid;
}

std::optional<int> reapIfEnded(pid_t pid) {
  int status = 0;
  pid_t result = 0;
  do {
    result = ::waitpid(pid, &status, WNOHANG);
  } while (result < 0 && errno == EINTR);
  if (result == 0) return std::nullopt;
  return result == pid ? status : -1;
}

std::optional<int> waitOrKill(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto status = reapIfEnded(pid)) return status;
    std::this_thread::sleep_for(kReapPoll);
  }
  if (auto status = reapIfEnded(pid)) return status;
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);  // in case it left its group
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return std::nullopt;
}

std::string describeExit(int wait_status) {
  if (wait_status < 0) return "ended (status unknown)";
  if (WIFEXITED(wait_status))
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int signal = WTERMSIG(wait_status);
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) +
           (name ? std::string(" (") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(wait_status);
}

}  // namespace mpshare::node
