#include "bundle/bundle.h"

#include "core/files.h"
#include "core/hex.h"
#include "core/media_type.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <thread>

namespace tz::bundle {
namespace fs = std::filesystem;
namespace {

struct DiskFile {
  SafeRelPath path;
  std::uint64_t size;
};

int thread_count(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Lists the regular files under `dir`, sorted, excluding `.tamizdat/manifest`.
// Everything else under `.tamizdat/` is an extra file: nothing may hide there.
Result<std::vector<DiskFile>> scan(const fs::path& dir, Diag* diag) {
  std::vector<DiskFile> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return to_boost(ec);
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return to_boost(ec);
    const fs::directory_entry& e = *it;
    const std::string rel = e.path().lexically_relative(dir).generic_string();
    const fs::file_status st = e.symlink_status(ec);
    if (ec) return to_boost(ec);
    std::string why;
    auto path = SafeRelPath::parse(rel, &why);
    if (!path) return fail(errc::unsafe_path, diag, rel, why);
    if (fs::is_directory(st)) {
      if (it.depth() + 1 >= static_cast<int>(kMaxPathDepth)) {
        return fail(errc::unsafe_path, diag, rel, "folders nested deeper than 32 levels");
      }
      continue;
    }
    if (!fs::is_regular_file(st)) {
      return fail(errc::not_regular_file, diag, rel,
                  fs::is_symlink(st) ? "symbolic links cannot be part of a bundle"
                                     : "devices, sockets and pipes cannot be part of a bundle");
    }
    if (rel == kManifestPath) continue;
    if (files.size() >= kMaxManifestFiles) return fail(errc::too_many_files, diag, rel, "more than 65536 files");
    const auto size = e.file_size(ec);
    if (ec) return to_boost(ec);
    files.push_back({std::move(path).value(), size});
  }
  std::sort(files.begin(), files.end(), [](const DiskFile& a, const DiskFile& b) { return a.path < b.path; });
  return files;
}

// Removes what a manifest write cut short left: write_file_atomic's
// temporary files ".tamizdat/manifest.tmp-" + digits, which a killed
// `bundle create` or `publish` leaves behind and which scan would refuse as
// files hidden under .tamizdat/. Only regular files of exactly that name.
void remove_manifest_temps(const fs::path& dir) {
  const std::string prefix = std::string(kManifestPath.substr(kManifestDir.size() + 1)) + ".tmp-";
  std::error_code ec;
  for (fs::directory_iterator it(dir / kManifestDir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > prefix.size() && name.starts_with(prefix) &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                    [](char c) { return c >= '0' && c <= '9'; }) &&
        fs::is_regular_file(it->symlink_status(ec))) {
      fs::remove(it->path(), ec);
    }
  }
}

std::string folder_title(const fs::path& dir) {
  const fs::path abs = fs::absolute(dir).lexically_normal();
  std::string name = abs.filename().string();
  if (name.empty()) name = abs.parent_path().filename().string();
  if (name.size() > kMaxTitleBytes || !is_valid_utf8(name)) return "Untitled";
  return name;
}

// Builds the torrent of a verified manifest and its content files' hashes.
// The manifest is hashed from the verified bytes in memory, not re-read.
Result<VerifiedBundle> finish(VerifiedManifest manifest, const std::vector<swarm::FileHashes>& hashes, int piece_size) {
  const auto& files = manifest.data().files;
  const swarm::FileHashes mh = swarm::hash_buffer(manifest.envelope(), piece_size);
  std::vector<swarm::TorrentFile> tfiles;
  tfiles.reserve(files.size() + 1);
  for (std::size_t i = 0; i < files.size(); ++i) tfiles.push_back({files[i].path, files[i].size, &hashes[i]});
  auto manifest_path = SafeRelPath::parse(kManifestPath);
  tfiles.push_back({manifest_path.value(), manifest.envelope().size(), &mh});
  BOOST_OUTCOME_TRY(torrent, swarm::build_torrent(torrent_name(manifest.envelope()), tfiles, piece_size));
  return VerifiedBundle{std::move(manifest), std::move(torrent), false};
}

struct ContentHashes {
  int piece_size;
  std::vector<swarm::FileHashes> files;
};

// Hashes the content files of `dir` with the piece size the protocol's rule
// gives for their sizes.
Result<ContentHashes> hash_content(const fs::path& dir, const std::vector<DiskFile>& files, int threads, Diag* diag) {
  std::vector<std::uint64_t> sizes;
  std::vector<swarm::HashInput> inputs;
  inputs.reserve(files.size());
  for (const auto& f : files) {
    sizes.push_back(f.size);
    inputs.push_back({dir / f.path.str(), f.size, f.path.str()});
  }
  const int piece_size = swarm::choose_piece_size(sizes);
  BOOST_OUTCOME_TRY(hashes, swarm::hash_files(inputs, piece_size, thread_count(threads), diag));
  return ContentHashes{piece_size, std::move(hashes)};
}

}  // namespace

std::string bundle_id(const VerifiedBundle& b) { return to_hex(b.torrent.info_hash_v2); }

std::string torrent_name(std::span<const std::uint8_t> manifest_envelope) {
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> h{};
  crypto_hash_sha256(h.data(), manifest_envelope.data(), manifest_envelope.size());
  return "tamizdat-" + to_hex(std::span(h).first(10));
}

