#include "scrub/inspect.h"

#include "core/files.h"
#include "scrub/run.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <random>
#include <span>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace tz::scrub {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool in(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) {
      if (!s.empty()) s += ", ";
      s += value_text(e);
    }
    return s;
  }
  return v.dump();
}

// The marks ffmpeg leaves when bit-exact, as our remux is: "Lavf", "Lavc" or
// "Lavc libvpx" (no version). Not identifying: every scrubbed file has them.
bool is_tool_mark(std::string_view v) {
  if (in(v, {"", "ffmpeg"})) return true;
  if (!v.starts_with("Lavf") && !v.starts_with("Lavc")) return false;
  v.remove_prefix(4);
  if (v.empty()) return true;
  if (v.front() != ' ' || v.size() == 1) return false;
  return std::all_of(v.begin() + 1, v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Dates ffmpeg writes when told to be bit-exact, and "no date" forms.
bool is_zero_date(std::string_view v) {
  return v.empty() || v.starts_with("0000:00:00") || v == "0" || v.starts_with("1904:01:01 00:00:00") ||
         v.starts_with("1970:01:01 00:00:00");
}

// The category a tag's name puts it in, whatever group it sits in.
std::optional<Category> category_by_name(std::string_view n) {
  if (n.starts_with("GPS") || contains(n, "GPS") || in(n, {"Location", "LocationInformation", "LocationName",
                                                           "City", "Country", "Sub-location", "Province-State",
                                                           "Country-PrimaryLocationName", "CountryCode", "State",
                                                           "LocationCreated", "LocationShown", "LocationBody",
                                                           "LocationRole", "LocationDate", "Coordinates",
                                                           "ISO6709", "Latitude", "Longitude", "Altitude"})) {
    return Category::gps;
  }
  if (contains(n, "Serial") || contains(n, "serial") ||
      in(n, {"Make", "Model", "LensMake", "LensModel", "LensInfo", "LensID", "Lens", "UniqueCameraModel",
             "LocalizedCameraModel", "CameraModelName", "ImageUniqueID", "CameraID", "DeviceManufacturer",
             "DeviceModel", "DeviceName", "DeviceModelDesc", "DeviceMfgDesc", "AndroidMake", "AndroidModel",
             "AndroidManufacturer", "Manufacturer", "ContentIdentifier", "HostComputer", "InternalSerialNumber",
             "CameraSerialNumber", "BodySerialNumber", "LensSerialNumber", "OwnerID", "UniqueDocumentID",
             "DocumentID", "InstanceID", "OriginalDocumentID", "ProductID", "DeviceSettingDescription"})) {
    return Category::device;
  }
  if (contains(n, "Owner") || contains(n, "Author") || contains(n, "Artist") ||
      in(n, {"Creator", "By-line", "By-lineTitle", "Copyright", "CopyrightNotice", "Rights", "Credit", "Contact",
             "CreatorContactInfo", "Writer", "Publisher", "Composer", "Performer", "Conductor", "Lyricist",
             "Engineer", "Technician", "Commissioned", "Source", "Director", "Producer", "EncodedBy",
             "Contributor", "Band", "OriginalArtist", "Person", "PersonInImage", "CaptionWriter",
             "Writer-Editor", "LastModifiedBy", "Company", "Manager", "UserName", "Email", "Phone", "Address"})) {
    return Category::owner;
  }
  if (contains(n, "Software") || contains(n, "Firmware") ||
      in(n, {"CreatorTool", "ProcessingSoftware", "HistorySoftwareAgent", "Encoder", "EncoderSettings",
             "MuxingApp", "WritingApp", "Vendor", "Application", "AppVersion", "Generator", "Tool",
             "ProducerApp", "CompressorName", "HandlerDescription", "EncodingTool"})) {
    return Category::software;
  }
  if (contains(n, "Thumbnail") || contains(n, "PreviewImage") || in(n, {"Preview", "PreviewPICT"}) ||
      in(n, {"JpgFromRaw", "OtherImage", "CoverArt", "Picture", "PictureData", "MPImage", "MPImage2",
             "MPImage3", "EmbeddedImage", "ThumbnailTIFF", "PhotoshopThumbnail", "Cover", "AttachedFile"})) {
    return Category::thumbnail;
  }
  if (contains(n, "Date") || n.starts_with("SubSecTime") || n.starts_with("OffsetTime") ||
      in(n, {"TimeCreated", "DigitalCreationTime", "CreationTime", "TimeStamp", "Year", "TimeZoneOffset",
             "TimeCode", "StartTimecode", "EncodingTime", "TaggingTime", "RecordingTime", "ReleaseTime",
             "OriginalReleaseTime"})) {
    return Category::time;
  }
  if (in(n, {"Comment", "UserComment", "ImageDescription", "Description", "Caption", "Caption-Abstract",
             "Title", "Keywords", "Subject", "Headline", "XPComment", "XPTitle", "XPKeywords", "XPSubject",
             "Label", "Rating", "Album", "Genre", "Lyrics", "Notes", "Event", "Instructions",
             "SpecialInstructions", "ObjectName", "TransmissionReference", "OriginalTransmissionReference"})) {
    return Category::comment;
  }
  return std::nullopt;
}

// Groups (family 0) that hold nothing but metadata: every tag in them counts.
std::optional<Category> metadata_group(std::string_view g0, std::string_view g1) {
  if (g0 == "XMP") return Category::xmp;
  if (g0 == "IPTC") return Category::iptc;
  if (g0 == "ICC_Profile") return Category::icc;
  if (in(g0, {"ID3", "APE", "Lyrics3"})) return Category::tag;
  if (g0 == "QuickTime" && in(g1, {"ItemList", "UserData", "Keys"})) return Category::tag;
  if (g0 == "MPF") return Category::thumbnail;
  return std::nullopt;
}

// Groups of structure: only tags whose names say they identify count.
bool structural_group(std::string_view g0) {
  return in(g0, {"QuickTime", "Matroska", "MPEG", "FLAC", "RIFF", "JFIF", "APP14", "GIF", "BMP", "H264",
                 "M2TS", "AIFF", "Opus", "Vorbis", "Ogg", "Theora", "JPEG", "SVG", "HTML", "JSON", "Trailer",
                 "PDF", "AVI", "ASF", "Jpeg2000"});
}

// PNG keeps arbitrary text under arbitrary keywords: every PNG tag counts
// but these, which describe pixels only.
bool png_structure(std::string_view n) {
  return in(n, {"ImageWidth", "ImageHeight", "BitDepth", "ColorType", "Compression", "Filter", "Interlace",
                "Gamma", "SRGBRendering", "WhitePointX", "WhitePointY", "RedX", "RedY", "GreenX", "GreenY",
                "BlueX", "BlueY", "Palette", "Transparency", "BackgroundColor", "SignificantBits",
                "PixelsPerUnitX", "PixelsPerUnitY", "PixelUnits", "AnimationFrames", "AnimationPlays",
                "ColorPrimaries", "TransferCharacteristics", "MatrixCoefficients", "VideoFullRangeFlag"});
}

// Damage exiftool reports while reading (with the validate option).
bool is_damage(std::string_view w) {
  std::string s(w);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* word : {"truncated", "corrupt", "format error", "error reading", "missing jpeg eoi",
                           "unexpected end", "bad chunk", "invalid atom", "bad atom", "crc error"}) {
    if (s.find(word) != std::string::npos) return true;
  }
  return false;
}

Kind kind_of(std::string_view type, std::string_view mime) {
  if (type == "JPEG") return Kind::jpeg;
  if (type == "PNG" || type == "APNG") return Kind::png;
  if (type == "WEBP" || type == "Extended WEBP") return Kind::webp;
  if (type == "TIFF") return Kind::tiff;
  if (type == "GIF") return Kind::gif;
  if (in(type, {"HEIC", "HEIF", "AVIF"})) return Kind::heif;
  if (type == "SVG") return Kind::svg;
  if (in(type, {"MP4", "MOV", "M4A", "M4V", "M4B", "3GP", "3G2", "CRM"})) return Kind::mp4;
  if (in(type, {"MKV", "WEBM", "MKA", "MKS", "MK3D"})) return Kind::matroska;
  if (type == "MP3") return Kind::mp3;
  if (in(type, {"OGG", "OGV", "OPUS", "OGA"})) return Kind::ogg;
  if (type == "FLAC") return Kind::flac;
  if (type == "WAV") return Kind::wav;
  if (type == "AVI") return Kind::avi;
  if (type == "PDF") return Kind::pdf;
  if (in(type, {"HTML", "XHTML", "TXT", "CSS", "JSON", "JS"}) || mime.starts_with("text/") ||
      mime == "application/json") {
    return Kind::text;
  }
  return Kind::unknown;
}

}  // namespace

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::text: return "text";
    case Kind::jpeg: return "jpeg";
    case Kind::png: return "png";
    case Kind::webp: return "webp";
    case Kind::tiff: return "tiff";
    case Kind::gif: return "gif";
    case Kind::heif: return "heif";
    case Kind::svg: return "svg";
    case Kind::mp4: return "mp4";
    case Kind::matroska: return "matroska";
    case Kind::mp3: return "mp3";
    case Kind::ogg: return "ogg";
    case Kind::flac: return "flac";
    case Kind::wav: return "wav";
    case Kind::avi: return "avi";
    case Kind::pdf: return "pdf";
    case Kind::unknown: return "unknown";
  }
  return "unknown";
}

