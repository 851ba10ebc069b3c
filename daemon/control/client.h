// The CLI's side of the control socket: one blocking request and response.
// Call from the CLI's main thread.
#pragma once

#include "core/result.h"
#include "tamizdat/v1/control.pb.h"

#include <chrono>
#include <filesystem>

namespace tz::control {

// Connects to the daemon at `socket_path`, sends `request` and returns the
// response. Fails with the system error when the daemon cannot be reached
// (no such file: not running; connection refused: stale socket), with
// errc::oversized when the response is larger than kMaxResponseBytes, with
// boost::system::errc::protocol_error for a malformed response, and with
// boost::system::errc::timed_out when the whole exchange (connect, send,
// the daemon's work, receive) takes longer than `timeout`. Quick requests
// (status, list, fetch) keep the default; publish, which copies and hashes a
// whole bundle in the daemon, passes up to an hour.
[[nodiscard]] Result<tamizdat::v1::Response> call(const std::filesystem::path& socket_path,
                                                  const tamizdat::v1::Request& request,
                                                  std::chrono::seconds timeout = std::chrono::seconds(30));

}  // namespace tz::control
