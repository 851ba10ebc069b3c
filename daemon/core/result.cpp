#include "core/result.h"

namespace tz {
namespace {

struct Entry {
  errc code;
  const char* name;
  const char* message;
};

constexpr Entry kEntries[] = {
    {errc::bad_publisher_id, "bad_publisher_id",
     "not a valid publisher ID (mistyped? its checksum does not match)"},
    {errc::unknown_id_version, "unknown_id_version", "publisher ID of an unknown version"},
    {errc::bad_key_file, "bad_key_file", "not a valid Tamizdat key file"},
    {errc::unknown_key_version, "unknown_key_version", "key file of an unknown version"},
    {errc::wrong_passphrase, "wrong_passphrase",
     "wrong passphrase, or the key file was modified"},
    {errc::key_exists, "key_exists", "a key file already exists there; refusing to overwrite it"},
    {errc::no_passphrase, "no_passphrase",
     "no terminal to ask for a passphrase; use --passphrase-file"},
    {errc::passphrase_mismatch, "passphrase_mismatch", "the passphrases did not match"},
    {errc::empty_passphrase, "empty_passphrase",
     "empty passphrase (use --insecure-no-passphrase to store a key unprotected)"},
    {errc::crypto_failure, "crypto_failure", "cryptographic library failure"},
    {errc::malformed_envelope, "malformed_envelope", "malformed signed envelope"},
    {errc::unknown_kind, "unknown_kind", "signed object of an unexpected kind"},
    {errc::bad_signature, "bad_signature", "bad signature"},
    {errc::wrong_publisher, "wrong_publisher", "signed by another publisher than expected"},
    {errc::oversized, "oversized", "larger than the allowed limit"},
    {errc::malformed_manifest, "malformed_manifest", "malformed manifest"},
    {errc::unknown_version, "unknown_version", "manifest of an unknown version"},
    {errc::unsafe_path, "unsafe_path", "unsafe path"},
    {errc::too_many_files, "too_many_files", "too many files"},
    {errc::malformed_head, "malformed_head", "malformed channel head"},
    {errc::malformed_dht_item, "malformed_dht_item", "malformed DHT item"},
    {errc::bad_link, "bad_link", "not a publisher ID or a bundle magnet link"},
    {errc::head_mismatch, "head_mismatch", "channel head does not match the torrent or DHT item carrying it"},
    {errc::stale_head, "stale_head", "channel head is not newer than the one held"},
    {errc::equivocation, "equivocation", "a different channel head with the same sequence number"},
    {errc::not_in_head, "not_in_head", "the channel head does not list this bundle"},
    {errc::bundle_mismatch, "bundle_mismatch", "bundle does not match its manifest or channel head"},
    {errc::no_such_bundle, "no_such_bundle", "no such bundle on this node"},
    {errc::storage_failed, "storage_failed", "the disk failed the download repeatedly"},
    {errc::bad_host, "bad_host", "Host header names no origin of this gateway"},
    {errc::bad_target, "bad_target", "request target not understood by this gateway"},
    {errc::no_such_page, "no_such_page", "no such page on this gateway"},
    {errc::gateway_off, "gateway_off", "the daemon's reader gateway is off"},
    {errc::denied, "denied", "on this node's denylist"},
    {errc::too_many_followed, "too_many_followed", "this node follows as many publishers as max_followed allows"},
    {errc::over_quota, "over_quota", "it does not fit the disk quota"},
    {errc::not_kept, "not_kept", "the publisher's keep rule leaves it out"},
    {errc::metadata_found, "metadata_found", "it holds identifying metadata"},
    {errc::cannot_inspect, "cannot_inspect", "Tamizdat cannot check this format for identifying metadata"},
    {errc::bad_media, "bad_media", "the media file is corrupt or truncated"},
    {errc::scrub_failed, "scrub_failed", "removing the metadata failed"},
    {errc::bad_proof, "bad_proof", "the provenance proof does not match"},
    {errc::no_manifest, "no_manifest", "no manifest: not a bundle folder"},
    {errc::file_missing, "file_missing", "file missing"},
    {errc::extra_file, "extra_file", "file not listed in the manifest"},
    {errc::file_changed, "file_changed", "file differs from the signed manifest"},
    {errc::not_regular_file, "not_regular_file", "not a regular file"},
    {errc::empty_bundle, "empty_bundle", "no files to put in a bundle"},
    {errc::torrent_mismatch, "torrent_mismatch", "torrent does not match the bundle"},
    {errc::bad_archive, "bad_archive", "bad archive"},
    {errc::destination_exists, "destination_exists", "destination already exists"},
    {errc::output_inside_bundle, "output_inside_bundle",
     "the output file would be inside the bundle folder, which would then no longer verify"},
};

const Entry* find(int v) {
  for (const auto& e : kEntries) {
    if (static_cast<int>(e.code) == v) return &e;
  }
  return nullptr;
}

// boost::system::error_category has a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tamizdat"; }
  std::string message(int v) const override {
    const Entry* e = find(v);
    return e != nullptr ? e->message : "unknown tamizdat error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& tamizdat_category() noexcept {
  static const Category category;
  return category;
}

std::string error_name(const boost::system::error_code& ec) {
  if (ec.category() == tamizdat_category()) {
    const Entry* e = find(ec.value());
    if (e != nullptr) return e->name;
  }
  if (ec.category() == boost::system::generic_category() ||
      ec.category() == boost::system::system_category()) {
    return "io_error";
  }
  return ec.category().name();
}

}  // namespace tz
