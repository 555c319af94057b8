#pragma once

// mpshare's per-slot spec files in the CDI directory (/var/run/cdi). The
// runtime re-reads the directory when a container is created, possibly while
// a spec is being written, so a file is only ever replaced whole: written to a
// temporary name CDI ignores, flushed, then renamed over the old one.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mpshare::node {

// Writes `text` as the spec of `slot` (core::cdiSpecFileName: slot 3 ->
// "<cdi_dir>/mpshare.io-gpu-slot-003.json"), atomically: through
// "<file>.tmp-<pid>-<random>" in the same directory, then renamed over the
// old one (not fsynced: see the body). A reader sees the old file or the new
// one, never a part. Errors name the path and the system's reason.
core::Status writeSlotSpec(const std::string& cdi_dir, int slot, std::string_view text);

// The slots that have a spec file in `cdi_dir`, ascending. Only names
// core::cdiSpecFileName could produce count: NVIDIA's specs, other vendors'
// files and temporary files of an interrupted write are left alone. A missing
// directory holds no specs.
core::Result<std::vector<int>> slotSpecsIn(const std::string& cdi_dir);

// Deletes the spec file of `slot`; OK when there is none.
core::Status removeSlotSpec(const std::string& cdi_dir, int slot);

}  // namespace mpshare::node
