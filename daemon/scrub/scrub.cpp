#include "scrub/scrub.h"

#include "core/files.h"
#include "scrub/run.h"

#include <exiv2/exiv2.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

namespace tz::scrub {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kTempPrefix = "scrub-";
constexpr std::uint64_t kMaxInMemoryImage = 1ull << 30;  // libexiv2 works on a copy in memory

boost::system::error_code to_boost(const std::error_code& ec) {
  return {ec.value(), boost::system::generic_category()};
}

// The muxer ffmpeg must write, by what exiftool said the file is.
std::string muxer_for(const Inspection& in) {
  const std::string& t = in.format;
  switch (in.kind) {
    case Kind::mp4:
      if (t == "MOV") return "mov";
      if (t == "M4A" || t == "M4B") return "ipod";
      if (t == "3GP") return "3gp";
      if (t == "3G2") return "3g2";
      return "mp4";
    case Kind::matroska: return t == "WEBM" ? "webm" : "matroska";
    case Kind::mp3: return "mp3";
    case Kind::ogg: return t == "OPUS" ? "opus" : "ogg";
    case Kind::flac: return "flac";
    case Kind::wav: return "wav";
    case Kind::avi: return "avi";
    default: return {};
  }
}

// Streams ffprobe sees, as "v:a:s" counts of video (not cover pictures),
// audio and subtitles; what a remux must keep.
Result<std::string> stream_layout(const fs::path& file, Diag* diag) {
  BOOST_OUTCOME_TRY(r, run_tool({"ffprobe", "-v", "error", "-show_entries", "stream=codec_type:stream_disposition=attached_pic",
                                 "-of", "csv=p=0", file.string()},
                                std::chrono::minutes(2), 1 << 20, diag));
  if (r.exit_code != 0) {
    return fail(errc::bad_media, diag, {}, "ffprobe cannot read it: " + r.err.substr(0, 200));
  }
  int v = 0, a = 0, s = 0;
  std::size_t start = 0;
  while (start < r.out.size()) {
    auto end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    const std::string line = r.out.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("video,0") || line == "video") ++v;
    if (line.starts_with("audio")) ++a;
    if (line.starts_with("subtitle")) ++s;
  }
  return std::to_string(v) + ":" + std::to_string(a) + ":" + std::to_string(s);
}

Result<void> remux(const fs::path& in, const fs::path& out, const Inspection& what, Diag* diag) {
  const std::string muxer = muxer_for(what);
  BOOST_OUTCOME_TRY(before, stream_layout(in, diag));
  if (before == "0:0:0") return fail(errc::bad_media, diag, {}, "it holds no picture or sound ffmpeg can read");
  // Video, audio and subtitles are copied as they are (never re-encoded);
  // cover pictures, data tracks (GPS and sensor logs), attachments,
  // chapters and every tag are left behind; bit-exact output carries no
  // encoder version and no creation time.
  const std::vector<std::string> argv = {
      "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", in.string(),
      "-map", "0:V?", "-map", "0:a?", "-map", "0:s?", "-c", "copy",
      "-map_metadata", "-1", "-map_metadata:s", "-1", "-map_chapters", "-1",
      "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
      "-f", muxer, "-y", out.string()};
  BOOST_OUTCOME_TRY(r, run_tool(argv, std::chrono::hours(2), 1 << 20, diag));
  if (r.exit_code != 0) return fail(errc::bad_media, diag, {}, "ffmpeg cannot copy it: " + r.err.substr(0, 300));
  BOOST_OUTCOME_TRY(after, stream_layout(out, diag));
  if (after != before) {
    return fail(errc::scrub_failed, diag, {}, "the copy lost a stream (video:audio:subtitles " + before + " became " +
                                                 after + ")");
  }
  return success();
}

