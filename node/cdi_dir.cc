#include "node/cdi_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/slots.h"

namespace mpshare::node {
namespace {

std::string joinPath(const std::string& dir, const std::string& name) {
  return !dir.empty() && dir.back() == '/' ? dir + name : dir + "/" + name;
}

core::Error systemError(const std::string& path, const std::string& doing, int error) {
  return core::Error{core::ErrorCode::kUnavailable, path, doing + ": " + std::strerror(error)};
}

// A suffix no other writer picks: the pid separates agents (a restarted one
// may race its predecessor's last write), 64 random bits separate threads of
// one agent. O_EXCL turns the unlikely collision into a retry, not a shared file.
std::string tempSuffix() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char text[40];
  std::snprintf(text, sizeof text, ".tmp-%d-%016llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(random()));  // NOLINT(google-runtime-int)
  return text;
}

core::Status writeAll(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return systemError(path, "cannot write", errno);
    }
    text.remove_prefix(static_cast<size_t>(written));
  }
  return {};
}

}  // namespace

core::Status writeSlotSpec(const std::string& cdi_dir, int slot, std::string_view text) {
  if (slot < 0) {
    return core::invalidArgument("slot", std::to_string(slot) + " is negative; slots count from 0");
  }
  const std::string path = joinPath(cdi_dir, core::cdiSpecFileName(slot));
  std::string temp;
  int fd = -1;
  for (int attempt = 0; attempt < 3 && fd < 0; ++attempt) {
    temp = path + tempSuffix();
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) {
      break;
    }
  }
  if (fd < 0) {
    return systemError(temp, "cannot create", errno);
  }
  auto status = writeAll(fd, text, temp);
  // No fsync, on purpose: PreStartContainer is on the path of every container
  // start, and a spec is derived state the agent rewrites at every start of
  // its container (and removes when its slot is freed), so there is nothing
  // to keep across a power loss. /var/run is a tmpfs anyway. The rename alone
  // is what readers need: they see the old file or the new one, never a part.
  if (::close(fd) != 0 && status) {
    status = systemError(temp, "cannot close", errno);
  }
  if (status && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = systemError(path, "cannot rename " + temp + " to it", errno);
  }
  if (!status) {
    ::unlink(temp.c_str());
    return status;
  }
  return {};
}

core::Result<std::vector<int>> slotSpecsIn(const std::string& cdi_dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::directory_iterator it(cdi_dir, error);
  if (error == std::errc::no_such_file_or_directory) {
    return std::vector<int>{};
  }
  std::vector<int> slots;
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    const int slot = core::slotOfSpecFileName(it->path().filename().string());
    std::error_code type_error;
    if (slot >= 0 && it->is_regular_file(type_error)) {
      slots.push_back(slot);
    }
  }
  if (error) {
    return systemError(cdi_dir, "cannot list", error.value());
  }
  std::sort(slots.begin(), slots.end());
  return slots;
}

core::Status removeSlotSpec(const std::string& cdi_dir, int slot) {
  if (slot < 0) {
    return core::invalidArgument("slot", std::to_string(slot) + " is negative; slots count from 0");
  }
  const std::string path = joinPath(cdi_dir, core::cdiSpecFileName(slot));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return systemError(path, "cannot remove", errno);
  }
  return {};
}

}  // namespace mpshare::node
