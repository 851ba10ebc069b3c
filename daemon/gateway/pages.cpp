#include "gateway/pages.h"

#include "core/hex.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace tz::gateway {
namespace {

// One small style sheet for every page: system fonts, a readable measure,
// large enough touch targets, dark mode from the browser's preference.
constexpr std::string_view kStyle = R"(
:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.45}
body{max-width:48rem;margin:0 auto;padding:0.75rem}
h1{font-size:1.4rem;margin:0.2rem 0}
h2{font-size:1.1rem;margin:1.4rem 0 0.2rem}
.id{font-family:monospace;font-size:0.85rem;word-break:break-all}
.muted{opacity:0.75;font-size:0.9rem}
.notice{border:1px solid;padding:0.5rem;margin:0.5rem 0}
form{display:flex;gap:0.4rem;flex-wrap:wrap;margin:0.6rem 0}
input[type=text]{flex:1 1 16rem;min-width:0;padding:0.45rem;font-size:1rem}
button{padding:0.45rem 0.9rem;font-size:1rem}
ul.bundles{list-style:none;padding:0;margin:0}
ul.bundles li{padding:0.45rem 0;border-bottom:1px solid rgba(128,128,128,0.35)}
ul.bundles a{font-size:1.05rem}
)";

void page_start(std::string& out, std::string_view title) {
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"referrer\" content=\"no-referrer\">\n<title>";
  out += html_escape(title);
  out += "</title>\n<style>";
  out += kStyle;
  out += "</style></head>\n<body>\n";
}

void page_end(std::string& out) { out += "</body></html>\n"; }

