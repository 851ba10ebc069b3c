// Runs one of the well-kept tools source safety relies on (exiftool, ffmpeg,
// ffprobe) as a child process: an argument vector, never a shell; stdin from
// /dev/null; stdout and stderr captured up to a bound; killed after a
// deadline. Blocking; call from the CLI or a worker thread.
#pragma once

#include "core/result.h"

#include <chrono>
#include <string>
#include <vector>

namespace tz::scrub {

struct RunResult {
  int exit_code = -1;       // the tool's exit status; -1 when a signal ended it
  std::string out;          // stdout, at most max_output bytes
  std::string err;          // stderr, at most 64 KiB (the rest is dropped)
  bool output_cut = false;  // stdout passed max_output (the tool was killed)
};

// Runs argv[0] (looked up in PATH) with `argv`. Fails with errc::cannot_inspect
// when the tool is not installed (`diag` says which package brings it),
// errc::scrub_failed after `timeout` (the child and its group are killed), or
// the system error of fork/pipe/exec.
[[nodiscard]] Result<RunResult> run_tool(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                         std::size_t max_output, Diag* diag = nullptr);

// The Debian package that installs `tool` ("exiftool" -> libimage-exiftool-perl).
[[nodiscard]] std::string package_of(const std::string& tool);

}  // namespace tz::scrub
