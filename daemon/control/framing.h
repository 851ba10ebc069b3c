// Framing of the control protocol on the daemon's Unix socket: every message
// is a 4-byte big-endian length followed by that many bytes of protobuf.
// FrameReader splits a byte stream into messages and refuses a declared
// length above its limit as soon as the header arrives, so a client cannot
// make the daemon hold more than one frame's limit plus what it reads at once. Pure; one reader per connection, used
// from one thread. Byte-exact rules: docs/protocol.md ("Control socket").
#pragma once

#include "core/result.h"
#include "tamizdat/v1/control.pb.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace tz::control {

inline constexpr std::size_t kHeaderBytes = 4;
inline constexpr std::size_t kMaxRequestBytes = 1u << 20;    // what the daemon accepts
inline constexpr std::size_t kMaxResponseBytes = 16u << 20;  // what the CLI accepts

// The frame for `payload`: length prefix and bytes. `payload` must be at most
// 2^32-1 bytes (a programmer error otherwise).
[[nodiscard]] std::vector<std::uint8_t> frame(std::span<const std::uint8_t> payload);

class FrameReader {
 public:
  explicit FrameReader(std::size_t max_payload) : m_max(max_payload) {}

  // Appends bytes received from the peer. Fails with errc::oversized as soon
  // as a header declares more than the limit; the reader is then unusable and
  // the connection should be closed.
  [[nodiscard]] Result<void> feed(std::span<const std::uint8_t> bytes);

  // The next complete message, if one has arrived. The returned bytes are a
  // copy; the reader keeps what follows.
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> next();

  // Bytes held that do not yet form a complete message.
  [[nodiscard]] std::size_t pending() const noexcept { return m_buf.size() - m_start; }

 private:
  std::size_t m_max;
  std::vector<std::uint8_t> m_buf;
  std::size_t m_start = 0;
  bool m_failed = false;
};

// Builds an error response (ok false, a stable error name and one sentence).
// Here rather than in server.h so that code without the server (the fuzz
// build, which cannot compile Asio's coroutines with clang) builds the same.
[[nodiscard]] tamizdat::v1::Response error_response(std::string_view error, std::string_view message);

}  // namespace tz::control