Result<void> exiftool_strip(const fs::path& in, const fs::path& out, Kind kind, Diag* diag) {
  std::vector<std::string> argv = {"exiftool", "-q", "-q", "-m", "-all="};
  // A JPEG or TIFF keeps its orientation, or the picture turns sideways.
  if (kind == Kind::jpeg || kind == Kind::tiff || kind == Kind::webp) {
    argv.insert(argv.end(), {"-tagsfromfile", "@", "-Orientation"});
  }
  argv.insert(argv.end(), {"-o", out.string(), in.string()});
  BOOST_OUTCOME_TRY(r, run_tool(argv, std::chrono::minutes(10), 1 << 20, diag));
  if (r.exit_code != 0 || !fs::exists(out)) {
    return fail(errc::scrub_failed, diag, {}, "exiftool could not write a clean copy: " + r.err.substr(0, 200));
  }
  return success();
}

// libexiv2 rewrites the metadata of an image held in memory; the picture's
// bytes are copied, never decoded.
Result<void> exiv2_strip(const fs::path& in, const fs::path& out, Diag* diag) {
  BOOST_OUTCOME_TRY(bytes, read_file_bounded(in, kMaxInMemoryImage));
  try {
    Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);
    auto img = Exiv2::ImageFactory::open(bytes.data(), static_cast<long>(bytes.size()));
    if (img.get() == nullptr) return fail(errc::bad_media, diag, {}, "libexiv2 cannot read it");
    img->readMetadata();
    std::optional<std::uint16_t> orientation;
    const auto it = img->exifData().findKey(Exiv2::ExifKey("Exif.Image.Orientation"));
    if (it != img->exifData().end() && it->count() == 1) {
      const long o = it->toLong();
      if (o >= 2 && o <= 8) orientation = static_cast<std::uint16_t>(o);
    }
    img->clearMetadata();
    img->clearIccProfile();
    if (orientation) img->exifData()["Exif.Image.Orientation"] = *orientation;
    img->writeMetadata();
    Exiv2::BasicIo& io = img->io();
    if (io.open() != 0) return fail(errc::scrub_failed, diag, {}, "libexiv2 lost its copy");
    const long size = io.size();
    Exiv2::DataBuf data = io.read(size);
    io.close();
    if (data.size_ != size) return fail(errc::scrub_failed, diag, {}, "libexiv2 lost its copy");
    BOOST_OUTCOME_TRY(write_file_atomic(out, {data.pData_, static_cast<std::size_t>(data.size_)}, 0600,
                                        Replace::never, errc::destination_exists));
  } catch (const Exiv2::AnyError& e) {
    return fail(errc::bad_media, diag, {}, std::string("libexiv2 cannot read it: ") + e.what());
  }
  return success();
}

fs::path temp_path(const fs::path& dir, const fs::path& original) {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  std::string ext = original.extension().string();
  if (ext.size() > 8) ext.clear();
  return dir / std::string(kManifestDir) / (std::string(kTempPrefix) + buf + ext);
}

}  // namespace

void remove_scrub_temps(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir / std::string(kManifestDir), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(kTempPrefix) && fs::is_regular_file(it->symlink_status(ec))) fs::remove(it->path(), ec);
  }
}

Result<std::vector<FileReport>> inspect_folder(const fs::path& dir, Diag* diag) {
  std::vector<FileReport> reports;
  std::vector<fs::path> to_inspect;
  std::vector<std::size_t> index;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return to_boost(ec);
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return to_boost(ec);
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    if (it.depth() == 0 && it->path().filename() == kManifestDir) {
      it.disable_recursion_pending();
      continue;
    }
    const fs::file_status st = it->symlink_status(ec);
    if (ec) return to_boost(ec);
    if (fs::is_directory(st)) continue;
    FileReport r;
    r.path = rel;
    if (!fs::is_regular_file(st)) {
      r.found.problem = errc::not_regular_file;
      r.found.detail = fs::is_symlink(st) ? "a symbolic link (bundles cannot hold them)"
                                          : "a device, socket or pipe (bundles cannot hold them)";
    } else {
      index.push_back(reports.size());
      to_inspect.push_back(it->path());
    }
    reports.push_back(std::move(r));
  }
  BOOST_OUTCOME_TRY(found, inspect_files(to_inspect, diag));
  for (std::size_t i = 0; i < found.size(); ++i) reports[index[i]].found = std::move(found[i]);
  std::sort(reports.begin(), reports.end(), [](const FileReport& a, const FileReport& b) { return a.path < b.path; });
  return reports;
}

