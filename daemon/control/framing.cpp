#include "control/framing.h"

namespace tz::control {
namespace {

std::uint32_t read_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

}  // namespace

std::vector<std::uint8_t> frame(std::span<const std::uint8_t> payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::vector<std::uint8_t> out(kHeaderBytes + payload.size());
  out[0] = static_cast<std::uint8_t>(n >> 24);
  out[1] = static_cast<std::uint8_t>(n >> 16);
  out[2] = static_cast<std::uint8_t>(n >> 8);
  out[3] = static_cast<std::uint8_t>(n);
  std::copy(payload.begin(), payload.end(), out.begin() + kHeaderBytes);
  return out;
}

Result<void> FrameReader::feed(std::span<const std::uint8_t> bytes) {
  if (m_failed) return errc::oversized;
  // Drop consumed bytes first, so the buffer holds only unread messages.
  if (m_start > 0) {
    m_buf.erase(m_buf.begin(), m_buf.begin() + static_cast<std::ptrdiff_t>(m_start));
    m_start = 0;
  }
  m_buf.insert(m_buf.end(), bytes.begin(), bytes.end());
  // Check every header now present. What is buffered is then at most the
  // complete messages not yet taken, plus one frame within the limit, plus
  // the caller's last read.
  std::size_t cursor = 0;
  while (m_buf.size() - cursor >= kHeaderBytes) {
    const std::size_t len = read_be32(m_buf.data() + cursor);
    if (len > m_max) {
      m_failed = true;
      m_buf.clear();
      return errc::oversized;
    }
    if (m_buf.size() - cursor < kHeaderBytes + len) break;
    cursor += kHeaderBytes + len;
  }
  return success();
}

std::optional<std::vector<std::uint8_t>> FrameReader::next() {
  if (m_failed || pending() < kHeaderBytes) return std::nullopt;
  const std::size_t len = read_be32(m_buf.data() + m_start);
  if (pending() < kHeaderBytes + len) return std::nullopt;
  const auto begin = m_buf.begin() + static_cast<std::ptrdiff_t>(m_start + kHeaderBytes);
  std::vector<std::uint8_t> msg(begin, begin + static_cast<std::ptrdiff_t>(len));
  m_start += kHeaderBytes + len;
  return msg;
}

tamizdat::v1::Response error_response(std::string_view error, std::string_view message) {
  tamizdat::v1::Response r;
  r.set_ok(false);
  r.set_error(std::string(error));
  r.set_message(std::string(message));
  return r;
}

}  // namespace tz::control
