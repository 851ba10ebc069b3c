#include "control/framing.h"

#include <gtest/gtest.h>

namespace tz::control {
namespace {

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(Framing, FrameIsBigEndianLengthThenBytes) {
  EXPECT_EQ(frame(bytes("abc")), (std::vector<std::uint8_t>{0, 0, 0, 3, 'a', 'b', 'c'}));
  EXPECT_EQ(frame({}), (std::vector<std::uint8_t>{0, 0, 0, 0}));
}

TEST(Framing, SplitsAStreamFedByteByByte) {
  std::vector<std::uint8_t> stream;
  for (const char* m : {"first", "", "third message"}) {
    const auto f = frame(bytes(m));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameReader r(kMaxRequestBytes);
  std::vector<std::string> got;
  for (std::uint8_t b : stream) {
    ASSERT_TRUE(r.feed({&b, 1}));
    while (auto m = r.next()) got.emplace_back(m->begin(), m->end());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"first", "", "third message"}));
  EXPECT_EQ(r.pending(), 0u);
}

TEST(Framing, SplitsSeveralMessagesInOneRead) {
  std::vector<std::uint8_t> stream;
  for (int i = 0; i < 100; ++i) {
    const auto f = frame(bytes(std::to_string(i)));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameReader r(16);
  ASSERT_TRUE(r.feed(stream));
  for (int i = 0; i < 100; ++i) {
    auto m = r.next();
    ASSERT_TRUE(m);
    EXPECT_EQ(std::string(m->begin(), m->end()), std::to_string(i));
  }
  EXPECT_FALSE(r.next());
}

TEST(Framing, PartialMessageWaits) {
  FrameReader r(kMaxRequestBytes);
  const auto f = frame(bytes("hello"));
  ASSERT_TRUE(r.feed(std::span(f).first(6)));
  EXPECT_FALSE(r.next());
  ASSERT_TRUE(r.feed(std::span(f).subspan(6)));
  EXPECT_EQ(r.next().value(), bytes("hello"));
}

TEST(Framing, OversizedHeaderIsRefusedBeforeItsBody) {
  FrameReader r(1024);
  const std::vector<std::uint8_t> header = {0, 0, 4, 1};  // 1025 bytes declared
  auto res = r.feed(header);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error(), errc::oversized);
  EXPECT_FALSE(r.next());
  EXPECT_FALSE(r.feed(bytes("more")));  // stays failed
  EXPECT_EQ(r.pending(), 0u);
}

TEST(Framing, OversizedSecondFrameInTheSameReadIsRefused) {
  FrameReader r(8);
  auto stream = frame(bytes("ok"));
  stream.insert(stream.end(), 4, std::uint8_t{0xff});
  EXPECT_EQ(r.feed(stream).error(), errc::oversized);
}

TEST(Framing, MaximumSizeIsAccepted) {
  FrameReader r(1000);
  const std::vector<std::uint8_t> payload(1000, 7);
  ASSERT_TRUE(r.feed(frame(payload)));
  EXPECT_EQ(r.next().value(), payload);
}

}  // namespace
}  // namespace tz::control
