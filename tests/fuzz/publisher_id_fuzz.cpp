// Fuzz target for publisher IDs (core/ids.h).
//
// 1. The input as text: when decode_publisher_id accepts it, encoding the key
//    must give the input back, trimmed of ' ', '\t', '\n', '\r' and lower-cased.
// 2. The input as key bytes: encode(key) is 56 characters and decodes to the
//    same key, also in upper case and with white space around it; one wrong
//    character, or two different neighbouring characters swapped, is always
//    rejected (the CRC-16 guarantee ids.h documents).
#include "core/ids.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";

[[noreturn]] void violated(const char* what, std::string_view text) {
  std::fprintf(stderr, "publisher_id_fuzz: %s: \"%.*s\"\n", what, static_cast<int>(text.size()), text.data());
  std::fflush(stderr);
  __builtin_trap();
}

void check(bool ok, const char* what, std::string_view text) {
  if (!ok) violated(what, text);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string trimmed_lower(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
  return s;
}

// Property 1: whatever decodes, re-encodes to its canonical spelling.
void check_text(std::string_view text) {
  const auto key = tz::decode_publisher_id(text);
  if (!key) {
    const auto e = key.error();
    check(e == tz::errc::bad_publisher_id || e == tz::errc::unknown_id_version, "unexpected error", text);
    return;
  }
  check(tz::encode_publisher_id(key.value()) == trimmed_lower(text), "round trip differs from the input", text);
}

// Property 2: a key made of the input's bytes round-trips, and small typos in
// its ID are caught. `data` holds at least 32 bytes.
void check_key(const std::uint8_t* data, std::size_t size) {
  tz::PublicKey key;
  std::copy_n(data, tz::kPublicKeySize, key.bytes.begin());
  const std::string id = tz::encode_publisher_id(key);
  check(id.size() == tz::kPublisherIdLength, "encoded ID has the wrong length", id);
  check(id.find_first_not_of(kAlphabet) == std::string::npos, "encoded ID leaves the alphabet", id);

  const auto back = tz::decode_publisher_id(id);
  check(back.has_value() && back.value() == key, "encoded ID does not decode to its key", id);
  const auto back_upper = tz::decode_publisher_id(upper(id));
  check(back_upper.has_value() && back_upper.value() == key, "upper-case ID does not decode", id);
  const auto back_spaced = tz::decode_publisher_id(" \t" + id + "\r\n");
  check(back_spaced.has_value() && back_spaced.value() == key, "ID with white space does not decode", id);

  // The extra bytes choose the typo: position, replacement, swap position.
  const std::size_t extra = size - tz::kPublicKeySize;
  const std::uint8_t* more = data + tz::kPublicKeySize;
  if (extra >= 2) {
    std::string typo = id;
    const std::size_t pos = more[0] % typo.size();
    const char was = typo[pos];
    const char now = kAlphabet[more[1] % kAlphabet.size()];
    if (now != was) {
      typo[pos] = now;
      check(!tz::decode_publisher_id(typo).has_value(), "a one-character typo was accepted", typo);
    }
  }
  if (extra >= 3) {
    std::string swapped = id;
    const std::size_t pos = more[2] % (swapped.size() - 1);
    if (swapped[pos] != swapped[pos + 1]) {
      std::swap(swapped[pos], swapped[pos + 1]);
      check(!tz::decode_publisher_id(swapped).has_value(), "two swapped characters were accepted", swapped);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_text(text);
  if (size >= tz::kPublicKeySize) check_key(data, size);
  return 0;
}