Inspection classify_exiftool_object(std::string_view json_object) {
  Inspection r;
  const json o = json::parse(json_object, nullptr, false);
  if (!o.is_object()) {
    r.problem = errc::cannot_inspect;
    r.detail = "exiftool gave no answer for this file";
    return r;
  }
  std::string type, mime, error;
  std::vector<std::string> warnings;
  for (const auto& [key, v] : o.items()) {
    if (key == "File:FileType") type = value_text(v);
    if (key == "File:MIMEType") mime = value_text(v);
    if (key == "ExifTool:Error") error = value_text(v);
    if (key.starts_with("ExifTool:") && key.ends_with(":Warning")) warnings.push_back(value_text(v));
  }
  r.format = type;
  r.kind = kind_of(type, mime);
  if (!error.empty()) {
    r.kind = error == "Unknown file type" || type.empty() ? Kind::unknown : r.kind;
    r.problem = r.kind == Kind::unknown ? errc::cannot_inspect : errc::bad_media;
    r.detail = r.kind == Kind::unknown ? "a format Tamizdat cannot check for identifying metadata"
                                       : "unreadable " + type + ": " + error;
    return r;
  }
  if (r.kind == Kind::unknown) {
    r.problem = errc::cannot_inspect;
    r.detail = (type.empty() ? std::string("a format") : type) +
               " is a format Tamizdat cannot check for identifying metadata";
    return r;
  }
  for (const auto& w : warnings) {
    if (is_damage(w)) {
      r.problem = errc::bad_media;
      r.detail = "damaged " + type + ": " + w;
      return r;
    }
  }
  if (r.kind == Kind::text) return r;  // what readers see is all there is

  for (const auto& [key, v] : o.items()) {
    // "G0:G1:Tag" or "G0:G1:CopyN:Tag".
    std::vector<std::string_view> parts;
    std::string_view k = key;
    for (std::size_t p = k.find(':'); p != std::string_view::npos; p = k.find(':')) {
      parts.push_back(k.substr(0, p));
      k.remove_prefix(p + 1);
    }
    parts.push_back(k);
    if (parts.size() < 2) continue;  // SourceFile
    const std::string_view g0 = parts.front();
    const std::string_view g1 = parts.size() >= 3 ? parts[1] : std::string_view{};
    const std::string_view name = parts.back();
    if (in(g0, {"ExifTool", "System", "Composite"})) continue;
    const std::string text = value_text(v);
    std::optional<Category> cat;
    // ID3's free-form frames read "(name) value": judge them by that name
    // ("(location) +43.25+076.92/", "(com.apple.quicktime.model) ...").
    std::optional<Category> inner;
    if (text.starts_with("(") && in(name, {"UserDefinedText", "UserDefinedURL", "Comment", "PrivateFrame"})) {
      const auto close = text.find(')');
      if (close != std::string::npos) {
        std::string word = text.substr(1, close - 1);
        if (const auto dot = word.rfind('.'); dot != std::string::npos) word = word.substr(dot + 1);
        if (!word.empty()) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
        inner = category_by_name(word);
      }
    }
    if (g0 == "File") {
      // exiftool files a JPEG's COM segment under File; the rest is the file system's.
      if (name == "Comment") cat = Category::comment;
    } else if (g0 == "EXIF") {
      if (name == "Orientation") continue;  // kept on purpose: the picture would turn sideways
      cat = category_by_name(name).value_or(Category::other);
    } else if (g0 == "MakerNotes") {
      cat = category_by_name(name).value_or(Category::device);
    } else if (auto m = metadata_group(g0, g1)) {
      // The category a publisher recognises (GPS, author) for the notable
      // tags, the container's for the rest; an ICC profile is one thing.
      cat = g0 == "ICC_Profile" ? *m : category_by_name(name).value_or(*m);
    } else if (g0 == "PNG") {
      if (png_structure(name)) continue;
      cat = category_by_name(name).value_or(Category::comment);
    } else if (structural_group(g0)) {
      cat = category_by_name(name);
    } else {
      // A group these rules do not know: unknown means unsafe.
      cat = category_by_name(name).value_or(Category::other);
    }
    if (cat && inner) cat = inner;
    if (!cat) continue;
    // What our own tools leave in every scrubbed file, and empty stand-ins.
    if (*cat == Category::time && is_zero_date(text)) continue;
    if (*cat == Category::software && is_tool_mark(text)) continue;
    if (name == "HandlerDescription" && in(text, {"VideoHandler", "SoundHandler", "DataHandler",
                                                  "SubtitleHandler", "TextHandler", "Picture"})) {
      continue;
    }
    if (g0 == "MPEG" && name.starts_with("Copyright")) continue;  // a flag bit, not a holder
    std::string shown_key = std::string(g0) + ":" + (g1.empty() || g1.starts_with("Copy") ? "" : std::string(g1) + ":") +
                            std::string(name);
    r.findings.push_back({*cat, std::move(shown_key), printable_value(text)});
  }
  return r;
}

