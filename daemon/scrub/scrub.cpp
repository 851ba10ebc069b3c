#include "scrub/scrub.h"

#include "core/files.h"
#include "scrub/exiv2_fields.h"
#include "scrub/pdf.h"
#include "scrub/run.h"

#include <exiv2/exiv2.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <set>
#include <span>
#include <thread>

namespace tz::scrub {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kTempPrefix = "scrub-";
constexpr std::uint64_t kMaxInMemoryImage = 1ull << 30;  // libexiv2 works on a copy in memory

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

// Writes `bytes` to the new file `path` (never an existing one), unsynced.
Result<void> write_new_file(const fs::path& path, std::span<const std::uint8_t> bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return boost::system::error_code(errno, boost::system::generic_category());
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return boost::system::error_code(errno, boost::system::generic_category());
    }
    done += static_cast<std::size_t>(n);
  }
  return success();
}

// libexiv2 rewrites the metadata of an image held in memory; the picture's
// bytes are copied, never decoded.
Result<void> exiv2_strip(const fs::path& in, const fs::path& out, Diag* diag) {
  BOOST_OUTCOME_TRY(bytes, read_file_bounded(in, kMaxInMemoryImage));
  try {
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
    // Synced with the other copies before any replaces its original.
    const std::span<const std::uint8_t> clean(data.pData_, static_cast<std::size_t>(data.size_));
    BOOST_OUTCOME_TRY(write_new_file(out, clean));
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

// Calls fn(relative path, entry, status) for everything below `dir` but
// folders and the top-level `.tamizdat/`; symlinks are not followed.
template <class Fn>
Result<void> walk(const fs::path& dir, Fn&& fn) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return to_boost(ec);
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return to_boost(ec);
    if (it.depth() == 0 && it->path().filename() == kManifestDir) {
      it.disable_recursion_pending();
      continue;
    }
    const fs::file_status st = it->symlink_status(ec);
    if (ec) return to_boost(ec);
    if (fs::is_directory(st)) continue;
    fn(it->path().lexically_relative(dir).generic_string(), *it, st);
  }
  return success();
}

}  // namespace

void remove_scrub_temps(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir / std::string(kManifestDir), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(kTempPrefix) && fs::is_regular_file(it->symlink_status(ec))) fs::remove(it->path(), ec);
  }
}

Result<std::vector<std::string>> list_files(const fs::path& dir) {
  std::vector<std::string> out;
  BOOST_OUTCOME_TRY(walk(dir, [&](std::string rel, const fs::directory_entry&, fs::file_status st) {
    if (fs::is_regular_file(st)) out.push_back(std::move(rel));
  }));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<NameFlag> judge_path(std::string_view path) {
  std::vector<NameFlag> flags;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const bool last = slash == std::string_view::npos;
    const std::string_view part = path.substr(start, last ? std::string_view::npos : slash - start);
    for (auto& f : judge_name(part, last ? EntryKind::file : EntryKind::folder)) {
      if (std::find(flags.begin(), flags.end(), f) == flags.end()) flags.push_back(std::move(f));
    }
    if (last) break;
    start = slash + 1;
  }
  return flags;
}

Result<std::vector<FileReport>> inspect_folder(const fs::path& dir, Diag* diag) {
  std::vector<FileReport> reports;
  std::vector<fs::path> to_inspect;
  std::vector<std::size_t> index;
  BOOST_OUTCOME_TRY(walk(dir, [&](std::string rel, const fs::directory_entry& e, fs::file_status st) {
    FileReport r;
    r.path = std::move(rel);
    r.name_flags = judge_path(r.path);
    std::error_code ec;
    if (!fs::is_regular_file(st)) {
      r.found.problem = errc::not_regular_file;
      r.found.detail = fs::is_symlink(st) ? "a symbolic link (bundles cannot hold them)"
                                          : "a device, socket or pipe (bundles cannot hold them)";
    } else if (e.file_size(ec) == 0 && !ec) {
      // Nothing in it, so nothing to give away (exiftool calls it an error).
      r.found.kind = Kind::text;
      r.found.format = "empty";
    } else {
      index.push_back(reports.size());
      to_inspect.push_back(e.path());
    }
    reports.push_back(std::move(r));
  }));
  BOOST_OUTCOME_TRY(found, inspect_files(to_inspect, diag));
  for (std::size_t i = 0; i < found.size(); ++i) {
    Inspection& in = found[i];
    // A PDF is read by libqpdf, which also looks where exiftool does not
    // (earlier revisions, pictures inside, annotations, attachments).
    if (in.kind == Kind::pdf && !in.problem) {
      Diag d;
      auto pdf_found = pdf::inspect(to_inspect[i], &d);
      if (pdf_found) {
        in.findings = std::move(pdf_found).value();
      } else {
        in.findings.clear();
        in.problem = pdf_found.error() == errc::bad_media ? errc::bad_media : errc::cannot_inspect;
        in.detail = d.detail.empty() ? pdf_found.error().message() : d.detail;
      }
    }
    reports[index[i]].found = std::move(in);
  }
  std::sort(reports.begin(), reports.end(), [](const FileReport& a, const FileReport& b) { return a.path < b.path; });
  return reports;
}

