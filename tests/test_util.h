// Helpers shared by the tests: temporary folders, writing files, and a
// deterministic key. Test-only.
#pragma once

#include "core/keys.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace tz::test {

// A fresh folder under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& rel) const { return m_path / rel; }

 private:
  std::filesystem::path m_path;
};

void write_file(const std::filesystem::path& p, const std::string& content);
void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& content);
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p);
// `n` pseudo-random bytes from `seed` (not cryptographic; for test data).
std::string random_bytes(std::size_t n, std::uint32_t seed);
// The key whose seed is 0x00 0x01 ... 0x1f (or bytes starting at `first`).
SecretKey fixed_key(std::uint8_t first = 0);
// Reads tests/vectors/NAME as key=value lines ('#' starts a comment).
std::map<std::string, std::string> read_vector(const std::string& name);
// Decodes hex or fails the test.
std::vector<std::uint8_t> unhex(const std::string& hex);
// Lists every entry below `dir` (relative paths), for "nothing left behind".
std::vector<std::string> list_tree(const std::filesystem::path& dir);

}  // namespace tz::test
