// The judge and the planner. Patterns are matched by hand rather than with
// std::regex: names are short, but std::regex recurses per character and is
// slow to build, and every rule here is a prefix, a digit run or a few runs
// with separators.
#include "scrub/names.h"

#include "core/manifest.h"
#include "core/media_type.h"
#include "core/paths.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace tz::scrub {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != lower(prefix[i])) return false;
  }
  return true;
}

bool contains_ci(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (starts_with_ci(s.substr(i), needle)) return true;
  }
  return false;
}

std::size_t digits_at(std::string_view s, std::size_t pos) {
  std::size_t n = 0;
  while (pos + n < s.size() && is_digit(s[pos + n])) ++n;
  return n;
}

// The value of the ASCII digits `s`. A run too long for an int reads as a
// number no date or time has (saturated at 10^9), never as an overflow.
int number(std::string_view s) {
  int v = 0;
  for (char c : s) {
    if (v > 99'999'999) return 1'000'000'000;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The name with Persian (U+06F0..U+06F9), Arabic-Indic (U+0660..U+0669) and
// full-width (U+FF10..U+FF19) digits replaced by ASCII ones, so one set of
// rules reads them all.
std::string ascii_digits(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    const auto b1 = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0u;
    const auto b2 = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0u;
    if (b0 == 0xDB && b1 >= 0xB0 && b1 <= 0xB9) {
      out += static_cast<char>('0' + (b1 - 0xB0));
      i += 1;
    } else if (b0 == 0xD9 && b1 >= 0xA0 && b1 <= 0xA9) {
      out += static_cast<char>('0' + (b1 - 0xA0));
      i += 1;
    } else if (b0 == 0xEF && b1 == 0xBC && b2 >= 0x90 && b2 <= 0x99) {
      out += static_cast<char>('0' + (b2 - 0x90));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// ---- extensions ----------------------------------------------------------

constexpr std::array<std::string_view, 50> kImageExts = {
    "jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "avif", "heic", "heif", "hif", "tif", "tiff",
    "bmp", "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "orf", "rw2", "raf", "srw",
    "pef", "x3f", "3fr", "erf", "kdc", "mrw", "raw", "rwl", "iiq", "svg", "svgz", "ico", "jxl", "jp2",
    "j2k", "psd", "xcf", "apng", "insp", "mpo", "jps", "exr", "hdr"};
constexpr std::array<std::string_view, 26> kVideoExts = {
    "mp4", "m4v", "mov", "qt", "avi", "mkv", "webm", "3gp", "3g2", "mts", "m2ts", "mpg", "mpeg",
    "mpe", "wmv", "flv", "f4v", "ogv", "insv", "lrv", "vob", "asf", "mxf", "dv", "m2v", "mk3d"};
constexpr std::array<std::string_view, 26> kAudioExts = {
    "mp3", "m4a", "m4b", "aac", "ogg", "oga", "opus", "wav", "flac", "amr", "awb", "wma", "aif",
    "aiff", "aifc", "caf", "mka", "weba", "3ga", "ac3", "mid", "midi", "ape", "wv", "spx", "m4r"};
// Files a camera or phone writes beside its pictures.
constexpr std::array<std::string_view, 3> kSidecarExts = {"xmp", "thm", "aae"};
// Other extensions a new name keeps (besides media and what media_type_for knows).
constexpr std::array<std::string_view, 25> kOtherKeptExts = {
    "xhtml", "mjs", "webmanifest", "doc", "docx", "odt", "ods", "odp", "xls", "xlsx", "ppt", "pptx",
    "rtf", "tar", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "gpx", "kml", "kmz", "otf"};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string_view last_component(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

// The lower-cased extension of a file name (after the last dot, not a
// leading one), or empty.
std::string extension_of(std::string_view name) {
  name = last_component(name);
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return lowered(name.substr(dot + 1));
}

std::string_view stem_of(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return name;
  return name.substr(0, dot);
}

bool is_kept_extension(const std::string& ext) {
  if (ext.empty() || ext.size() > 11) return false;
  if (!std::all_of(ext.begin(), ext.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); })) {
    return false;
  }
  return in(kImageExts, ext) || in(kVideoExts, ext) || in(kAudioExts, ext) || in(kSidecarExts, ext) ||
         in(kOtherKeptExts, ext) || media_type_for("x." + ext) != "application/octet-stream";
}

// The extension a new name carries: ".ext" when kept, ".tar.gz"-style for a
// compressed tar, nothing otherwise.
std::string new_extension(std::string_view name) {
  const std::string ext = extension_of(name);
  if (!is_kept_extension(ext)) return {};
  const std::string_view stem = stem_of(name);
  if ((ext == "gz" || ext == "bz2" || ext == "xz" || ext == "zst") && extension_of(stem) == "tar") {
    return ".tar." + ext;
  }
  return "." + ext;
}

// ---- camera and app patterns ---------------------------------------------

struct PrefixRule {
  std::string_view prefix;    // ASCII case-insensitive
  std::size_t min_digits;     // digits that must follow the prefix (0: anything may)
  std::string_view label;
};

constexpr std::array<PrefixRule, 44> kFileRules = {{
    {"PXL_", 8, "Google Pixel (PXL_)"},
    {"MVIMG_", 8, "Google motion photo (MVIMG_)"},
    {"IMG_E", 4, "iPhone edited photo (IMG_E)"},
    {"IMG_", 1, "phone or camera (IMG_)"},
    {"IMG-", 8, "WhatsApp (IMG-)"},
    {"VID_", 1, "phone video (VID_)"},
    {"VID-", 8, "WhatsApp (VID-)"},
    {"PTT-", 8, "WhatsApp voice message (PTT-)"},
    {"AUD-", 8, "WhatsApp audio (AUD-)"},
    {"DOC-", 8, "WhatsApp document (DOC-)"},
    {"STK-", 8, "WhatsApp sticker (STK-)"},
    {"WhatsApp ", 0, "WhatsApp"},
    {"signal-", 4, "Signal (signal-)"},
    {"photo_", 4, "Telegram (photo_)"},
    {"video_", 4, "Telegram (video_)"},
    {"file_", 4, "Telegram (file_)"},
    {"FB_IMG_", 1, "Facebook (FB_IMG_)"},
    {"received_", 10, "Facebook Messenger (received_)"},
    {"Messenger_creation_", 0, "Facebook Messenger"},
    {"mmexport", 10, "WeChat (mmexport)"},
    {"wx_camera_", 1, "WeChat camera (wx_camera_)"},
    {"Snapchat-", 1, "Snapchat"},
    {"InShot_", 1, "InShot"},
    {"lv_0_", 1, "CapCut (lv_0_)"},
    {"Screenshot", 0, "screenshot"},
    {"Screen Shot", 0, "macOS screenshot"},
    {"Screen Recording", 0, "macOS screen recording"},
    {"Screenrecorder", 0, "screen recording"},
    {"Screen_Recording", 0, "screen recording"},
    {"New Recording", 0, "iPhone voice memo"},
    {"Voice ", 3, "voice recorder"},
    {"Recording_", 1, "voice recorder"},
    {"DSC_", 4, "Nikon or Sony camera (DSC_)"},
    {"_DSC", 4, "Nikon or Sony camera (_DSC)"},
    {"DSCN", 4, "Nikon camera (DSCN)"},
    {"DSCF", 4, "Fujifilm camera (DSCF)"},
    {"DSC", 4, "Sony camera (DSC)"},
    {"_MG_", 4, "Canon camera (_MG_)"},
    {"MVI_", 4, "Canon camera video (MVI_)"},
    {"MAH", 5, "Sony camera video (MAH)"},
    {"GOPR", 4, "GoPro (GOPR)"},
    {"DJI_", 4, "DJI drone or camera (DJI_)"},
    {"CIMG", 4, "Casio camera (CIMG)"},
    {"IMGP", 4, "Pentax camera (IMGP)"},
}};

constexpr std::array<PrefixRule, 5> kMoreFileRules = {{
    {"IMAG", 4, "HTC phone (IMAG)"},
    {"SAM_", 4, "Samsung camera (SAM_)"},
    {"HPIM", 4, "HP camera (HPIM)"},
    {"PICT", 4, "camera (PICT)"},
    {"100_", 4, "Kodak camera (100_)"},
}};

// Words that name an app wherever they stand in a name.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kAppWords = {{
    {"whatsapp", "WhatsApp"},
    {"telegram", "Telegram"},
    {"viber", "Viber"},
    {"snapchat", "Snapchat"},
    {"-WA0", "WhatsApp (-WA)"},
}};

// Folders cameras, phones and messengers create.
constexpr std::array<std::string_view, 6> kCameraFolders = {"dcim", "camera", "screenshots",
                                                            "screen recordings", "100andro", "camera roll"};

bool prefix_rule_matches(std::string_view stem, const PrefixRule& r) {
  if (!starts_with_ci(stem, r.prefix)) return false;
  if (r.min_digits == 0) return true;
  return digits_at(stem, r.prefix.size()) >= r.min_digits;
}

void add(std::vector<NameFlag>& out, NameReason r, std::string detail) {
  NameFlag f{r, std::move(detail)};
  if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(std::move(f));
}

void judge_camera(std::string_view name, std::string_view stem, EntryKind kind, MediaKind media,
                  std::vector<NameFlag>& out) {
  if (kind == EntryKind::folder) {
    const std::string low = lowered(name);
    if (in(kCameraFolders, low)) add(out, NameReason::camera, "camera folder (" + std::string(name) + ")");
    // DCF folder: three digits, then five upper-case letters, digits or '_'.
    if (name.size() == 8 && digits_at(name, 0) == 3 && name[0] >= '1' &&
        std::all_of(name.begin() + 3, name.end(),
                    [](char c) { return (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_'; })) {
      add(out, NameReason::camera, "camera folder (DCF)");
    }
  } else {
    bool matched = false;
    for (const auto& r : kFileRules) {
      if (prefix_rule_matches(stem, r)) {
        add(out, NameReason::camera, std::string(r.label));
        matched = true;
        break;
      }
    }
    if (!matched) {
      for (const auto& r : kMoreFileRules) {
        if (prefix_rule_matches(stem, r)) {
          add(out, NameReason::camera, std::string(r.label));
          matched = true;
          break;
        }
      }
    }
    // GoPro HERO5 and later: GP, GH, GX or GS, then six digits, nothing else.
    if (stem.size() == 8 && (starts_with_ci(stem, "GP") || starts_with_ci(stem, "GH") ||
                             starts_with_ci(stem, "GX") || starts_with_ci(stem, "GS")) &&
        digits_at(stem, 2) == 6) {
      add(out, NameReason::camera, "GoPro (" + std::string(stem.substr(0, 2)) + ")");
      matched = true;
    }
    // Panasonic (P + three-digit folder + four-digit number) and Olympus
    // (P + month 1-9/A-C + day + number): P1010042, PA050042.
    if (stem.size() == 8 && (stem[0] == 'P' || stem[0] == 'p') &&
        (is_digit(stem[1]) || (lower(stem[1]) >= 'a' && lower(stem[1]) <= 'c')) && digits_at(stem, 2) == 6) {
      add(out, NameReason::camera, "Panasonic or Olympus camera (P)");
      matched = true;
    }
    // Samsung's camera: 20220105_143210.
    if (digits_at(stem, 0) == 8 && stem.size() >= 15 && stem[8] == '_' && digits_at(stem, 9) == 6) {
      add(out, NameReason::camera, "Samsung camera (date_time)");
      matched = true;
    }
    // Any other DCF name (four letters, digits or '_', four digits) on a
    // media or sidecar file; on documents the form is too common to mean a camera.
    const std::string ext = extension_of(name);
    if (!matched && (media != MediaKind::none || in(kSidecarExts, ext)) && stem.size() == 8 &&
        digits_at(stem, 4) == 4 &&
        std::all_of(stem.begin(), stem.begin() + 4, [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; }) &&
        std::any_of(stem.begin(), stem.begin() + 4, [](char c) { return is_alpha(c) || c == '_'; })) {
      add(out, NameReason::camera, "camera (DCF name)");
    }
  }
  for (const auto& [word, label] : kAppWords) {
    if (contains_ci(name, word)) add(out, NameReason::camera, std::string(label));
  }
  if (contains_ci(name, "screen recording") || contains_ci(name, "screenshot")) {
    add(out, NameReason::camera, "screenshot");
  }
}

// ---- dates and times -------------------------------------------------------

bool plausible_year(int y) {
  return (y >= 1990 && y <= 2099) || (y >= 1350 && y <= 1499) || (y >= 2530 && y <= 2599);
}
bool plausible_md(int m, int d) { return m >= 1 && m <= 12 && d >= 1 && d <= 31; }
bool plausible_ymd(std::string_view s) {  // "yyyymmdd"
  return plausible_year(number(s.substr(0, 4))) && plausible_md(number(s.substr(4, 2)), number(s.substr(6, 2)));
}
bool plausible_hms(std::string_view h, std::string_view m, std::string_view s) {
  return number(h) <= 23 && number(m) <= 59 && number(s) <= 59;
}

struct Run {
  std::size_t pos;
  std::size_t len;
};

std::vector<Run> digit_runs(std::string_view s) {
  std::vector<Run> runs;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = digits_at(s, i);
    if (n > 0) {
      runs.push_back({i, n});
      i += n;
    } else {
      ++i;
    }
  }
  return runs;
}

bool is_date_sep(char c) { return c == '-' || c == '_' || c == '.' || c == ' '; }
bool is_time_sep(char c) { return c == '-' || c == '_' || c == '.' || c == ':'; }

void judge_dates(std::string_view name, std::vector<NameFlag>& out) {
  const std::string s = ascii_digits(name);
  const std::string_view sv(s);
  const std::vector<Run> runs = digit_runs(sv);
  auto text = [&](const Run& a, const Run& b) { return std::string(sv.substr(a.pos, b.pos + b.len - a.pos)); };
  auto run = [&](const Run& r) { return sv.substr(r.pos, r.len); };
  // Which runs a date used, so a time right after it can be told from a
  // stray number.
  std::vector<bool> date_end(runs.size(), false);

  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    const std::string_view d = run(r);
    // Three runs with one repeated separator: y-m-d or d-m-y / m-d-y.
    if (i + 2 < runs.size()) {
      const Run& b = runs[i + 1];
      const Run& c = runs[i + 2];
      const bool joined = b.pos == r.pos + r.len + 1 && c.pos == b.pos + b.len + 1;
      const char sep = joined ? sv[r.pos + r.len] : '\0';
      if (joined && sv[b.pos + b.len] == sep) {
        const int x = number(d), y = number(run(b)), z = number(run(c));
        if (is_date_sep(sep) && r.len == 4 && b.len == 2 && c.len == 2 && plausible_year(x) && plausible_md(y, z)) {
          add(out, NameReason::date, text(r, c));
          date_end[i + 2] = true;
        } else if (is_date_sep(sep) && r.len == 2 && b.len == 2 && c.len == 4 && plausible_year(z) &&
                   (plausible_md(y, x) || plausible_md(x, y))) {
          add(out, NameReason::date, text(r, c));
          date_end[i + 2] = true;
        } else if (is_time_sep(sep) && r.len <= 2 && b.len == 2 && c.len == 2 &&
                   plausible_hms(d, run(b), run(c))) {
          // Two-digit hours anywhere; a one-digit hour only after " at "
          // (macOS: "at 2.32.10 PM"), where it cannot be a version number.
          const bool after_at = r.pos >= 4 && sv.substr(r.pos - 4, 4) == " at ";
          if (r.len == 2 || after_at) add(out, NameReason::time, text(r, c));
          if (r.len == 2 && sep != ':' && plausible_year(2000 + z) && (plausible_md(y, x) || plausible_md(x, y))) {
            // 05.01.22 reads as a date just as well.
            add(out, NameReason::date, text(r, c));
          }
        }
      }
    }
    if (r.len == 8) {
      const bool ymd = plausible_ymd(d);
      const bool dmy = plausible_year(number(d.substr(4, 4))) &&
                       (plausible_md(number(d.substr(2, 2)), number(d.substr(0, 2))) ||
                        plausible_md(number(d.substr(0, 2)), number(d.substr(2, 2))));
      if (ymd || dmy) {
        add(out, NameReason::date, std::string(d));
        date_end[i] = true;
      }
    } else if (r.len == 12 || r.len == 14 || r.len == 17) {
      // A date run on into a time: yyyymmddhhmm[ss[mmm]].
      if (plausible_ymd(d) && number(d.substr(8, 2)) <= 23 && number(d.substr(10, 2)) <= 59 &&
          (r.len == 12 || number(d.substr(12, 2)) <= 59)) {
        add(out, NameReason::date, std::string(d.substr(0, 8)));
        add(out, NameReason::time, std::string(d.substr(8)));
      }
    } else if ((r.len == 10 || r.len == 13) && d[0] == '1' && d[1] >= '3' && d[1] <= '9') {
      // Unix time of 2011-2033, in seconds or milliseconds.
      add(out, NameReason::time, std::string(d));
    }
  }
  // hhmmss or hhmmssmmm right after a date (Android, Pixel, Samsung).
  for (std::size_t i = 1; i < runs.size(); ++i) {
    if (!date_end[i - 1]) continue;
    const Run& p = runs[i - 1];
    const Run& r = runs[i];
    const std::size_t gap = r.pos - (p.pos + p.len);
    const bool close = gap == 1 && (is_date_sep(sv[r.pos - 1]) || sv[r.pos - 1] == 'T');
    const std::string_view d = run(r);
    if (close && (r.len == 6 || r.len == 9 || r.len == 4) &&
        plausible_hms(d.substr(0, 2), d.substr(2, 2), r.len == 4 ? std::string_view("00") : d.substr(4, 2))) {
      add(out, NameReason::time, std::string(d));
    }
  }
}

bool neutral_number(std::string_view s) { return s.size() >= 2 && s.size() <= 9 && digits_at(s, 0) == s.size(); }

}  // namespace

std::string_view name_reason_name(NameReason r) {
  switch (r) {
    case NameReason::camera: return "camera";
    case NameReason::date: return "date";
    case NameReason::time: return "time";
    case NameReason::media: return "media";
  }
  return "media";
}

MediaKind media_kind(std::string_view name) {
  const std::string ext = extension_of(name);
  if (ext.empty()) return MediaKind::none;
  if (in(kImageExts, ext)) return MediaKind::image;
  if (in(kVideoExts, ext)) return MediaKind::video;
  if (in(kAudioExts, ext)) return MediaKind::audio;
  return MediaKind::none;
}

bool is_neutral_name(std::string_view name, EntryKind kind) {
  if (kind == EntryKind::folder) {
    return name.substr(0, 7) == "folder-" && neutral_number(name.substr(7));
  }
  std::string_view rest;
  for (std::string_view p : {"photo-", "video-", "audio-", "file-"}) {
    if (name.substr(0, p.size()) == p) {
      rest = name.substr(p.size());
      break;
    }
  }
  if (rest.empty()) return false;
  const auto dot = rest.find('.');
  if (!neutral_number(rest.substr(0, dot))) return false;
  if (dot == std::string_view::npos) return true;
  // Up to two extensions (".tar.gz"), each lower-case letters and digits.
  std::string_view exts = rest.substr(dot + 1);
  int count = 0;
  while (true) {
    const auto next = exts.find('.');
    const std::string_view e = exts.substr(0, next);
    if (e.empty() || !std::all_of(e.begin(), e.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); })) {
      return false;
    }
    if (++count > 2) return false;
    if (next == std::string_view::npos) return true;
    exts = exts.substr(next + 1);
  }
}

