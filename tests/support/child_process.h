#pragma once

// The project's binaries as child processes of a test: start one with its
// output in a log file, read the port it logged, stop it. A test that starts
// servers ends them whatever happens: a ChildProcess stops its process when it
// goes out of scope, also when an assertion ends the test early.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpshare::testing_support {

// What of the child's output goes to the log; what does not stays on the
// test's own stream, so it shows in the test's output.
enum class Logged { kStdoutAndStderr, kStdoutOnly, kStderrOnly };

class ChildProcess {
 public:
  // Runs args[0] (a path, not looked up in PATH) with args[1...]. Throws
  // std::runtime_error when it cannot fork; a program that cannot be run
  // exits 127.
  ChildProcess(const std::vector<std::string>& args, const std::string& log,
               Logged logged = Logged::kStdoutAndStderr);
  // SIGTERM, then SIGKILL if it has not exited within stop_timeout.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  void signal(int signal_number) const;
  // The wait status (WIFEXITED, WEXITSTATUS...) once it has exited, or nullopt
  // if it is still running after `timeout`.
  std::optional<int> waitForExit(std::chrono::milliseconds timeout);

  static constexpr std::chrono::milliseconds kStopTimeout{2000};

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Runs args to the end with stdout and stderr in `log`: the exit code, or -1
// when a signal ended it.
int runToExit(const std::vector<std::string>& args, const std::string& log);

struct ShellRun {
  int exit_code = -1;  // -1 when a signal ended it
  std::string out;
  std::string err;
};

// Runs `command` with /bin/sh (words, quotes and redirections as a shell reads
// them) to the end, and keeps what it wrote to stdout and to stderr apart.
ShellRun runShell(const std::string& command);

// The port of the first "serving listen=HOST:PORT" line in `log`, the line
// a server started on port 0 writes once it listens; 0 when none appeared
// within `timeout`.
uint16_t waitForServingPort(const std::string& log, std::chrono::milliseconds timeout);

// A port on 127.0.0.1 that was free a moment ago, for a server whose port a
// test must know before it starts (another process is configured with it).
// Where the server logs its port, listen on port 0 and waitForServingPort.
int freeLoopbackPort();

}  // namespace mpshare::testing_support
