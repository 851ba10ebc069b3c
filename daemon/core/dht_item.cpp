#include "core/dht_item.h"

#include <algorithm>

namespace tz {
namespace {

constexpr std::string_view kPrefix = "d2:ih20:";

void append(std::vector<std::uint8_t>& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

}  // namespace

std::string encode_channel_pointer(const InfoHashV1& head_info_hash) {
  std::string v(kPrefix);
  v.append(head_info_hash.begin(), head_info_hash.end());
  v.push_back('e');
  return v;
}

Result<InfoHashV1> decode_channel_pointer(std::string_view value) {
  if (value.size() > kMaxDhtValueBytes) return errc::oversized;
  if (value.size() != kPrefix.size() + 20 + 1 || !value.starts_with(kPrefix) || value.back() != 'e') {
    return errc::malformed_dht_item;
  }
  InfoHashV1 ih{};
  std::copy_n(value.begin() + static_cast<std::ptrdiff_t>(kPrefix.size()), 20, ih.begin());
  return ih;
}

std::vector<std::uint8_t> bep44_signed_buffer(std::string_view salt, std::int64_t seq, std::string_view value) {
  std::vector<std::uint8_t> out;
  out.reserve(salt.size() + value.size() + 48);
  if (!salt.empty()) {
    append(out, "4:salt");
    append(out, std::to_string(salt.size()));
    append(out, ":");
    append(out, salt);
  }
  append(out, "3:seqi");
  append(out, std::to_string(seq));
  append(out, "e1:v");
  append(out, value);
  return out;
}

Signature sign_channel_pointer(const SecretKey& key, std::string_view value, std::int64_t seq) {
  return key.sign(bep44_signed_buffer(kDhtSalt, seq, value));
}

bool verify_channel_pointer(const PublicKey& publisher, std::string_view value, std::int64_t seq,
                            std::span<const std::uint8_t> signature) {
  if (seq < 0 || !decode_channel_pointer(value)) return false;
  return verify_signature(publisher, bep44_signed_buffer(kDhtSalt, seq, value), signature);
}

}  // namespace tz
