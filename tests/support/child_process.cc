#include "tests/support/child_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>
#include <thread>

namespace mpshare::testing_support {
namespace {

constexpr std::chrono::milliseconds kPoll{20};

// Forks; the child sends what `logged` names to `log` and execs args. The
// parent gets the pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& log, Logged logged) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed for " + args.at(0));
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) ::_exit(126);
    if (logged != Logged::kStderrOnly) ::dup2(fd, STDOUT_FILENO);
    if (logged != Logged::kStdoutOnly) ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int runToExitStatus(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = spawn(args, log, Logged::kStdoutAndStderr);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& args, const std::string& log,
                           Logged logged)
    : pid_(spawn(args, log, logged)) {}

ChildProcess::~ChildProcess() {
  if (status_) return;
  signal(SIGTERM);
  if (waitForExit(kStopTimeout)) return;
  signal(SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

void ChildProcess::signal(int signal_number) const {
  if (!status_) ::kill(pid_, signal_number);
}

std::optional<int> ChildProcess::waitForExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (!status_) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = status;
    } else if (std::chrono::steady_clock::now() >= deadline) {
      break;
    } else {
      std::this_thread::sleep_for(kPoll);
    }
  }
  return status_;
}

int runToExit(const std::vector<std::string>& args, const std::string& log) {
  const int status = runToExitStatus(args, log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

ShellRun runShell(const std::string& command) {
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/mpshare-shell-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + dir);
  const int status = runToExitStatus(
      {"/bin/sh", "-c", "{ " + command + "\n} > " + dir + "/out 2> " + dir + "/err"}, "/dev/null");
  ShellRun run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, readText(dir + "/out"),
               readText(dir + "/err")};
  std::filesystem::remove_all(dir);
  return run;
}

uint16_t waitForServingPort(const std::string& log, std::chrono::milliseconds timeout) {
  static const std::regex serving(R"(serving listen=[^ ]*:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string text = readText(log);
    std::smatch match;
    if (std::regex_search(text, match, serving)) return static_cast<uint16_t>(std::stoi(match[1]));
    if (std::chrono::steady_clock::now() >= deadline) return 0;
    std::this_thread::sleep_for(kPoll);
  }
}

int freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace mpshare::testing_support
