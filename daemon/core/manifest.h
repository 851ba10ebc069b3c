// Manifests: the signed list of a bundle's files. ManifestData is what a
// publisher fills in; sign_manifest checks it and seals it in an envelope;
// verify_manifest is the only way to get a VerifiedManifest back from bytes
// (signature first, then parsing, then every field checked). Limits and
// byte-exact rules: docs/protocol.md ("Manifest"). Pure; safe from any thread.
#pragma once

#include "core/envelope.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/paths.h"
#include "core/result.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tz {

inline constexpr std::uint32_t kManifestVersion = 1;
inline constexpr std::size_t kMaxManifestBytes = 16u << 20;  // whole envelope
inline constexpr std::size_t kMaxManifestFiles = 65536;
inline constexpr std::uint64_t kMaxFileSize = 1ull << 40;     // 1 TiB
inline constexpr std::uint64_t kMaxBundleSize = 1ull << 42;   // 4 TiB
inline constexpr std::size_t kMaxTitleBytes = 1024;
inline constexpr std::size_t kMaxLanguageBytes = 35;
// The manifest's own place in a bundle; no content file may live under it.
inline constexpr std::string_view kManifestDir = ".tamizdat";
inline constexpr std::string_view kManifestPath = ".tamizdat/manifest";

using Sha256 = std::array<std::uint8_t, 32>;

// A sealed commitment to the original a scrubbed file came from
// (core/provenance.h makes and checks them).
struct ProvenanceSeal {
  std::array<std::uint8_t, 16> salt{};
  Sha256 commitment{};
  bool operator==(const ProvenanceSeal&) const = default;
};

// What the publisher's Tamizdat said about identifying metadata when it
// signed. Values a newer build defines read as `unstated`.
enum class MetadataStatement : std::uint8_t {
  unstated = 0,  // not checked (older Tamizdat, other software)
  checked = 1,   // every file checked; none held identifying metadata when signed
  kept = 2,      // the publisher published the files as they were (--keep-metadata)
};

// What a reader is told about a bundle's media, as a stable short name: the
// catalogue stores it, the gateway's pages turn it into words and its
// Tamizdat-Media header carries it, so these strings never change.
inline constexpr std::string_view kMediaScrubbed = "scrubbed";  // checked; metadata was removed from a file
inline constexpr std::string_view kMediaChecked = "checked";    // checked; nothing needed removing
inline constexpr std::string_view kMediaKept = "kept";          // signed with its metadata on purpose
inline constexpr std::string_view kMediaUnstated = "unstated";  // not checked (older Tamizdat, other software)

struct ManifestFile {
  SafeRelPath path;
  std::uint64_t size = 0;
  std::string media_type;
  std::optional<Sha256> pieces_root;  // absent exactly when size == 0
  bool scrubbed = false;                        // Tamizdat removed metadata from it before signing
  std::optional<ProvenanceSeal> provenance;     // only on scrubbed files
  bool operator==(const ManifestFile&) const = default;
};

struct ManifestData {
  PublicKey publisher;
  std::int64_t created = 0;
  std::string title;
  std::string language;
  std::optional<SafeRelPath> entry;
  std::vector<ManifestFile> files;  // sorted by path, bytewise
  MetadataStatement metadata = MetadataStatement::unstated;
  bool operator==(const ManifestData&) const = default;
};

// The media status of the bundle `m` describes: kMediaScrubbed when its
// statement is `checked` and at least one file is marked scrubbed,
// kMediaChecked when it is `checked` and none is, else kMediaKept or
// kMediaUnstated after the statement. Scrub marks under another statement
// do not make it "scrubbed": only `checked` says every file was looked at.
// Pure; the returned view points to a static string.
[[nodiscard]] std::string_view media_status(const ManifestData& m) noexcept;

// Checks every rule a manifest must follow (sizes, counts, sorted unique paths,
// no case-insensitive collisions, no file that is also a folder, nothing under
// .tamizdat/, entry listed, media types, UTF-8). Fails with
// errc::malformed_manifest, errc::unsafe_path, errc::too_many_files,
// errc::empty_bundle or errc::oversized, filling `diag` with the file and reason.
[[nodiscard]] Result<void> validate_manifest(const ManifestData& m, Diag* diag = nullptr);

// Validates `m`, serialises it and seals it with `key`, whose public key must
// equal m.publisher (errc::wrong_publisher otherwise). Returns envelope bytes.
[[nodiscard]] Result<std::vector<std::uint8_t>> sign_manifest(const ManifestData& m, const SecretKey& key,
                                                              Diag* diag = nullptr);

class VerifiedManifest {
 public:
  [[nodiscard]] const ManifestData& data() const noexcept { return m_data; }
  // The envelope bytes exactly as verified (what `.tamizdat/manifest` holds).
  [[nodiscard]] const std::vector<std::uint8_t>& envelope() const noexcept { return m_envelope; }
  [[nodiscard]] std::uint64_t total_size() const noexcept;

 private:
  friend Result<VerifiedManifest> verify_manifest(std::span<const std::uint8_t>, const PublicKey*, Diag*);
  VerifiedManifest() = default;
  ManifestData m_data;
  std::vector<std::uint8_t> m_envelope;
};

// Verifies envelope bytes as a manifest: the envelope (see open_envelope,
// with kMaxManifestBytes), then the payload is parsed and validated. Fails
// with the errors of open_envelope, errc::malformed_manifest,
// errc::unknown_version, errc::unsafe_path, errc::too_many_files,
// errc::empty_bundle (no files), errc::oversized, or
// errc::wrong_publisher (signer differs from `expected`, or from the
// manifest's own publisher field).
[[nodiscard]] Result<VerifiedManifest> verify_manifest(std::span<const std::uint8_t> envelope,
                                                       const PublicKey* expected = nullptr,
                                                       Diag* diag = nullptr);

}  // namespace tz