std::vector<NameFlag> judge_name(std::string_view name, EntryKind kind) {
  std::vector<NameFlag> out;
  if (is_neutral_name(name, kind)) return out;
  const MediaKind media = kind == EntryKind::file ? media_kind(name) : MediaKind::none;
  const std::string digits = ascii_digits(name);
  const std::string_view stem = kind == EntryKind::file ? stem_of(digits) : std::string_view(digits);
  judge_camera(digits, stem, kind, media, out);
  judge_dates(name, out);
  if (out.empty() && media != MediaKind::none) {
    add(out, NameReason::media, media == MediaKind::image ? "image" : media == MediaKind::video ? "video" : "audio");
  }
  return out;
}

// ---- the planner -----------------------------------------------------------

namespace {

struct Child {
  std::string name;
  EntryKind kind;
};

std::string prefix_for(std::string_view name, EntryKind kind) {
  if (kind == EntryKind::folder) return "folder";
  switch (media_kind(name)) {
    case MediaKind::image: return "photo";
    case MediaKind::video: return "video";
    case MediaKind::audio: return "audio";
    case MediaKind::none: break;
  }
  return "file";
}

std::size_t decimal_width(std::size_t n) {
  std::size_t w = 1;
  while (n >= 10) {
    n /= 10;
    ++w;
  }
  return w;
}

std::string padded(std::size_t n, std::size_t width) {
  std::string s = std::to_string(n);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

std::string join(std::string_view folder, std::string_view name) {
  if (folder.empty()) return std::string(name);
  std::string out(folder);
  out += '/';
  out += name;
  return out;
}

// New names for the `renamed` children (indices into `children`, in bytewise
// order) of one folder, none equal (ASCII case-insensitively) to any name
// already there or to another new one. Within each prefix the numbers rise
// in the order of the old names; their width is the smallest, at least two,
// that holds the largest number given.
std::map<std::size_t, std::string> number_children(const std::vector<Child>& children,
                                                   const std::vector<std::size_t>& renamed) {
  std::set<std::string> taken;
  for (const auto& c : children) taken.insert(lowered(c.name));
  std::map<std::string, std::vector<std::size_t>> by_prefix;
  for (std::size_t i : renamed) by_prefix[prefix_for(children[i].name, children[i].kind)].push_back(i);

  std::map<std::size_t, std::string> out;
  for (const auto& [prefix, members] : by_prefix) {
    std::size_t width = std::max<std::size_t>(2, decimal_width(members.size()));
    while (true) {
      std::map<std::size_t, std::string> trial;
      std::set<std::string> used = taken;
      std::size_t n = 0;
      bool fits = true;
      for (std::size_t i : members) {
        const std::string ext =
            children[i].kind == EntryKind::folder ? std::string() : new_extension(children[i].name);
        std::string candidate;
        do {
          ++n;
          candidate = prefix + "-" + padded(n, width) + ext;
        } while (used.count(lowered(candidate)) != 0);
        if (decimal_width(n) > width) {
          fits = false;
          break;
        }
        used.insert(lowered(candidate));
        trial[i] = std::move(candidate);
      }
      if (fits) {
        for (auto& [i, nm] : trial) {
          taken.insert(lowered(nm));
          out[i] = std::move(nm);
        }
        break;
      }
      ++width;
    }
  }
  return out;
}

}  // namespace

Result<RenamePlan> plan_renames(std::span<const std::string> files, Diag* diag) {
  if (files.size() > kMaxManifestFiles) {
    return fail(errc::too_many_files, diag, {}, "more than 65536 files");
  }
  RenamePlan plan;
  plan.files.assign(files.begin(), files.end());
  std::sort(plan.files.begin(), plan.files.end());

  // Folder path -> its children, and every path (folded) to find clashes.
  std::map<std::string, std::vector<Child>> folders;
  std::map<std::string, EntryKind> kinds;      // exact path -> kind
  std::map<std::string, std::string> folded;   // folded path -> exact path
  folders[""];
  for (const auto& f : plan.files) {
    std::string why;
    if (!SafeRelPath::parse(f, &why)) return fail(errc::unsafe_path, diag, f, why);
    const auto slash0 = f.find('/');
    if (slash0 != std::string::npos && f.substr(0, slash0) == kManifestDir) {
      return fail(errc::unsafe_path, diag, f, "content files may not live under .tamizdat/");
    }
    std::size_t start = 0;
    while (true) {
      const auto slash = f.find('/', start);
      const bool last = slash == std::string::npos;
      const std::string path = last ? f : f.substr(0, slash);
      const EntryKind kind = last ? EntryKind::file : EntryKind::folder;
      const auto [it, added] = kinds.emplace(path, kind);
      if (!added && (it->second != kind || kind == EntryKind::file)) {
        return fail(errc::unsafe_path, diag, f,
                    it->second != kind ? "a path is both a file and a folder" : "a path repeats");
      }
      if (added) {
        // As the manifest does: whole file paths may not differ only in
        // case (two folders that do are kept apart by the numbering).
        if (kind == EntryKind::file && !folded.emplace(lowered(path), path).second) {
          return fail(errc::unsafe_path, diag, f, "two paths differ only in letter case");
        }
        const std::string parent = start == 0 ? std::string() : f.substr(0, start - 1);
        folders[parent].push_back({path.substr(start), kind});
      }
      if (last) break;
      start = slash + 1;
    }
  }

  // Top-down, so each folder's new path is known before its children's.
  std::map<std::string, std::string> new_folder_path{{"", ""}};
  for (auto& [folder, children] : folders) {
    std::sort(children.begin(), children.end(), [](const Child& a, const Child& b) { return a.name < b.name; });
    std::vector<std::size_t> renamed;
    std::vector<std::vector<NameFlag>> why(children.size());
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (children[i].kind == EntryKind::file && children[i].name == "index.html") continue;
      why[i] = judge_name(children[i].name, children[i].kind);
      if (!why[i].empty()) renamed.push_back(i);
    }
    const std::map<std::size_t, std::string> names = number_children(children, renamed);
    // std::map iterates parents before children ("a" < "a/..."), and a
    // parent's entry is filled when the parent itself is visited as a child.
    const std::string& parent_new = new_folder_path.at(folder);
    for (std::size_t i = 0; i < children.size(); ++i) {
      const auto it = names.find(i);
      const std::string& leaf = it == names.end() ? children[i].name : it->second;
      const std::string old_path = join(folder, children[i].name);
      const std::string new_path = join(parent_new, leaf);
      if (children[i].kind == EntryKind::folder) new_folder_path[old_path] = new_path;
      if (it != names.end()) plan.renames.push_back({old_path, new_path, children[i].kind, std::move(why[i])});
    }
  }
  std::sort(plan.renames.begin(), plan.renames.end(),
            [](const Rename& a, const Rename& b) { return a.from < b.from; });
  return plan;
}

}  // namespace tz::scrub
