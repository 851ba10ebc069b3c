#include "control/client.h"

#include "control/framing.h"
#include "core/files.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace tz::control {
namespace {

boost::system::error_code sys(int e) {
  if (e == EAGAIN || e == EWOULDBLOCK) return make_error_code(boost::system::errc::timed_out);
  return {e, boost::system::generic_category()};
}

}  // namespace

Result<tamizdat::v1::Response> call(const std::filesystem::path& socket_path, const tamizdat::v1::Request& request,
                                    std::chrono::seconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = socket_path.string();
  if (p.size() >= sizeof(addr.sun_path)) return make_error_code(boost::system::errc::filename_too_long);
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return sys(errno);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Before each blocking call: the time left, so `timeout` bounds the whole
  // exchange rather than each read.
  const auto limit_wait = [&]() -> bool {
    const auto left = std::chrono::ceil<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    timeval tv{static_cast<time_t>(left.count() / 1000000), static_cast<suseconds_t>(left.count() % 1000000)};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return true;
  };
  if (!limit_wait()) return make_error_code(boost::system::errc::timed_out);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return sys(errno);

  const std::string body = request.SerializeAsString();
  const auto out = frame({reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
  for (std::size_t sent = 0; sent < out.size();) {
    if (!limit_wait()) return make_error_code(boost::system::errc::timed_out);
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys(errno);
    sent += static_cast<std::size_t>(n);
  }
  FrameReader reader(kMaxResponseBytes);
  std::vector<std::uint8_t> buf(64 * 1024);
  for (;;) {
    if (auto msg = reader.next()) {
      tamizdat::v1::Response resp;
      if (!resp.ParseFromArray(msg->data(), static_cast<int>(msg->size()))) {
        return make_error_code(boost::system::errc::protocol_error);
      }
      return resp;
    }
    if (!limit_wait()) return make_error_code(boost::system::errc::timed_out);
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys(errno);
    if (n == 0) return make_error_code(boost::system::errc::protocol_error);
    BOOST_OUTCOME_TRY(reader.feed({buf.data(), static_cast<std::size_t>(n)}));
  }
}

}  // namespace tz::control