void scrub_file(const fs::path& dir, FileReport& r) {
  if (r.scrubbed || r.found.problem || r.found.findings.empty()) return;
  const fs::path file = dir / r.path;
  Diag diag;
  auto failed = [&](const boost::system::error_code& ec) {
    r.error = ec.category() == tamizdat_category() ? static_cast<errc>(ec.value()) : errc::scrub_failed;
    r.error_detail = diag.detail.empty() ? ec.message() : diag.detail;
  };
  std::error_code ec;
  const bool made_dir = fs::create_directory(dir / std::string(kManifestDir), ec);
  if (ec) return failed(to_boost(ec));
  const fs::path tmp = temp_path(dir, file);
  struct Cleanup {
    fs::path tmp, meta_dir;
    bool made_dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove(tmp, e);
      if (made_dir) fs::remove(meta_dir, e);  // only when empty
    }
  } cleanup{tmp, dir / std::string(kManifestDir), made_dir};

  auto digest = sha256_of_file(file);
  if (!digest) return failed(digest.error());
  const Kind kind = r.found.kind;
  Result<void> done = success();
  switch (kind) {
    case Kind::jpeg:
    case Kind::webp:
    case Kind::tiff:
      done = exiv2_strip(file, tmp, &diag);
      break;
    case Kind::png:
    case Kind::gif:
    case Kind::heif:
      done = exiftool_strip(file, tmp, kind, &diag);
      break;
    case Kind::mp4:
    case Kind::matroska:
    case Kind::mp3:
    case Kind::ogg:
    case Kind::flac:
    case Kind::wav:
    case Kind::avi:
      done = remux(file, tmp, r.found, &diag);
      break;
    default:
      diag.detail = "Tamizdat cannot remove metadata from " + std::string(kind_name(kind)) +
                    " files; edit it by hand, leave the file out, or publish with --keep-metadata";
      done = make_error_code(errc::scrub_failed);
      break;
  }
  if (!done) return failed(done.error());

  // Check the copy as the original was checked; libexiv2 leaves what it does
  // not know (maker segments, trailers) to a second pass by exiftool.
  auto again = inspect_files({tmp}, &diag);
  if (!again) return failed(again.error());
  if (!again.value()[0].findings.empty() && (kind == Kind::jpeg || kind == Kind::webp || kind == Kind::tiff)) {
    const fs::path second = temp_path(dir, file);
    Cleanup second_cleanup{second, {}, false};
    if (auto s = exiftool_strip(tmp, second, kind, &diag); !s) return failed(s.error());
    fs::rename(second, tmp, ec);
    if (ec) return failed(to_boost(ec));
    again = inspect_files({tmp}, &diag);
    if (!again) return failed(again.error());
  }
  const Inspection& after = again.value()[0];
  if (after.problem) {
    diag.detail = "the clean copy does not read back: " + after.detail;
    return failed(make_error_code(errc::scrub_failed));
  }
  if (after.kind != kind) {
    diag.detail = "the clean copy is not a " + std::string(kind_name(kind)) + " file any more";
    return failed(make_error_code(errc::scrub_failed));
  }
  if (!after.findings.empty()) {
    diag.detail = "metadata is left after scrubbing: " + after.findings.front().key;
    return failed(make_error_code(errc::scrub_failed));
  }
  // The copy takes the original's permissions, reaches the disk, and only
  // then replaces it.
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0) ::chmod(tmp.c_str(), st.st_mode & 07777);
  {
    UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
      return failed(boost::system::error_code(errno, boost::system::generic_category()));
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) return failed(to_boost(ec));
  if (auto s = sync_dir(file.parent_path()); !s) return failed(s.error());
  r.scrubbed = true;
  r.original = digest.value();
}

}  // namespace tz::scrub
