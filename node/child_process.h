#pragma once

// Starting and ending the processes the MPS supervisor owns: the control
// daemons and the short control commands (quit, the health probe). Thin
// wrappers over posix_spawn and waitpid that report errors as Status.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace mpshare::node {

// `binary` as an absolute path: a name is searched in `search_path` (PATH's
// form, "/usr/bin:/bin"), a name with a slash must be executable as given.
// Error: "nvidia-cuda-mps-control: not found on PATH (/usr/bin:/bin)".
core::Result<std::string> findExecutable(const std::string& binary, const std::string& search_path);

// This process's environment with `overrides` set (replacing any variable of
// the same name), as "NAME=value" strings sorted by name.
std::vector<std::string> environmentWith(const std::map<std::string, std::string>& overrides);

struct SpawnOptions {
  std::string path;                  // absolute, from findExecutable()
  std::vector<std::string> args;     // after argv[0]
  std::vector<std::string> env;      // "NAME=value"
  std::optional<std::string> input;  // written to stdin, then EOF; none: /dev/null
  bool quiet = false;                // stdout and stderr to /dev/null instead of ours
};

// Starts the process in a process group of its own (so a signal to -pid
// reaches whatever it starts too), with default signal handling. Returns its pid.
core::Result<pid_t> spawnProcess(const SpawnOptions& options);

// The process's wait status once it has ended (reaped), nullopt while it runs.
// A pid that is not (or no longer) our child reads as ended with status -1.
std::optional<int> reapIfEnded(pid_t pid);

// Waits up to `timeout` for the process to end; then SIGKILLs its group and
// reaps it. Returns the wait status, or nullopt when it had to be killed.
std::optional<int> waitOrKill(pid_t pid, std::chrono::milliseconds timeout);

// A wait status for a person: "exited with status 1", "killed by signal 9 (Killed)".
std::string describeExit(int wait_status);

}  // namespace mpshare::node