std::string status_line(const NodeSummary& node) {
  auto plural = [](std::uint32_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  return plural(node.peers, "peer", "peers") + " \u00b7 " + plural(node.dht_nodes, "DHT node", "DHT nodes") +
         " \u00b7 " + plural(node.transfers, "transfer", "transfers") + " in progress";
}

// What a reader is told about a bundle's media status (core/manifest.h);
// nothing for a status this build does not know, "" (not known) included.
std::string_view media_words(std::string_view media) {
  if (media == kMediaScrubbed) return "media scrubbed by the publisher";
  if (media == kMediaChecked) return "checked: no identifying metadata";
  if (media == kMediaKept) return "published with its metadata (the publisher\u2019s choice)";
  if (media == kMediaUnstated) return "metadata not checked (older Tamizdat or other software)";
  return {};
}

void bundle_item(std::string& out, const ChannelSummary& ch, const BundleSummary& b, const PageContext& ctx) {
  out += "<li id=\"" + bundle_anchor(b.id) + "\">";
  const std::string title = b.title.empty() ? "(untitled)" : b.title;
  if (b.state == "verified") {
    out += "<a dir=\"auto\" href=\"" + html_escape(bundle_url(ch.publisher, b.id, ctx.port)) + "\">" +
           html_escape(title) + "</a>";
  } else {
    out += "<span dir=\"auto\">" + html_escape(title) + "</span>";
  }
  out += "<br><span class=\"muted\">" + format_time(b.created) + " \u00b7 " + format_size(b.size) + " \u00b7 ";
  if (b.state == "downloading") {
    const std::uint64_t pct = b.size == 0 ? 0 : b.downloaded * 100 / b.size;
    out += "downloading, " + std::to_string(pct) + "%";
  } else if (b.state == "failed") {
    out += "failed: " + html_escape(b.error);
  } else if (b.state == "listed") {
    out += "not fetched";
  } else {
    out += html_escape(b.state);
    // Only for a bundle held: the status comes from its verified manifest.
    const std::string_view words = b.state == "verified" ? media_words(b.media) : std::string_view();
    if (!words.empty()) out += " \u00b7 " + html_escape(words);
  }
  out += "</span></li>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string url_path_escape(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    const bool keep = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~' || c == '/';
    if (keep) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  std::size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
  return buf;
}

std::string format_time(std::int64_t seconds_since_epoch) {
  if (seconds_since_epoch <= 0) return "unknown";
  const auto t = static_cast<std::time_t>(seconds_since_epoch);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return "unknown";
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string home_host(std::uint16_t port) {
  return port == 80 ? std::string("localhost") : "localhost:" + std::to_string(port);
}

std::string content_host(const PublicKey& publisher, std::uint16_t port) {
  return encode_publisher_id(publisher) + "." + home_host(port);
}

std::string bundle_url(const PublicKey& publisher, const Sha256& id, std::uint16_t port) {
  return "http://" + content_host(publisher, port) + "/" + to_hex(id) + "/";
}

std::string channel_anchor(const PublicKey& publisher) { return "ch-" + encode_publisher_id(publisher); }

std::string bundle_anchor(const Sha256& id) { return "b-" + to_hex(id); }

std::string home_page(const std::vector<ChannelSummary>& channels, const NodeSummary& node, const PageContext& ctx,
                      std::string_view notice) {
  std::string out;
  page_start(out, "Tamizdat");
  out += "<h1>Tamizdat</h1>\n<p class=\"muted\">" + status_line(node) +
         " \u00b7 <a href=\"/status\">status</a></p>\n";
  out += "<form method=\"get\" action=\"/open\">\n";
  out += "<input type=\"text\" name=\"q\" required autocomplete=\"off\" spellcheck=\"false\" "
         "aria-label=\"Publisher ID or link\" placeholder=\"Publisher ID or link\">\n";
  out += "<input type=\"hidden\" name=\"t\" value=\"" + html_escape(ctx.token) + "\">\n";
  out += "<button type=\"submit\">Follow / open</button>\n</form>\n";
  if (!notice.empty()) out += "<p class=\"notice\">" + html_escape(notice) + "</p>\n";
  if (channels.empty()) {
    out += "<p>No channels yet. Paste a publisher ID above to follow it, or a link to open it.</p>\n";
  }
  for (const ChannelSummary& ch : channels) {
    const std::string id = encode_publisher_id(ch.publisher);
    out += "<section id=\"" + channel_anchor(ch.publisher) + "\">\n<h2>";
    out += ch.own ? "Your channel" : ch.followed ? "Channel" : "Not followed";
    out += "</h2>\n<p class=\"id\">" + id + "</p>\n";
    if (ch.head_seq == 0) {
      out += "<p class=\"muted\">Looking for this channel on the network\u2026</p>\n";
    } else {
      out += "<p class=\"muted\">Channel update " + std::to_string(ch.head_seq) + "</p>\n";
    }
    if (!ch.bundles.empty()) {
      out += "<ul class=\"bundles\">\n";
      for (const BundleSummary& b : ch.bundles) bundle_item(out, ch, b, ctx);
      out += "</ul>\n";
    }
    out += "</section>\n";
  }
  page_end(out);
  return out;
}

std::string status_page(const NodeSummary& node, const PageContext& ctx) {
  (void)ctx;
  std::string out;
  page_start(out, "Tamizdat status");
  out += "<h1>Status</h1>\n<ul>\n";
  out += "<li>Connected peers: " + std::to_string(node.peers) + "</li>\n";
  out += "<li>DHT nodes known: " + std::to_string(node.dht_nodes) + "</li>\n";
  out += "<li>Bundles downloading: " + std::to_string(node.transfers) + "</li>\n";
  out += "</ul>\n<p><a href=\"/\">Home</a></p>\n";
  page_end(out);
  return out;
}

std::string file_list_page(const ServedBundle& bundle) {
  const ManifestData& m = bundle.manifest->data();
  std::string out;
  page_start(out, m.title.empty() ? "Files" : m.title);
  out += "<h1 dir=\"auto\">" + html_escape(m.title.empty() ? "(untitled)" : m.title) + "</h1>\n";
  out += "<p class=\"muted\">" + format_time(m.created) + " \u00b7 signed by <span class=\"id\">" +
         encode_publisher_id(bundle.publisher) + "</span> \u00b7 " + html_escape(media_words(media_status(m))) +
         "</p>\n<ul class=\"bundles\">\n";
  for (const ManifestFile& f : m.files) {
    out += "<li><a href=\"" + html_escape(url_path_escape(f.path.str())) + "\">" + html_escape(f.path.str()) +
           "</a> <span class=\"muted\">" + format_size(f.size) + (f.scrubbed ? " \u00b7 scrubbed" : "") +
           "</span></li>\n";
  }
  out += "</ul>\n";
  page_end(out);
  return out;
}

std::string fetching_page(const BundleSummary& bundle, const PageContext& ctx) {
  std::string out;
  page_start(out, "Fetching\u2026");
  // Looks again by itself until the bundle can be read.
  out.insert(out.find("<title>"), "<meta http-equiv=\"refresh\" content=\"5\">\n");
  out += "<h1>Fetching \u201c" + html_escape(bundle.title.empty() ? "(untitled)" : bundle.title) + "\u201d</h1>\n";
  out += "<p>Its publisher's signature has not been checked yet, so nothing of it is shown. ";
  if (bundle.size > 0) {
    out += format_size(bundle.downloaded) + " of " + format_size(bundle.size) + " so far. ";
  }
  out += "This page looks again every few seconds.</p>\n";
  out += "<p><a href=\"http://" + home_host(ctx.port) + "/\">Tamizdat home</a></p>\n";
  page_end(out);
  return out;
}

std::string error_page(unsigned status, std::string_view reason, std::string_view detail, const PageContext& ctx) {
  std::string out;
  page_start(out, std::to_string(status) + " " + std::string(reason));
  out += "<h1>" + std::to_string(status) + " " + html_escape(reason) + "</h1>\n<p>" + html_escape(detail) + "</p>\n";
  out += "<p><a href=\"http://" + home_host(ctx.port) + "/\">Tamizdat home</a></p>\n";
  page_end(out);
  return out;
}

}  // namespace tz::gateway
