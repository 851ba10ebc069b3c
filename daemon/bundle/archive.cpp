#include "bundle/archive.h"

#include "core/files.h"
#include "core/hex.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <functional>
#include <map>
#include <memory>
#include <random>

namespace tz::bundle {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kCopyChunk = 1u << 20;

boost::system::error_code errno_code(int e = errno) { return {e, boost::system::generic_category()}; }

std::string error_text(archive* a) {
  const char* s = archive_error_string(a);
  return s != nullptr ? s : "unreadable archive";
}

struct ArchiveDeleter {
  void operator()(archive* a) const {
    if (a != nullptr) archive_free(a);  // archive_free also closes
  }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// --- export -----------------------------------------------------------------

Result<void> write_entry(archive* a, const std::string& name, std::uint64_t size, std::int64_t mtime,
                         const std::function<Result<void>(archive*)>& body) {
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_mtime(e.get(), mtime, 0);
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return errc::bad_archive;
  BOOST_OUTCOME_TRY(body(a));
  if (archive_write_finish_entry(a) != ARCHIVE_OK) return errc::bad_archive;
  return success();
}

Result<void> write_bytes(archive* a, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const auto n = archive_write_data(a, bytes.data(), std::min(bytes.size(), kCopyChunk));
    if (n <= 0) return errc::bad_archive;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return success();
}

Result<void> copy_file(archive* a, const fs::path& file, std::uint64_t size, const std::string& name, Diag* diag) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return fail(errc::file_missing, diag, name, "cannot open");
  std::vector<std::uint8_t> buf(kCopyChunk);
  std::uint64_t left = size;
  while (left > 0) {
    const ssize_t n = ::read(fd.get(), buf.data(), std::min<std::uint64_t>(left, buf.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(errc::file_changed, diag, name, "file shrank while being exported");
    BOOST_OUTCOME_TRY(write_bytes(a, {buf.data(), static_cast<std::size_t>(n)}));
    left -= static_cast<std::uint64_t>(n);
  }
  return success();
}

// --- import -----------------------------------------------------------------

// Removes the temporary folder unless released.
class TempDir {
 public:
  explicit TempDir(fs::path p) : m_path(std::move(p)) {}
  ~TempDir() {
    if (!m_path.empty()) {
      std::error_code ec;
      fs::remove_all(m_path, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return m_path; }
  void release() { m_path.clear(); }

 private:
  fs::path m_path;
};

Result<std::vector<std::uint8_t>> read_small_entry(archive* a, archive_entry* e, std::uint64_t max,
                                                   const std::string& name, Diag* diag) {
  if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) {
    return fail(errc::bad_archive, diag, name, "entry has no size");
  }
  const auto size = static_cast<std::uint64_t>(archive_entry_size(e));
  if (size > max) return fail(errc::oversized, diag, name, "entry larger than allowed");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(size));
  std::size_t got = 0;
  while (got < out.size()) {
    const auto n = archive_read_data(a, out.data() + got, out.size() - got);
    if (n <= 0) return fail(errc::bad_archive, diag, name, "truncated archive");
    got += static_cast<std::size_t>(n);
  }
  return out;
}

Result<void> make_parents(const fs::path& root, const SafeRelPath& p) {
  // Every component is created by us inside `root`, and we never create
  // links, so nothing here can lead outside it.
  fs::path cur = root;
  const std::string& s = p.str();
  std::size_t start = 0;
  for (std::size_t slash = s.find('/'); slash != std::string::npos; slash = s.find('/', start)) {
    cur /= s.substr(start, slash - start);
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return errno_code();
    struct stat st {};
    if (::lstat(cur.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return errc::bad_archive;
    start = slash + 1;
  }
  return success();
}

Result<void> extract_file(archive* a, const fs::path& target, std::uint64_t size, const std::string& name,
                          Diag* diag) {
  UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (fd.get() < 0) return errno_code();
  std::vector<std::uint8_t> buf(kCopyChunk);
  std::uint64_t left = size;
  while (left > 0) {
    const auto n = archive_read_data(a, buf.data(), std::min<std::uint64_t>(left, buf.size()));
    if (n <= 0) return fail(errc::bad_archive, diag, name, "truncated archive");
    std::size_t off = 0;
    while (off < static_cast<std::size_t>(n)) {
      const ssize_t w = ::write(fd.get(), buf.data() + off, static_cast<std::size_t>(n) - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno_code();
      off += static_cast<std::size_t>(w);
    }
    left -= static_cast<std::uint64_t>(n);
  }
  if (::fsync(fd.get()) != 0) return errno_code();
  if (::close(fd.release()) != 0) return errno_code();
  return success();
}

// Staging folders of imports into `dest` are named "." + its name +
// ".import-" + 6 characters from mkdtemp. An import holds an exclusive flock
// on its staging folder while it runs; the kernel drops the lock when the
// process dies, however it dies. So a staging folder of `dest` that can be
// locked was left by a killed import, and is removed. (Two imports into the
// same destination at the same moment could remove each other's folder in
// the instant between mkdtemp and flock; the loser fails, nothing is lost.)
std::string staging_prefix(const fs::path& abs_dest) { return "." + abs_dest.filename().string() + ".import-"; }

void remove_dead_staging(const fs::path& abs_dest) {
  const std::string prefix = staging_prefix(abs_dest);
  std::error_code ec;
  std::vector<fs::path> dead;
  for (fs::directory_iterator it(abs_dest.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() != prefix.size() + 6 || !name.starts_with(prefix) ||
        !std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0; })) {
      continue;
    }
    // O_NOFOLLOW: a symlink by that name is never followed, nor removed.
    UniqueFd fd(::open(it->path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() >= 0 && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) dead.push_back(it->path());
  }
  for (const auto& d : dead) fs::remove_all(d, ec);
}

bool is_bundle_id(std::string_view s) {
  std::vector<std::uint8_t> raw;
  return s.size() == 64 && from_hex(s, raw) &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<VerifiedBundle> import_from(archive* a, const fs::path& dest, const VerifyOptions& options, Diag* diag) {
  std::error_code ec;
  const fs::path abs_dest = fs::absolute(dest).lexically_normal();
  const fs::path parent = abs_dest.parent_path();
  remove_dead_staging(abs_dest);
  if (fs::exists(fs::symlink_status(dest, ec))) {
    return fail(errc::destination_exists, diag, dest.string());
  }
  std::string tmpl = (parent / (staging_prefix(abs_dest) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return errno_code();
  TempDir tmp{fs::path(tmpl)};
  // Held until the import ends: the folder is in use (remove_dead_staging).
  UniqueFd lock(::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (lock.get() < 0 || ::flock(lock.get(), LOCK_EX) != 0) return errno_code();

  archive_entry* e = nullptr;
  const auto next = [&]() -> int { return archive_read_next_header(a, &e); };

  // 1. The torrent.
  if (next() != ARCHIVE_OK) return fail(errc::bad_archive, diag, {}, "not a tar archive, or it is empty");
  const std::string torrent_name_in = archive_entry_pathname(e) != nullptr ? archive_entry_pathname(e) : "";
  if (archive_entry_filetype(e) != AE_IFREG || !torrent_name_in.ends_with(".torrent") ||
      !is_bundle_id(std::string_view(torrent_name_in).substr(0, torrent_name_in.size() - 8))) {
    return fail(errc::bad_archive, diag, torrent_name_in, "the first entry must be <bundle-id>.torrent");
  }
  const std::string id = torrent_name_in.substr(0, 64);
  BOOST_OUTCOME_TRY(torrent, read_small_entry(a, e, kMaxTorrentBytes, torrent_name_in, diag));

  // 2. The manifest (folder entries may come first).
  int r = 0;
  while ((r = next()) == ARCHIVE_OK && archive_entry_filetype(e) == AE_IFDIR) {
  }
  const std::string manifest_name = id + "/" + std::string(kManifestPath);
  if (r != ARCHIVE_OK || archive_entry_filetype(e) != AE_IFREG || archive_entry_pathname(e) == nullptr ||
      manifest_name != archive_entry_pathname(e)) {
    return fail(errc::bad_archive, diag, manifest_name, "the manifest must follow the torrent");
  }
  BOOST_OUTCOME_TRY(manifest_bytes, read_small_entry(a, e, kMaxManifestBytes, manifest_name, diag));
  const PublicKey* expected = options.publisher ? &*options.publisher : nullptr;
  BOOST_OUTCOME_TRY(manifest, verify_manifest(manifest_bytes, expected, diag));

  std::map<std::string, const ManifestFile*> pending;
  std::uint64_t total = 0;
  for (const auto& f : manifest.data().files) {
    pending[f.path.str()] = &f;
    total += f.size;
  }
  struct statvfs vfs {};
  if (::statvfs(parent.c_str(), &vfs) == 0 &&
      static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize < total + manifest_bytes.size()) {
    return fail(errc::oversized, diag, {}, "not enough free space for the bundle");
  }
  BOOST_OUTCOME_TRY(make_parents(tmp.path(), SafeRelPath::parse(kManifestPath).value()));
  BOOST_OUTCOME_TRY(write_file_atomic(tmp.path() / kManifestPath, manifest_bytes, 0644, Replace::never,
                                      errc::bad_archive));

  // 3. Content files: each listed once, regular, exactly its signed size.
  const std::string prefix = id + "/";
  while ((r = next()) == ARCHIVE_OK) {
    const char* raw_name = archive_entry_pathname(e);
    std::string name = raw_name != nullptr ? raw_name : "";
    const auto type = archive_entry_filetype(e);
    if (!name.starts_with(prefix)) return fail(errc::bad_archive, diag, name, "entry outside the bundle folder");
    std::string rel = name.substr(prefix.size());
    if (type == AE_IFDIR && rel.ends_with('/')) rel.pop_back();
    if (type == AE_IFDIR && rel.empty()) continue;
    std::string why;
    auto path = SafeRelPath::parse(rel, &why);
    if (!path) return fail(errc::unsafe_path, diag, name, why);
    if (type == AE_IFDIR) continue;
    if (type != AE_IFREG || archive_entry_hardlink(e) != nullptr || archive_entry_symlink(e) != nullptr) {
      return fail(errc::not_regular_file, diag, rel, "links, devices, pipes and sockets are refused");
    }
    if (archive_entry_sparse_count(e) > 0) return fail(errc::bad_archive, diag, rel, "sparse entries are refused");
    const auto it = pending.find(rel);
    if (it == pending.end()) {
      const bool seen = std::any_of(manifest.data().files.begin(), manifest.data().files.end(),
                                    [&](const ManifestFile& f) { return f.path.str() == rel; });
      return fail(seen ? errc::bad_archive : errc::extra_file, diag, rel,
                  seen ? "file appears twice in the archive" : "not listed in the manifest");
    }
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0 ||
        static_cast<std::uint64_t>(archive_entry_size(e)) != it->second->size) {
      return fail(archive_entry_size(e) > 0 && static_cast<std::uint64_t>(archive_entry_size(e)) > it->second->size
                      ? errc::oversized
                      : errc::file_changed,
                  diag, rel, "size differs from the signed size " + std::to_string(it->second->size));
    }
    BOOST_OUTCOME_TRY(make_parents(tmp.path(), path.value()));
    BOOST_OUTCOME_TRY(extract_file(a, tmp.path() / rel, it->second->size, rel, diag));
    pending.erase(it);
  }
  if (r != ARCHIVE_EOF) return fail(errc::bad_archive, diag, {}, error_text(a));
  if (!pending.empty()) {
    return fail(errc::file_missing, diag, pending.begin()->first, "listed in the manifest but not in the archive");
  }

  // 4. Every byte against the manifest, and the carried torrent against ours.
  BOOST_OUTCOME_TRY(bundle, verify_bundle(tmp.path(), options, diag));
  if (bundle.torrent.bytes != torrent) {
    return fail(errc::torrent_mismatch, diag, torrent_name_in, "the archive's torrent is not this bundle's");
  }
  if (bundle_id(bundle) != id) {
    return fail(errc::bad_archive, diag, torrent_name_in, "the archive is named after another bundle");
  }
  // mkdtemp made it 0700; a bundle folder is as readable as any other folder.
  if (::chmod(tmp.path().c_str(), 0755) != 0) return errno_code();
  // Every file is synced as it is written, but not the folders that name
  // them: without this a power cut after the rename could leave the
  // destination with files missing.
  BOOST_OUTCOME_TRY(sync_tree(tmp.path()));
  if (::renameat2(AT_FDCWD, tmp.path().c_str(), AT_FDCWD, abs_dest.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return fail(errc::destination_exists, diag, dest.string(), "the destination appeared meanwhile");
    return errno_code();
  }
  tmp.release();
  BOOST_OUTCOME_TRY(sync_dir(parent));
  return bundle;
}

ArchivePtr new_reader() {
  ArchivePtr a(archive_read_new());
  // Plain tar only (ustar, pax, GNU): no compression, no other formats.
  archive_read_support_format_tar(a.get());
  return a;
}

}  // namespace

Result<VerifiedBundle> export_bundle(const fs::path& dir, const fs::path& out, const VerifyOptions& options,
                                     Diag* diag) {
  BOOST_OUTCOME_TRY(bundle, verify_bundle(dir, options, diag));
  const std::string id = bundle_id(bundle);
  const std::int64_t mtime = std::max<std::int64_t>(0, bundle.manifest.data().created);

  std::random_device rd;
  fs::path tmp = out;
  tmp += ".tmp-" + std::to_string(rd());
  ArchivePtr a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_add_filter_none(a.get());
  if (archive_write_open_filename(a.get(), tmp.c_str()) != ARCHIVE_OK) {
    return fail(errc::bad_archive, diag, out.string(), error_text(a.get()));
  }
  const auto cleanup = [&] {
    a.reset();
    std::error_code ec;
    fs::remove(tmp, ec);
  };
  auto r = [&]() -> Result<void> {
    BOOST_OUTCOME_TRY(write_entry(a.get(), id + ".torrent", bundle.torrent.bytes.size(), mtime,
                                  [&](archive* w) { return write_bytes(w, bundle.torrent.bytes); }));
    const auto& env = bundle.manifest.envelope();
    BOOST_OUTCOME_TRY(write_entry(a.get(), id + "/" + std::string(kManifestPath), env.size(), mtime,
                                  [&](archive* w) { return write_bytes(w, env); }));
    for (const auto& f : bundle.manifest.data().files) {
      BOOST_OUTCOME_TRY(write_entry(a.get(), id + "/" + f.path.str(), f.size, mtime, [&](archive* w) {
        return copy_file(w, dir / f.path.str(), f.size, f.path.str(), diag);
      }));
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) return errc::bad_archive;
    return success();
  }();
  if (!r) {
    cleanup();
    return r.error();
  }
  a.reset();
  // fsync the archive before it takes the final name.
  {
    UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
      cleanup();
      return errno_code();
    }
  }
  if (::rename(tmp.c_str(), out.c_str()) != 0) {
    auto ec = errno_code();
    cleanup();
    return ec;
  }
  BOOST_OUTCOME_TRY(sync_dir(fs::absolute(out).parent_path()));
  return bundle;
}

Result<VerifiedBundle> import_bundle(const fs::path& path, const fs::path& dest, const VerifyOptions& options,
                                     Diag* diag) {
  ArchivePtr a = new_reader();
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(errc::bad_archive, diag, path.string(), error_text(a.get()));
  }
  return import_from(a.get(), dest, options, diag);
}

Result<VerifiedBundle> import_bundle_from_memory(std::span<const std::uint8_t> bytes, const fs::path& dest,
                                                 const VerifyOptions& options, Diag* diag) {
  ArchivePtr a = new_reader();
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return fail(errc::bad_archive, diag, {}, error_text(a.get()));
  }
  return import_from(a.get(), dest, options, diag);
}

}  // namespace tz::bundle
