// Error handling for all of Tamizdat: `tz::Result<T>` is a value or a
// `boost::system::error_code`, the same type libtorrent, Asio and Beast report
// through, so a failure keeps one type from the socket to the CLI's exit code.
// Project failures are `tz::errc` values in the "tamizdat" category; system
// failures keep their own category (errno values from the generic category).
// Pure; safe from any thread.
#pragma once

#include <boost/outcome/result.hpp>
#include <boost/outcome/try.hpp>
#include <boost/system/error_code.hpp>

#include <string>
#include <system_error>
#include <type_traits>

namespace tz {

template <class T>
using Result = boost::outcome_v2::result<T, boost::system::error_code>;

using boost::outcome_v2::success;

// One value per case a caller handles differently. The numbers are stable:
// scripts see them through `--json` output as `error` names, never numbers.
enum class errc {
  // Publisher IDs and links.
  bad_publisher_id = 1,   // wrong length, bad character, or checksum mismatch
  unknown_id_version,     // well-formed ID of a version this build does not know
  // Keys and key files.
  bad_key_file,           // truncated, wrong magic, or fields out of range
  unknown_key_version,    // key file of a newer format
  wrong_passphrase,       // decryption failed: wrong passphrase or tampered file
  key_exists,             // refusing to overwrite an existing key file
  no_passphrase,          // no terminal and no passphrase file
  passphrase_mismatch,    // the two entries differed
  empty_passphrase,       // an empty passphrase was given
  crypto_failure,         // libsodium reported an internal failure
  // Envelopes and manifests.
  malformed_envelope,     // not a canonical Envelope encoding
  unknown_kind,           // envelope kind not expected here
  bad_signature,          // signature does not verify over the payload
  wrong_publisher,        // verified, but by a key other than the expected one
  oversized,              // input larger than its documented limit
  malformed_manifest,     // signed, but not a valid Manifest
  unknown_version,        // manifest version this build does not know
  unsafe_path,            // path with .., absolute part, NUL, control char...
  too_many_files,         // more entries than the documented limit
  // Bundles on disk.
  no_manifest,            // DIR/.tamizdat/manifest does not exist
  file_missing,           // listed in the manifest, absent on disk
  extra_file,             // on disk (or in an archive), not in the manifest
  file_changed,           // size or content differs from the manifest
  not_regular_file,       // symlink, device, fifo or socket where a file belongs
  empty_bundle,           // no content file to publish
  torrent_mismatch,       // a carried torrent differs from the bundle's own
  // Archives.
  bad_archive,            // unreadable tar, or entries out of the expected order
  destination_exists,     // import target already exists
  output_inside_bundle,   // an output file would land inside the bundle it describes
  // Channels (appended: values keep their numbers).
  malformed_head,         // signed, but not a valid channel head
  malformed_dht_item,     // a DHT item value not of the documented form
  // The network (issue 4).
  bad_link,               // neither a publisher ID nor a bundle magnet link
  head_mismatch,          // a head torrent or DHT item that does not fit the head it carries
  stale_head,             // a head not newer than the one held (rollback or replay)
  equivocation,           // a different head with the seq of the one held
  not_in_head,            // a bundle the channel head does not list
  bundle_mismatch,        // a fetched bundle whose torrent differs from its manifest or head entry
  no_such_bundle,         // no bundle with that ID on this node
  storage_failed,         // the disk failed a download again and again (full, read-only, removed)
  // The reader gateway (issue 5).
  bad_host,               // Host header names no origin of this gateway (DNS rebinding, wrong port...)
  bad_target,             // request target not of the gateway's grammar (absolute-form, bad bundle ID, bad escape)
  no_such_page,           // a well-formed target naming none of the gateway's own pages
  gateway_off,            // the daemon runs without its reader gateway (--no-gateway)
  denied,                 // the operator's denylist names this publisher or bundle
  too_many_followed,      // following one more publisher would pass max_followed
  // Storage policy (issue 6).
  over_quota,             // the bundle does not fit the node's or the publisher's disk quota
  not_kept,               // the publisher's keep rule (newest N, newer than D days) leaves it out
  // Source safety (issue 7).
  metadata_found,         // a file to publish still holds identifying metadata (GPS, serial, author...)
  cannot_inspect,         // a file of a format Tamizdat cannot check for metadata (unknown means unsafe)
  bad_media,              // a media file its format's tools cannot read (corrupt or truncated)
  scrub_failed,           // removing metadata failed, or left some behind; the original is untouched
  bad_proof,              // a provenance proof that is malformed or does not match
};

const boost::system::error_category& tamizdat_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), tamizdat_category()};
}

// Stable short name of a project error ("bad_signature"), or the category's
// message for other errors. For `--json` output and logs.
std::string error_name(const boost::system::error_code& ec);

// Extra detail a caller may want with an error: which file, and why in words.
// Filled by functions that take a `Diag*`; never holds secrets.
struct Diag {
  std::string file;    // relative path inside a bundle or archive, if any
  std::string detail;  // one human sentence, if any
};

// A std::error_code from the standard library (std::filesystem) as the
// error_code Tamizdat reports: the same errno value, generic category.
inline boost::system::error_code to_boost(const std::error_code& ec) noexcept {
  return {ec.value(), boost::system::generic_category()};
}

// Sets `d` (when not null) and returns `e` as an error code, for one-line returns.
inline boost::system::error_code fail(errc e, Diag* d, std::string file = {},
                                      std::string detail = {}) {
  if (d != nullptr) {
    d->file = std::move(file);
    d->detail = std::move(detail);
  }
  return make_error_code(e);
}

}  // namespace tz

namespace boost::system {
template <>
struct is_error_code_enum<tz::errc> : std::true_type {};
}  // namespace boost::system
