// Fuzz target for the control socket: its framing (control/framing.h) and the
// parsing of each frame as a Request, as Server::serve does it
// (control/server.cpp; that loop needs a socket, so it is mirrored here).
//
// The input is the byte stream a client writes to the daemon's socket.
// 1. Framing, against a model of docs/protocol.md §13 written here. The stream
//    is fed to a FrameReader whole, byte by byte and in uneven chunks, taking
//    the messages after every feed (as the server does) or only at the end,
//    with the daemon's limit (kMaxRequestBytes), the CLI's
//    (kMaxResponseBytes) and a small one (the input's last byte, 0..255):
//    - the messages come out in order and are exactly the model's;
//    - a header announcing more than the limit is refused (errc::oversized)
//      by the very feed that completes its 4 bytes, never earlier and never
//      later (so no byte of its body is waited for); afterwards feed keeps
//      failing, next() gives nothing and nothing is held;
//    - each message framed again (frame()) is exactly its bytes in the stream;
//    - after the messages are taken, what is held is the rest of the stream
//      after the last complete frame, less than kHeaderBytes + the limit.
// 2. Each complete frame (daemon's limit) is parsed as a Request as the server
//    does: parsing never throws; a request goes to the handler only with a
//    body; a handed-on request serialises (deterministically: map order is
//    not canonical) to bytes that parse back to a request serialising to the
//    same bytes. Each frame is also parsed as a Response, as the CLI's call()
//    does, with the same properties.
// 3. The replies the server writes for this stream when each frame arrives in
//    a read of its own (malformed_request for each frame that is not a
//    request with a body, oversized last when a header is refused; a
//    stand-in ok reply for handed-on requests; frames complete in the read
//    that brings a refused header get no reply at all), framed
//    and read back through a FrameReader with the CLI's limit, parse to the
//    same responses in the same order.
// A violated property traps.
#include "fuzz_util.h"

#include "control/framing.h"
#include "core/proto_util.h"
#include "tamizdat/v1/control.pb.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

const char* const tz::fuzz::kTarget = "control_fuzz";

namespace {

using tz::fuzz::check;
using tz::fuzz::violated;
namespace ctl = tz::control;
using Bytes = std::span<const std::uint8_t>;

std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
}

// The stream split as docs/protocol.md says, independently of framing.cpp.
struct Model {
  struct Message {
    std::size_t offset;  // of the payload in the stream
    std::size_t size;
    std::size_t end() const { return offset + size; }
  };
  std::vector<Message> messages;  // the complete frames before any refused header
  std::optional<std::size_t> refused_at;  // stream offset just past a refused header
  std::size_t complete_end = 0;  // end of the last complete frame
};

Model split(Bytes stream, std::size_t limit) {
  Model m;
  std::size_t pos = 0;
  while (stream.size() - pos >= ctl::kHeaderBytes) {
    const std::size_t len = be32(stream.data() + pos);
    if (len > limit) {
      m.refused_at = pos + ctl::kHeaderBytes;
      break;
    }
    if (stream.size() - pos - ctl::kHeaderBytes < len) break;
    m.messages.push_back({pos + ctl::kHeaderBytes, len});
    pos += ctl::kHeaderBytes + len;
  }
  m.complete_end = pos;
  return m;
}