namespace {

void set_error(FileReport& r, const boost::system::error_code& ec, const Diag& diag) {
  r.error = ec.category() == tamizdat_category() ? static_cast<errc>(ec.value()) : errc::scrub_failed;
  r.error_detail = diag.detail.empty() ? ec.message() : diag.detail;
}

void set_error(FileReport& r, errc e, std::string detail) {
  r.error = e;
  r.error_detail = std::move(detail);
}

// Writes a clean copy of the report's file to `tmp` with the tool for its kind.
Result<void> clean_copy(const fs::path& file, const fs::path& tmp, const Inspection& found, Diag* diag) {
  switch (found.kind) {
    case Kind::jpeg:
    case Kind::webp:
    case Kind::tiff:
      return exiv2_strip(file, tmp, diag);
    case Kind::png:
    case Kind::gif:
    case Kind::heif:
      return exiftool_strip(file, tmp, found.kind, diag);
    case Kind::mp4:
    case Kind::matroska:
    case Kind::mp3:
    case Kind::ogg:
    case Kind::flac:
    case Kind::wav:
    case Kind::avi:
      return remux(file, tmp, found, diag);
    case Kind::pdf:
      return pdf::scrub(file, tmp, diag);
    default:
      return fail(errc::scrub_failed, diag, {},
                  "Tamizdat cannot remove metadata from " + std::string(kind_name(found.kind)) +
                      " files; edit it by hand, leave the file out, or publish with --keep-metadata");
  }
}

// Inspects the copies of `jobs` in one exiftool run; `ok[i]` says whether
// copy i came out clean. A failure of the run fails every job.
struct Job {
  FileReport* report;
  fs::path file, tmp;
  Sha256 digest{};
};

std::vector<std::optional<Inspection>> inspect_copies(std::vector<Job>& jobs) {
  std::vector<fs::path> paths;
  for (const auto& j : jobs) paths.push_back(j.tmp);
  Diag diag;
  // Our own tools wrote these: metadata is what is in question, not damage
  // (the remux was checked stream by stream already).
  auto found = inspect_files(paths, &diag, Depth::metadata_only);
  std::vector<std::optional<Inspection>> out(jobs.size());
  if (!found) {
    for (auto& j : jobs) set_error(*j.report, found.error(), diag);
    return out;
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) out[i] = std::move(found.value()[i]);
  return out;
}

}  // namespace

