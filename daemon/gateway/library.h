// What the reader gateway asks of the node: the channels and bundles it
// holds, and for one bundle whose signed manifest has been verified, where its
// files are and which of their bytes have passed their hash check. The node
// implements it (node/gateway_source.cpp); gateway tests use a fake. Every
// call is made on the daemon's io thread and must return quickly.
#pragma once

#include "core/ids.h"
#include "core/keys.h"
#include "core/manifest.h"
#include "core/result.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tz::gateway {

// One bundle as the gateway serves it: its manifest was verified against the
// publisher's key and the bundle's torrent, so its file list, sizes and media
// types are the publisher's.
struct ServedBundle {
  PublicKey publisher;
  Sha256 id{};
  std::shared_ptr<const VerifiedManifest> manifest;
  // The bundle's folder: manifest file `path` is at folder / path.
  std::filesystem::path folder;
  // Every file has been verified from disk. When false the bundle is still
  // downloading and only bytes Library::readable() vouches for may be sent.
  bool complete = false;
};

// A bundle as the home page lists it.
struct BundleSummary {
  Sha256 id{};
  std::string title;            // from the signed head (or manifest); publisher-chosen text
  std::int64_t created = 0;     // the manifest's creation time, seconds since the epoch (0: unknown)
  std::uint64_t size = 0;       // bytes in all
  std::uint64_t downloaded = 0; // bytes that passed their hash check
  std::string state;            // "verified", "downloading", "failed" or "listed" (in the head, not held)
  std::string error;            // why it failed, when state is "failed"
  // What its signed manifest says of its media: "scrubbed", "checked",
  // "kept" or "unstated" (core/manifest.h media_status); "" when not known
  // (not held yet, or not read yet).
  std::string media;
};

struct ChannelSummary {
  PublicKey publisher;
  bool own = false;       // this node publishes it
  bool followed = false;
  std::uint64_t head_seq = 0;  // 0: no head held yet
  std::vector<BundleSummary> bundles;  // newest first
};

struct NodeSummary {
  std::uint32_t peers = 0;
  std::uint32_t dht_nodes = 0;
  std::uint32_t transfers = 0;  // bundles downloading
};

// What a reader typed into the home page's field led to.
struct Opened {
  enum class Kind {
    channel,  // a publisher ID, now followed
    bundle,   // a bundle link, now being fetched (or already held)
  };
  Kind kind = Kind::channel;
  std::optional<PublicKey> publisher;  // for a bundle: when the link names it
  std::optional<Sha256> bundle_id;     // for a bundle: when the link has it
};

class Library {
 public:
  virtual ~Library() = default;
  // Followed and own channels, each with its bundles.
  [[nodiscard]] virtual Result<std::vector<ChannelSummary>> channels() = 0;
  [[nodiscard]] virtual NodeSummary node_status() = 0;
  // Bundle `id` of `publisher` if the node holds it with a verified manifest
  // (downloaded, or downloading past its manifest), else nullptr. A bundle of
  // another publisher is nullptr too.
  [[nodiscard]] virtual std::shared_ptr<const ServedBundle> bundle(const PublicKey& publisher, const Sha256& id) = 0;
  // What the node knows of bundle `id` of `publisher` when bundle() gave
  // nullptr: a bundle being fetched (before its manifest is verified) or
  // one that failed. Nullopt when the node knows nothing of it.
  [[nodiscard]] virtual std::optional<BundleSummary> find(const PublicKey& publisher, const Sha256& id) = 0;
  // For a bundle that is not complete: how many bytes of manifest file
  // `file` (index into its files), starting at `offset`, have passed their
  // hash check, counting at most `max`. For a complete bundle: max, clamped
  // to the file's end.
  [[nodiscard]] virtual std::uint64_t readable(const ServedBundle& b, std::size_t file, std::uint64_t offset,
                                               std::uint64_t max) = 0;
  // Asks for bytes [offset, offset + length) of `file` before anything else.
  virtual void want(const ServedBundle& b, std::size_t file, std::uint64_t offset, std::uint64_t length) = 0;
  // Follows a publisher ID, or starts fetching a bundle link, as the reader
  // typed it. Fails with the parser's error for anything else.
  [[nodiscard]] virtual Result<Opened> open(std::string_view text) = 0;
};

}  // namespace tz::gateway
