#include "core/secret.h"

#include <sodium.h>

#include <cstring>
#include <new>

namespace tz {

Secret::Secret(std::size_t size) : m_size(size) {
  if (sodium_init() < 0) throw std::bad_alloc();
  // sodium_malloc(0) is allowed but returns a usable pointer; keep size 0 valid.
  m_data = static_cast<unsigned char*>(sodium_malloc(size == 0 ? 1 : size));
  if (m_data == nullptr) throw std::bad_alloc();
  std::memset(m_data, 0, size == 0 ? 1 : size);
}

Secret::~Secret() { release(); }

void Secret::release() noexcept {
  // sodium_free wipes the whole allocation before unmapping it.
  if (m_data != nullptr) sodium_free(m_data);
  m_data = nullptr;
  m_size = 0;
}

}  // namespace tz