void scrub_files(const fs::path& dir, std::vector<FileReport>& reports, bool digests) {
  std::error_code ec;
  const fs::path meta_dir = dir / std::string(kManifestDir);
  bool made_dir = false;
  std::vector<Job> jobs;
  struct Cleanup {
    std::vector<Job>* jobs;
    fs::path meta_dir;
    bool* made_dir;
    ~Cleanup() {
      std::error_code e;
      for (const auto& j : *jobs) fs::remove(j.tmp, e);
      if (*made_dir) fs::remove(meta_dir, e);  // only when empty
    }
  } cleanup{&jobs, meta_dir, &made_dir};

  // 1. A clean copy of every file that holds something, on every core: the
  //    images in this process (libexiv2), the rest in child processes.
  for (auto& r : reports) {
    if (r.scrubbed || r.found.problem || r.error || r.found.findings.empty()) continue;
    if (!made_dir && !fs::exists(meta_dir)) {
      made_dir = fs::create_directory(meta_dir, ec);
      if (ec) {
        set_error(r, to_boost(ec), {});
        continue;
      }
    }
    jobs.push_back(Job{&r, dir / r.path, temp_path(dir, dir / r.path)});
  }
  if (jobs.empty()) return;
  // libexiv2's XMP toolkit keeps global state (set up with a lock), and its
  // log level is global too: both set before any thread starts.
  init_xmp_once();
  Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);
  std::vector<char> made(jobs.size(), 0);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      Job& j = jobs[i];
      FileReport& r = *j.report;
      if (digests) {
        auto digest = sha256_of_file(j.file);
        if (!digest) {
          set_error(r, digest.error(), {});
          continue;
        }
        j.digest = digest.value();
      }
      Diag diag;
      if (auto c = clean_copy(j.file, j.tmp, r.found, &diag); !c) {
        set_error(r, c.error(), diag);
        std::error_code e;
        fs::remove(j.tmp, e);
        continue;
      }
      made[i] = 1;
    }
  };
  {
    const std::size_t n = std::min<std::size_t>(jobs.size(), std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }
  {
    std::vector<Job> kept;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (made[i] != 0) kept.push_back(std::move(jobs[i]));
    }
    jobs = std::move(kept);
  }
  if (jobs.empty()) return;

  // 2. Check every copy as the originals were checked. libexiv2 leaves what
  //    it does not know (maker segments, trailers) to a second pass by
  //    exiftool, checked again.
  auto after = inspect_copies(jobs);
  std::vector<std::size_t> again;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Kind k = jobs[i].report->found.kind;
    if (after[i] && !after[i]->problem && !after[i]->findings.empty() &&
        (k == Kind::jpeg || k == Kind::webp || k == Kind::tiff)) {
      Diag diag;
      const fs::path second = temp_path(dir, jobs[i].file);
      auto s = exiftool_strip(jobs[i].tmp, second, k, &diag);
      if (s) fs::rename(second, jobs[i].tmp, ec);
      if (!s || ec) {
        fs::remove(second, ec);
        set_error(*jobs[i].report, errc::scrub_failed, "exiftool's second pass failed: " + diag.detail);
        after[i].reset();
        continue;
      }
      again.push_back(i);
    }
  }
  if (!again.empty()) {
    std::vector<Job> second_jobs;
    for (auto i : again) second_jobs.push_back(jobs[i]);
    auto second = inspect_copies(second_jobs);
    for (std::size_t n = 0; n < again.size(); ++n) after[again[n]] = std::move(second[n]);
  }

  // 3. Replace each original whose copy came out clean: every copy reaches
  //    the disk (one syncfs for all of them, not an fsync each), then the
  //    renames, then each folder that holds a renamed file is synced.
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    FileReport& r = *jobs[i].report;
    if (r.error) continue;
    if (!after[i]) {
      set_error(r, errc::scrub_failed, "the clean copy could not be checked");
      continue;
    }
    const Inspection& a = *after[i];
    if (a.problem) {
      set_error(r, errc::scrub_failed, "the clean copy does not read back: " + a.detail);
      continue;
    }
    if (a.kind != r.found.kind) {
      set_error(r, errc::scrub_failed, "the clean copy is not a " + std::string(kind_name(r.found.kind)) +
                                           " file any more");
      continue;
    }
    if (!a.findings.empty()) {
      set_error(r, errc::scrub_failed, "metadata is left after scrubbing: " + a.findings.front().key);
      continue;
    }
    // The copy takes the original's permissions.
    struct stat st {};
    if (::stat(jobs[i].file.c_str(), &st) == 0) ::chmod(jobs[i].tmp.c_str(), st.st_mode & 07777);
    ready.push_back(i);
  }
  if (ready.empty()) return;
  {
    UniqueFd fd(::open(meta_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::syncfs(fd.get()) != 0) {
      const boost::system::error_code ec2(errno, boost::system::generic_category());
      for (auto i : ready) set_error(*jobs[i].report, ec2, {});
      return;
    }
  }
  std::set<fs::path> folders;
  for (auto i : ready) {
    FileReport& r = *jobs[i].report;
    fs::rename(jobs[i].tmp, jobs[i].file, ec);
    if (ec) {
      set_error(r, to_boost(ec), {});
      continue;
    }
    folders.insert(jobs[i].file.parent_path());
    r.scrubbed = true;
    if (digests) r.original = jobs[i].digest;
  }
  for (const auto& f : folders) {
    if (auto s = sync_dir(f); !s) {
      // Replaced, but the renames may not survive a power cut: say so.
      for (auto i : ready) {
        if (jobs[i].file.parent_path() == f && jobs[i].report->scrubbed) set_error(*jobs[i].report, s.error(), {});
      }
    }
  }
}

}  // namespace tz::scrub
