#include "core/manifest.h"

#include "core/media_type.h"
#include "core/proto_util.h"
#include "tamizdat/v1/manifest.pb.h"

#include <algorithm>
#include <set>

namespace tz {
namespace {

bool is_valid_language(std::string_view tag) {
  if (tag.size() > kMaxLanguageBytes) return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Messages without map fields serialise in field-number order: one byte form.
std::string serialize_manifest(const tamizdat::v1::Manifest& pb) { return pb.SerializeAsString(); }

}  // namespace

std::string_view media_status(const ManifestData& m) noexcept {
  switch (m.metadata) {
    case MetadataStatement::checked: {
      const bool any = std::any_of(m.files.begin(), m.files.end(), [](const ManifestFile& f) { return f.scrubbed; });
      return any ? kMediaScrubbed : kMediaChecked;
    }
    case MetadataStatement::kept:
      return kMediaKept;
    case MetadataStatement::unstated:
      break;
  }
  return kMediaUnstated;
}

Result<void> validate_manifest(const ManifestData& m, Diag* diag) {
  if (m.title.size() > kMaxTitleBytes || !is_valid_utf8(m.title)) {
    return fail(errc::malformed_manifest, diag, {}, "title is not UTF-8 or longer than 1024 bytes");
  }
  if (!is_valid_language(m.language)) {
    return fail(errc::malformed_manifest, diag, {}, "language is not a BCP 47 tag");
  }
  if (m.files.empty()) return fail(errc::empty_bundle, diag, {}, "the manifest lists no files");
  if (m.files.size() > kMaxManifestFiles) {
    return fail(errc::too_many_files, diag, {}, "more than 65536 files");
  }
  std::uint64_t total = 0;
  std::set<std::string> folded;
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    const ManifestFile& f = m.files[i];
    const std::string& p = f.path.str();
    if (f.path.first_component() == kManifestDir) {
      return fail(errc::unsafe_path, diag, p, "content files may not live under .tamizdat/");
    }
    if (i > 0 && !(m.files[i - 1].path.str() < p)) {
      return fail(errc::malformed_manifest, diag, p, "files are not sorted, or a path repeats");
    }
    if (!folded.insert(f.path.folded()).second) {
      return fail(errc::unsafe_path, diag, p, "two paths differ only in letter case");
    }
    if (f.size > kMaxFileSize) return fail(errc::oversized, diag, p, "file larger than 1 TiB");
    total += f.size;
    if (total > kMaxBundleSize) return fail(errc::oversized, diag, p, "bundle larger than 4 TiB");
    if (!is_valid_media_type(f.media_type)) {
      return fail(errc::malformed_manifest, diag, p, "invalid media type");
    }
    if (f.pieces_root.has_value() != (f.size > 0)) {
      return fail(errc::malformed_manifest, diag, p, "pieces root missing, or given for an empty file");
    }
    if (f.provenance && !f.scrubbed) {
      return fail(errc::malformed_manifest, diag, p, "provenance given for a file that was not scrubbed");
    }
  }
  // A file whose path is also a folder of another path ("a" and "a/b"): look
  // up each file's parent folders among the files. O(n * depth * log n).
  for (const ManifestFile& f : m.files) {
    const std::string& p = f.path.str();
    for (auto slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
      const std::string_view parent(p.data(), slash);
      const auto it = std::lower_bound(m.files.begin(), m.files.end(), parent,
                                       [](const ManifestFile& x, std::string_view v) { return x.path.str() < v; });
      if (it != m.files.end() && it->path.str() == parent) {
        return fail(errc::malformed_manifest, diag, it->path.str(), "a path is both a file and a folder");
      }
    }
  }
  if (m.entry.has_value()) {
    const auto it = std::lower_bound(m.files.begin(), m.files.end(), *m.entry,
                                     [](const ManifestFile& f, const SafeRelPath& p) { return f.path < p; });
    const bool listed = it != m.files.end() && it->path == *m.entry;
    if (!listed) return fail(errc::malformed_manifest, diag, m.entry->str(), "entry point is not a listed file");
  }
  return success();
}

Result<std::vector<std::uint8_t>> sign_manifest(const ManifestData& m, const SecretKey& key, Diag* diag) {
  detail::quiet_protobuf_logs();
  if (key.public_key() != m.publisher) return errc::wrong_publisher;
  BOOST_OUTCOME_TRY(validate_manifest(m, diag));
  tamizdat::v1::Manifest pb;
  pb.set_version(kManifestVersion);
  pb.set_publisher(m.publisher.bytes.data(), m.publisher.bytes.size());
  pb.set_created(m.created);
  pb.set_title(m.title);
  pb.set_language(m.language);
  if (m.entry) pb.set_entry(m.entry->str());
  for (const auto& f : m.files) {
    auto* e = pb.add_files();
    e->set_path(f.path.str());
    e->set_size(f.size);
    e->set_media_type(f.media_type);
    if (f.pieces_root) e->set_pieces_root(f.pieces_root->data(), f.pieces_root->size());
    e->set_scrubbed(f.scrubbed);
    if (f.provenance) {
      auto* p = e->mutable_provenance();
      p->set_salt(f.provenance->salt.data(), f.provenance->salt.size());
      p->set_commitment(f.provenance->commitment.data(), f.provenance->commitment.size());
    }
  }
  pb.set_metadata(static_cast<tamizdat::v1::MetadataStatement>(m.metadata));
  const std::string payload = serialize_manifest(pb);
  auto env = seal_envelope(EnvelopeKind::manifest,
                           {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, key);
  if (env.size() > kMaxManifestBytes) return fail(errc::oversized, diag, {}, "manifest larger than 16 MiB");
  return env;
}

std::uint64_t VerifiedManifest::total_size() const noexcept {
  std::uint64_t t = 0;
  for (const auto& f : m_data.files) t += f.size;
  return t;
}

Result<VerifiedManifest> verify_manifest(std::span<const std::uint8_t> envelope, const PublicKey* expected,
                                         Diag* diag) {
  BOOST_OUTCOME_TRY(opened, open_envelope(envelope, EnvelopeKind::manifest, kMaxManifestBytes, expected));
  // Only now, with the signature checked, are the payload bytes parsed.
  detail::quiet_protobuf_logs();
  tamizdat::v1::Manifest pb;
  const auto& payload = opened.payload();
  if (!pb.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return fail(errc::malformed_manifest, diag, {}, "payload is not a Manifest");
  }
  if (pb.version() != kManifestVersion) {
    return fail(errc::unknown_version, diag, {}, "manifest version " + std::to_string(pb.version()));
  }
  VerifiedManifest out;
  ManifestData& m = out.m_data;
  if (!PublicKey::from_bytes({reinterpret_cast<const std::uint8_t*>(pb.publisher().data()), pb.publisher().size()},
                             m.publisher)) {
    return fail(errc::malformed_manifest, diag, {}, "publisher is not 32 bytes");
  }
  if (m.publisher != opened.signer()) {
    return fail(errc::wrong_publisher, diag, {}, "manifest names a publisher other than its signer");
  }
  if (pb.files_size() > static_cast<int>(kMaxManifestFiles)) {
    return fail(errc::too_many_files, diag, {}, "more than 65536 files");
  }
  m.created = pb.created();
  m.title = pb.title();
  m.language = pb.language();
  switch (pb.metadata()) {
    case tamizdat::v1::METADATA_CHECKED: m.metadata = MetadataStatement::checked; break;
    case tamizdat::v1::METADATA_KEPT: m.metadata = MetadataStatement::kept; break;
    default: m.metadata = MetadataStatement::unstated; break;
  }
  std::string why;
  if (!pb.entry().empty()) {
    auto entry = SafeRelPath::parse(pb.entry(), &why);
    if (!entry) return fail(errc::unsafe_path, diag, pb.entry(), "entry point: " + why);
    m.entry = std::move(entry).value();
  }
  m.files.reserve(static_cast<std::size_t>(pb.files_size()));
  for (const auto& e : pb.files()) {
    auto path = SafeRelPath::parse(e.path(), &why);
    if (!path) return fail(errc::unsafe_path, diag, e.path(), why);
    ManifestFile f{std::move(path).value(), e.size(), e.media_type(), std::nullopt};
    if (!e.pieces_root().empty()) {
      if (e.pieces_root().size() != 32) {
        return fail(errc::malformed_manifest, diag, e.path(), "pieces root is not 32 bytes");
      }
      Sha256 root{};
      std::copy(e.pieces_root().begin(), e.pieces_root().end(), root.begin());
      f.pieces_root = root;
    }
    f.scrubbed = e.scrubbed();
    if (e.has_provenance()) {
      const auto& p = e.provenance();
      if (p.salt().size() != 16 || p.commitment().size() != 32) {
        return fail(errc::malformed_manifest, diag, e.path(), "provenance salt is not 16 bytes or commitment not 32");
      }
      ProvenanceSeal seal;
      std::copy(p.salt().begin(), p.salt().end(), seal.salt.begin());
      std::copy(p.commitment().begin(), p.commitment().end(), seal.commitment.begin());
      f.provenance = seal;
    }
    m.files.push_back(std::move(f));
  }
  BOOST_OUTCOME_TRY(validate_manifest(m, diag));
  out.m_envelope.assign(envelope.begin(), envelope.end());
  return out;
}

}  // namespace tz
