#include "test_util.h"

#include "core/hex.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

namespace tz::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tz-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  m_path = tmpl;
}

TempDir::~TempDir() {
  // TZ_KEEP_TEST_DIRS=1 keeps every test's files (daemon logs, data dirs)
  // for a post-mortem.
  if (std::getenv("TZ_KEEP_TEST_DIRS") != nullptr) {
    std::fprintf(stderr, "kept %s\n", m_path.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

void write_file(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& content) {
  write_file(p, std::string(content.begin(), content.end()));
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

SecretKey fixed_key(std::uint8_t first) {
  std::array<unsigned char, 32> seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<unsigned char>(first + i);
  return SecretKey::from_seed(seed).value();
}

std::vector<std::string> list_tree(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    out.push_back(e.path().lexically_relative(dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, std::string> read_vector(const std::string& name) {
  std::ifstream f(std::string(TZ_VECTORS_DIR) + "/" + name);
  if (!f) throw std::runtime_error("missing vector file " + name);
  std::map<std::string, std::string> v;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    v[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return v;
}

std::vector<std::uint8_t> unhex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  if (!from_hex(hex, out)) throw std::runtime_error("bad hex in vector");
  return out;
}

}  // namespace tz::test
