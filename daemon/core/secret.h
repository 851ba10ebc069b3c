// Memory for secrets: secret keys, seeds, passphrases and keys derived from
// them. Backed by libsodium's guarded allocation (locked, not swapped, wiped on
// release). Not copyable; movable. Never log or print the contents.
// Any thread may own one; it is not shared.
#pragma once

#include <cstddef>
#include <span>
#include <utility>

namespace tz {

class Secret {
 public:
  Secret() = default;
  // Allocates `size` bytes, zero-filled. Throws std::bad_alloc when libsodium
  // cannot allocate (a programmer or machine failure, not bad input).
  explicit Secret(std::size_t size);
  ~Secret();
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& o) noexcept : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  Secret& operator=(Secret&& o) noexcept {
    if (this != &o) {
      release();
      m_data = std::exchange(o.m_data, nullptr);
      m_size = std::exchange(o.m_size, 0);
    }
    return *this;
  }

  [[nodiscard]] unsigned char* data() noexcept { return m_data; }
  [[nodiscard]] const unsigned char* data() const noexcept { return m_data; }
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }
  [[nodiscard]] bool empty() const noexcept { return m_size == 0; }
  [[nodiscard]] std::span<const unsigned char> bytes() const noexcept { return {m_data, m_size}; }
  // Shrinks the visible size (e.g. after reading a shorter passphrase); the
  // whole allocation is still wiped on release.
  void truncate(std::size_t n) noexcept {
    if (n < m_size) m_size = n;
  }

 private:
  void release() noexcept;
  unsigned char* m_data = nullptr;
  std::size_t m_size = 0;
};

}  // namespace tz
