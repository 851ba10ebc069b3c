#include "core/media_type.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace tz {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 40> kTypes = {{
    {"html", "text/html; charset=utf-8"},   {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},     {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"}, {"json", "application/json"},
    {"xml", "application/xml"},             {"pdf", "application/pdf"},
    {"epub", "application/epub+zip"},       {"zip", "application/zip"},
    {"jpg", "image/jpeg"},                  {"jpeg", "image/jpeg"},
    {"png", "image/png"},                   {"gif", "image/gif"},
    {"webp", "image/webp"},                 {"avif", "image/avif"},
    {"svg", "image/svg+xml"},               {"ico", "image/vnd.microsoft.icon"},
    {"heic", "image/heic"},                 {"heif", "image/heif"},
    {"mp4", "video/mp4"},                   {"m4v", "video/mp4"},
    {"webm", "video/webm"},                 {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},             {"ogv", "video/ogg"},
    {"mp3", "audio/mpeg"},                  {"m4a", "audio/mp4"},
    {"ogg", "audio/ogg"},                   {"oga", "audio/ogg"},
    {"opus", "audio/ogg"},                  {"wav", "audio/wav"},
    {"flac", "audio/flac"},                 {"vtt", "text/vtt; charset=utf-8"},
    {"srt", "application/x-subrip"},        {"woff", "font/woff"},
    {"woff2", "font/woff2"},                {"ttf", "font/ttf"},
}};

bool is_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u) != 0) return true;
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return kExtra.find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

}  // namespace

std::string media_type_for(std::string_view file_name) {
  const auto slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string ext(file_name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [e, t] : kTypes) {
    if (e == ext) return std::string(t);
  }
  return "application/octet-stream";
}

bool is_valid_media_type(std::string_view mt) {
  if (mt.empty() || mt.size() > kMaxMediaTypeBytes) return false;
  const auto semi = mt.find(';');
  const std::string_view essence = mt.substr(0, semi);
  const auto slash = essence.find('/');
  if (slash == std::string_view::npos || !is_token(essence.substr(0, slash)) ||
      !is_token(essence.substr(slash + 1))) {
    return false;
  }
  std::string_view rest = semi == std::string_view::npos ? std::string_view{} : mt.substr(semi);
  while (!rest.empty()) {
    // Each parameter: ";" optional spaces, name "=" value.
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const auto next = rest.find(';');
    const std::string_view param = rest.substr(0, next);
    const auto eq = param.find('=');
    if (eq == std::string_view::npos || !is_token(param.substr(0, eq)) || !is_token(param.substr(eq + 1))) {
      return false;
    }
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next);
  }
  return true;
}

}  // namespace tz