Result<VerifiedBundle> create_bundle(const fs::path& dir, const SecretKey& key, const CreateOptions& options,
                                     Diag* diag) {
  if (!crypto_init()) return errc::crypto_failure;
  remove_manifest_temps(dir);
  BOOST_OUTCOME_TRY(files, scan(dir, diag));
  if (files.empty()) return fail(errc::empty_bundle, diag, {}, "the folder holds no files");

  ManifestData m;
  m.publisher = key.public_key();
  m.created = options.created != 0 ? options.created : static_cast<std::int64_t>(std::time(nullptr));
  m.title = options.title.value_or(folder_title(dir));
  m.language = options.language.value_or("");
  const std::string entry = options.entry.value_or("index.html");
  const bool has_entry = std::any_of(files.begin(), files.end(), [&](const auto& f) { return f.path.str() == entry; });
  if (has_entry) {
    m.entry = SafeRelPath::parse(entry).value();
  } else if (options.entry) {
    return fail(errc::malformed_manifest, diag, entry, "the entry point given is not a file of the bundle");
  }

  BOOST_OUTCOME_TRY(content, hash_content(dir, files, options.threads, diag));
  for (std::size_t i = 0; i < files.size(); ++i) {
    ManifestFile f{files[i].path, files[i].size, media_type_for(files[i].path.str()), content.files[i].root};
    if (const auto it = options.scrubbed.find(f.path.str()); it != options.scrubbed.end()) {
      f.scrubbed = true;
      f.provenance = it->second;
    }
    m.files.push_back(std::move(f));
  }
  m.metadata = options.metadata;

  // Keep an existing manifest that says exactly this (apart from its time),
  // so re-running create on an unchanged folder keeps its bundle ID.
  const fs::path manifest_file = dir / kManifestPath;
  if (auto old_bytes = read_file_bounded(manifest_file, kMaxManifestBytes)) {
    if (auto old = verify_manifest(old_bytes.value(), &m.publisher)) {
      // Bytes Tamizdat scrubbed before are still scrubbed bytes.
      const auto& old_files = old.value().data().files;
      for (ManifestFile& f : m.files) {
        if (options.scrubbed.count(f.path.str()) != 0) continue;
        const auto it = std::lower_bound(old_files.begin(), old_files.end(), f.path,
                                         [](const ManifestFile& x, const SafeRelPath& p) { return x.path < p; });
        if (it != old_files.end() && it->path == f.path && it->size == f.size && it->pieces_root == f.pieces_root) {
          f.scrubbed = it->scrubbed;
          f.provenance = it->provenance;
        }
      }
      ManifestData same = m;
      same.created = old.value().data().created;
      if (!options.created && same == old.value().data()) {
        BOOST_OUTCOME_TRY(b, finish(std::move(old).value(), content.files, content.piece_size));
        b.reused_manifest = true;
        return b;
      }
    }
  }

  BOOST_OUTCOME_TRY(envelope, sign_manifest(m, key, diag));
  std::error_code ec;
  fs::create_directory(dir / kManifestDir, ec);
  if (ec) return to_boost(ec);
  BOOST_OUTCOME_TRY(write_file_atomic(manifest_file, envelope, 0644, Replace::allow));
  // Re-read through the verifier: what is on disk is what gets published.
  BOOST_OUTCOME_TRY(verified, verify_manifest(envelope, &m.publisher, diag));
  return finish(std::move(verified), content.files, content.piece_size);
}

Result<VerifiedBundle> verify_bundle(const fs::path& dir, const VerifyOptions& options, Diag* diag) {
  const fs::path manifest_file = dir / kManifestPath;
  auto bytes = read_file_bounded(manifest_file, kMaxManifestBytes);
  if (!bytes) {
    if (bytes.error() == boost::system::errc::no_such_file_or_directory) {
      return fail(errc::no_manifest, diag, std::string(kManifestPath), "the folder has no manifest");
    }
    if (bytes.error() == make_error_code(errc::oversized)) {
      return fail(errc::oversized, diag, std::string(kManifestPath), "manifest larger than 16 MiB");
    }
    return fail(errc::no_manifest, diag, std::string(kManifestPath), bytes.error().message());
  }
  const PublicKey* expected = options.publisher ? &*options.publisher : nullptr;
  BOOST_OUTCOME_TRY(manifest, verify_manifest(bytes.value(), expected, diag));
  BOOST_OUTCOME_TRY(disk, scan(dir, diag));

  // Walk both sorted lists together; report the first difference by path.
  const auto& want = manifest.data().files;
  std::size_t i = 0, j = 0;
  while (i < want.size() || j < disk.size()) {
    if (j == disk.size() || (i < want.size() && want[i].path < disk[j].path)) {
      return fail(errc::file_missing, diag, want[i].path.str(), "listed in the manifest but not in the folder");
    }
    if (i == want.size() || disk[j].path < want[i].path) {
      return fail(errc::extra_file, diag, disk[j].path.str(), "in the folder but not in the manifest");
    }
    if (want[i].size != disk[j].size) {
      return fail(errc::file_changed, diag, want[i].path.str(),
                  "size is " + std::to_string(disk[j].size) + ", signed size " + std::to_string(want[i].size));
    }
    ++i;
    ++j;
  }

  // `disk` now holds exactly the manifest's paths and sizes.
  BOOST_OUTCOME_TRY(content, hash_content(dir, disk, options.threads, diag));
  for (std::size_t k = 0; k < want.size(); ++k) {
    if (content.files[k].root != want[k].pieces_root) {
      return fail(errc::file_changed, diag, want[k].path.str(), "content differs from the signed hash");
    }
  }
  return finish(std::move(manifest), content.files, content.piece_size);
}

}  // namespace tz::bundle
