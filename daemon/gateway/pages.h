// The HTML the gateway writes itself: the home page (channels, bundles, the
// field to follow or open, a status line), the status page, the file list
// of a bundle without an entry point, and error pages. Plain HTML with one
// inline style sheet: no script, no external resource, readable on a phone
// and with JavaScript off. Every string that came from outside (titles,
// paths, what a reader typed) is escaped here. Pure; safe from any thread.
#pragma once

#include "gateway/library.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tz::gateway {

// What every page needs to know about the gateway it is served by.
struct PageContext {
  std::uint16_t port = 0;  // the gateway's port, for links to content origins
  // The home page's field must send this back (see Server): other pages and
  // sites cannot read it, so they cannot make the node follow or fetch.
  std::string token;
};

// Text made safe to place in HTML element content and quoted attributes.
[[nodiscard]] std::string html_escape(std::string_view text);
// A relative path percent-encoded for an href: every byte but unreserved
// characters (RFC 3986) and '/' becomes %XX.
[[nodiscard]] std::string url_path_escape(std::string_view path);
// "1.5 MiB", "512 B".
[[nodiscard]] std::string format_size(std::uint64_t bytes);
// "2026-12-01 14:05 UTC"; "unknown" for 0.
[[nodiscard]] std::string format_time(std::int64_t seconds_since_epoch);

// "localhost:PORT" (or "localhost" when PORT is 80).
[[nodiscard]] std::string home_host(std::uint16_t port);
// "<publisher-id>.localhost:PORT" (or without ":80").
[[nodiscard]] std::string content_host(const PublicKey& publisher, std::uint16_t port);
// "http://<publisher-id>.localhost:PORT/<bundle-id>/": where a bundle opens.
[[nodiscard]] std::string bundle_url(const PublicKey& publisher, const Sha256& id, std::uint16_t port);
// The id attributes the home page gives a channel and a bundle, for links
// that land on them ("/#ch-<publisher-id>").
[[nodiscard]] std::string channel_anchor(const PublicKey& publisher);
[[nodiscard]] std::string bundle_anchor(const Sha256& id);

// The home page. `notice` (may be empty) is shown above the channels: what
// the reader's last use of the field did; never text from a request. Each
// verified bundle's line says in words what its media status is; nothing
// is said for any other bundle, nor for a status this build does not know.
[[nodiscard]] std::string home_page(const std::vector<ChannelSummary>& channels, const NodeSummary& node,
                                    const PageContext& ctx, std::string_view notice = {});
[[nodiscard]] std::string status_page(const NodeSummary& node, const PageContext& ctx);
// The files of a bundle that names no entry point, each linked relatively,
// with the bundle's media status in words and each file the manifest marks
// scrubbed marked so.
[[nodiscard]] std::string file_list_page(const ServedBundle& bundle);
// The page shown for a bundle being fetched whose manifest is not verified
// yet: its progress, and a refresh every 5 s (no script needed).
[[nodiscard]] std::string fetching_page(const BundleSummary& bundle, const PageContext& ctx);
// A short page for an error status: a heading, one sentence and a link home.
[[nodiscard]] std::string error_page(unsigned status, std::string_view reason, std::string_view detail,
                                     const PageContext& ctx);

}  // namespace tz::gateway