bool equal_bytes(const std::vector<std::uint8_t>& a, Bytes b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Feeds `stream` in chunks of the sizes in `chunks` (cycled), taking the
// messages after each feed when `take_each`, else after the last one.
void run_reader(Bytes stream, std::size_t limit, std::span<const std::size_t> chunks, bool take_each,
                const Model& model) {
  ctl::FrameReader reader(limit);
  std::size_t fed = 0;    // stream bytes fed so far
  std::size_t taken = 0;  // messages taken so far
  std::size_t ok_end = 0;  // end of the last feed that succeeded
  bool refused = false;

  const auto take_all = [&] {
    while (auto msg = reader.next()) {
      check(taken < model.messages.size(), "framing: a message the model does not have");
      const Model::Message& want = model.messages[taken];
      check(want.end() <= ok_end, "framing: a message before all its bytes were fed");
      check(equal_bytes(*msg, stream.subspan(want.offset, want.size)), "framing: message bytes differ");
      check(equal_bytes(ctl::frame(*msg), stream.subspan(want.offset - ctl::kHeaderBytes,
                                                         want.size + ctl::kHeaderBytes)),
            "framing: frame(message) differs from its bytes in the stream");
      ++taken;
    }
    // Every complete frame fed so far has been taken.
    check(taken == model.messages.size() || model.messages[taken].end() > ok_end,
          "framing: a complete message is held back");
    const std::size_t last_end = taken == 0 ? 0 : model.messages[taken - 1].end();
    check(reader.pending() == ok_end - last_end, "framing: pending() is not the incomplete rest");
    check(reader.pending() < ctl::kHeaderBytes + limit, "framing: holds more than one frame's limit");
  };

  for (std::size_t i = 0; fed < stream.size(); ++i) {
    const std::size_t n = std::min(chunks[i % chunks.size()], stream.size() - fed);
    const auto r = reader.feed(stream.subspan(fed, n));
    fed += n;
    const bool must_refuse = model.refused_at && fed >= *model.refused_at;
    if (!r) {
      check(r.error() == tz::errc::oversized, "framing: feed fails with an undocumented error");
      check(must_refuse, "framing: refused without an oversized header");
      refused = true;
      break;
    }
    check(!must_refuse, "framing: an oversized header was not refused when it arrived");
    ok_end = fed;
    if (take_each) take_all();
  }
  if (refused) {
    check(!reader.next().has_value(), "framing: a message after the refusal");
    check(reader.pending() == 0, "framing: bytes held after the refusal");
    const std::uint8_t zero[ctl::kHeaderBytes] = {};
    const auto again = reader.feed(zero);
    check(!again && again.error() == tz::errc::oversized, "framing: feed works again after a refusal");
    check(!reader.next().has_value() && reader.pending() == 0, "framing: the refused reader holds something");
    return;
  }
  take_all();
  check(taken == model.messages.size(), "framing: messages missing");
  check(reader.pending() == stream.size() - model.complete_end, "framing: wrong rest held at the end");
}

// Parses `msg` into `out` as protobuf does; traps if that throws.
template <typename Message>
bool parse_no_throw(Message& out, Bytes msg) {
  try {
    return out.ParseFromArray(msg.data(), static_cast<int>(msg.size()));
  } catch (...) {
    violated("protobuf parsing threw");
  }
}

// Protobuf's default encoding is not canonical (map entries come out in any
// order), so serialise deterministically to compare.
std::string serialise(const google::protobuf::MessageLite& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    check(m.SerializeToCodedStream(&coded), "a parsed message does not serialise");
  }
  return out;
}

template <typename Message>
void check_reserialises(const Message& m, const char* what) {
  const std::string once = serialise(m);
  Message again;
  check(again.ParseFromString(once), what);
  check(serialise(again) == once, what);
}

tamizdat::v1::Response stand_in_reply(const tamizdat::v1::Request& req) {
  tamizdat::v1::Response r;
  r.set_ok(true);
  r.set_message("handled body " + std::to_string(static_cast<int>(req.body_case())));
  return r;
}

void check_replies(const std::vector<tamizdat::v1::Response>& replies) {
  std::vector<std::uint8_t> wire;
  for (const auto& r : replies) {
    const std::string bytes = r.SerializeAsString();
    const auto f = ctl::frame({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    wire.insert(wire.end(), f.begin(), f.end());
  }
  ctl::FrameReader cli(ctl::kMaxResponseBytes);
  check(cli.feed(wire).has_value(), "replies: the CLI refuses the daemon's frames");
  for (const auto& want : replies) {
    const auto msg = cli.next();
    check(msg.has_value(), "replies: a reply is missing");
    tamizdat::v1::Response got;
    check(parse_no_throw(got, *msg), "replies: the CLI cannot parse a reply");
    check(got.ok() == want.ok() && got.error() == want.error() && got.message() == want.message(),
          "replies: a reply reads back differently");
  }
  check(!cli.next().has_value() && cli.pending() == 0, "replies: bytes left over");
}

// 2 and 3: the server's reading of the stream.
void serve(Bytes stream) {
  const Model model = split(stream, ctl::kMaxRequestBytes);
  std::vector<tamizdat::v1::Response> replies;
  for (const auto& m : model.messages) {
    const Bytes msg = stream.subspan(m.offset, m.size);
    tamizdat::v1::Request req;
    if (!parse_no_throw(req, msg) || req.body_case() == tamizdat::v1::Request::BODY_NOT_SET) {
      replies.push_back(tz::control::error_response("malformed_request", "not a control request"));
    } else {
      check_reserialises(req, "a handed-on request does not serialise back to itself");
      replies.push_back(stand_in_reply(req));
    }
    tamizdat::v1::Response resp;
    if (parse_no_throw(resp, msg)) check_reserialises(resp, "a response does not serialise back to itself");
  }
  if (model.refused_at) replies.push_back(tz::control::error_response("oversized", "request larger than 1 MiB"));
  check_replies(replies);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tz::detail::quiet_protobuf_logs();  // refused UTF-8 would be logged per input
  const Bytes stream(data, size);

  static constexpr std::size_t kWhole[] = {SIZE_MAX};
  static constexpr std::size_t kBytes[] = {1};
  static constexpr std::size_t kUneven[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 35, 8, 97};
  const std::size_t small = size == 0 ? 0 : data[size - 1];
  for (const std::size_t limit : {ctl::kMaxRequestBytes, ctl::kMaxResponseBytes, small}) {
    const Model model = split(stream, limit);
    run_reader(stream, limit, kWhole, true, model);
    run_reader(stream, limit, kBytes, true, model);
    run_reader(stream, limit, kUneven, true, model);
    run_reader(stream, limit, kUneven, false, model);
  }
  serve(stream);
  return 0;
}
