// Getting a passphrase into guarded memory: from the controlling terminal with
// echo off (asked twice when making a key), or from the first line of a file.
// Never from an argument or the environment, where other users and logs can
// see it. CLI only.
#pragma once

#include "core/result.h"
#include "core/secret.h"

#include <filesystem>
#include <string>

namespace tz::cli {

inline constexpr std::size_t kMaxPassphraseBytes = 1024;

// Reads the first line of `file` (without its line ending). Fails with
// errc::empty_passphrase when the line is empty, errc::oversized past 1024
// bytes, or the system error.
[[nodiscard]] Result<Secret> read_passphrase_file(const std::filesystem::path& file);

// Asks on /dev/tty with `prompt`; with `confirm`, asks again and fails with
// errc::passphrase_mismatch when the answers differ. Fails with
// errc::no_passphrase when there is no terminal, errc::empty_passphrase when
// the answer is empty.
[[nodiscard]] Result<Secret> ask_passphrase(const std::string& prompt, bool confirm);

}  // namespace tz::cli