namespace {

// One exiftool run over `files`.
Result<std::vector<Inspection>> inspect_chunk(std::span<const fs::path> files, Diag* diag, Depth depth) {
  std::vector<Inspection> out(files.size());
  if (files.empty()) return out;
  // The file list goes in an argument file, one absolute path per line (a
  // name can then never be read as an option). Names with line breaks never
  // get here: bundle paths refuse control characters.
  std::random_device rd;
  const fs::path list = fs::temp_directory_path() /
                        ("tamizdat-exiftool-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  {
    // Only this user may read it: the names may say much.
    std::string text;
    for (const auto& p : files) text += fs::absolute(p).string() + '\n';
    UniqueFd fd(::open(list.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    bool ok = fd.get() >= 0;
    for (std::size_t done = 0; ok && done < text.size();) {
      const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    if (!ok) return fail(errc::scrub_failed, diag, {}, "cannot write exiftool's file list in " + list.parent_path().string());
  }
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove(p, ec);
    }
  } cleanup{list};
  std::vector<std::string> argv = {"exiftool", "-j", "-G0:1:4", "-a", "-u", "-api", "largefilesupport=1",
                                   "-charset", "filename=utf8", "-@", list.string()};
  if (depth == Depth::validate) argv.insert(argv.begin() + 5, {"-api", "validate=1"});
  // Minutes per folder are fine; hours mean something is wrong.
  const auto timeout = std::chrono::milliseconds(60'000 + 2'000 * static_cast<long long>(files.size()));
  BOOST_OUTCOME_TRY(run, run_tool(argv, timeout, std::size_t{256} << 20, diag));
  if (run.output_cut) return fail(errc::scrub_failed, diag, {}, "exiftool's report passed 256 MiB");
  const json all = json::parse(run.out, nullptr, false);
  if (!all.is_array() || all.size() != files.size()) {
    return fail(errc::scrub_failed, diag, {},
                "exiftool did not report on every file (exit " + std::to_string(run.exit_code) + "): " +
                    run.err.substr(0, 200));
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    const json& o = all[i];
    const std::string source = o.is_object() ? o.value("SourceFile", "") : "";
    if (source != fs::absolute(files[i]).string()) {
      return fail(errc::scrub_failed, diag, {}, "exiftool reported files out of order");
    }
    out[i] = classify_exiftool_object(o.dump());
  }
  return out;
}

}  // namespace

Result<std::vector<Inspection>> inspect_files(const std::vector<fs::path>& files, Diag* diag, Depth depth) {
  // exiftool is one single-threaded process: a large folder is split among
  // the cores, at least 16 files per run.
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t runs = std::clamp<std::size_t>(files.size() / 16, 1, cores);
  if (runs == 1) return inspect_chunk(files, diag, depth);
  std::vector<Result<std::vector<Inspection>>> parts(runs, std::vector<Inspection>{});
  std::vector<Diag> diags(runs);
  const std::size_t per = (files.size() + runs - 1) / runs;
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < runs; ++t) {
    const std::size_t from = std::min(files.size(), t * per), to = std::min(files.size(), from + per);
    pool.emplace_back([&, t, from, to] {
      parts[t] = inspect_chunk(std::span(files).subspan(from, to - from), &diags[t], depth);
    });
  }
  for (auto& th : pool) th.join();
  std::vector<Inspection> out;
  out.reserve(files.size());
  for (std::size_t t = 0; t < runs; ++t) {
    if (!parts[t]) {
      if (diag != nullptr) *diag = diags[t];
      return parts[t].error();
    }
    for (auto& in : parts[t].value()) out.push_back(std::move(in));
  }
  return out;
}

}  // namespace tz::scrub
