// Rewriting references to renamed files in HTML and CSS, and carrying a
// rename plan out on disk.
//
// Why a scanner of our own and not an HTML parser library: what has to be
// found is every attribute of every tag as the HTML tokenizer sees it, with
// its exact byte positions, and the tokenizer is a small, fully specified
// state machine. Debian's libgumbo (0.10.1; upstream archived) does give
// positions, but it builds the whole tree: its tree builder drops tags
// (an <img> inside <select>, a stray <frame>), whose old names would then
// stay in the file, it cannot be instrumented by our fuzz build, and on
// deeply nested input it is quadratic (measured on this machine: 100,000
// nested <div> tags, 500 KB, took 28 s with error recording off and 23 GB
// of memory with it on). This scanner is linear, keeps nothing but the
// edits, and never changes a byte outside a path segment it resolved.
#include "scrub/names.h"

#include "core/files.h"
#include "core/hex.h"
#include "core/paths.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <map>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <tuple>
#include <unordered_map>

namespace tz::scrub {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool eq_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool starts_with_ci(std::string_view s, std::size_t pos, std::string_view prefix) {
  return pos <= s.size() && eq_ci(s.substr(pos, prefix.size()), prefix);
}

bool is_html_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Text decoded from a span of the source (character references, CSS
// escapes), each byte remembering the source bytes it came from, so an edit
// of decoded bytes can be made on the source. An identity mapping holds no
// copy.
class Mapped {
 public:
  // The source bytes [base, base + view.size()) themselves.
  static Mapped identity(std::string_view view, std::size_t base) {
    Mapped m;
    m.m_owned = false;
    m.m_view = view;
    m.m_base = base;
    return m;
  }
  void push(char c, std::size_t src_begin, std::size_t src_end) {
    m_text += c;
    m_begin.push_back(static_cast<std::uint32_t>(src_begin));
    m_end.push_back(static_cast<std::uint32_t>(src_end));
  }
  [[nodiscard]] std::string_view text() const { return m_owned ? std::string_view(m_text) : m_view; }
  [[nodiscard]] std::size_t src_begin(std::size_t i) const { return m_owned ? m_begin[i] : m_base + i; }
  [[nodiscard]] std::size_t src_end(std::size_t i) const { return m_owned ? m_end[i] : m_base + i + 1; }

 private:
  bool m_owned = true;
  std::string m_text;
  std::vector<std::uint32_t> m_begin, m_end;
  std::string_view m_view;  // when not owned: the source bytes
  std::size_t m_base = 0;
};

// Longest URL path (before ?query and #fragment) looked at: a bundle path
// is at most 1024 bytes, 3 bytes each when percent-encoded, and a character
// reference per byte is longer still, so 16 KiB leaves room for any real one.
constexpr std::size_t kMaxUrlPath = 16 * 1024;

struct Edit {
  std::size_t begin;
  std::size_t end;
  std::string replacement;
};

// What resolving needs: the renamed paths and the folder a document's
// relative references start from.
struct RenameIndex {
  std::unordered_map<std::string, std::string> new_leaf;  // old path -> new last component
};

struct Context {
  const RenameIndex* index = nullptr;
  std::vector<std::string> base;  // folder segments (old names)
  bool disabled = false;          // <base href> leads outside the bundle
};

std::string percent_decoded(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_single_dot(std::string_view seg) { return seg == "." || eq_ci(seg, "%2e"); }
bool is_double_dot(std::string_view seg) {
  return seg == ".." || eq_ci(seg, ".%2e") || eq_ci(seg, "%2e.") || eq_ci(seg, "%2e%2e");
}

// Resolves the URL m.text()[b, e) against ctx.base and, when `edits` is
// given, adds an edit for each path segment that names a renamed file or
// folder. Returns the segments of the path it resolves to (old names; with
// `document_last`, without the last segment, as for a base URL), or nothing
// when the URL leads outside the bundle: it has a scheme, starts with '/' or
// '\' (root-relative and scheme-relative), or climbs above the root.
std::optional<std::vector<std::string>> resolve_url(const Mapped& m, std::size_t b, std::size_t e,
                                                    const Context& ctx, bool document_last,
                                                    std::vector<Edit>* edits) {
  const std::string_view t = m.text();
  // The URL parser strips leading and trailing C0 controls and spaces, and
  // drops tabs and newlines anywhere.
  while (b < e && static_cast<unsigned char>(t[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(t[e - 1]) <= 0x20) --e;
  std::string s;
  std::vector<std::size_t> at;  // s[k] is t[at[k]]
  for (std::size_t i = b; i < e; ++i) {
    if (t[i] == '\t' || t[i] == '\n' || t[i] == '\r') continue;
    s += t[i];
    at.push_back(i);
  }
  if (!s.empty() && (s[0] == '/' || s[0] == '\\')) return std::nullopt;
  if (!s.empty() && is_alpha(s[0])) {
    std::size_t i = 1;
    while (i < s.size() && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) ++i;
    if (i < s.size() && s[i] == ':') return std::nullopt;  // has a scheme
  }
  const std::size_t end = std::min({s.find('?'), s.find('#'), s.size()});
  // No bundle path is this long, even percent-encoded; refusing longer ones
  // keeps the work per URL linear.
  if (end > kMaxUrlPath) return std::nullopt;

  std::vector<std::string> stack = ctx.base;
  // The path so far, segments joined by '/', and where each segment starts.
  std::string key;
  std::vector<std::size_t> starts;
  for (const auto& seg : stack) {
    starts.push_back(key.size());
    if (starts.size() > 1) key += '/';
    key += seg;
  }
  std::vector<Edit> found;
  std::size_t start = 0;
  while (start < end) {
    std::size_t stop = start;
    while (stop < end && s[stop] != '/' && s[stop] != '\\') ++stop;
    const std::string_view seg = std::string_view(s).substr(start, stop - start);
    const bool last = stop >= end;
    if (is_single_dot(seg)) {
      // the same folder
    } else if (is_double_dot(seg)) {
      if (stack.empty()) return std::nullopt;
      stack.pop_back();
      key.resize(starts.back());
      starts.pop_back();
    } else if (!(last && document_last)) {
      stack.push_back(percent_decoded(seg));
      starts.push_back(key.size());
      if (starts.size() > 1) key += '/';
      key += stack.back();
      if (!seg.empty() && ctx.index != nullptr) {
        const auto it = ctx.index->new_leaf.find(key);
        if (it != ctx.index->new_leaf.end()) {
          found.push_back({m.src_begin(at[start]), m.src_end(at[stop - 1]), it->second});
        }
      }
    }
    if (last) break;
    start = stop + 1;
  }
  if (edits != nullptr) {
    edits->insert(edits->end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }
  return stack;
}

// ---- HTML attribute values ---------------------------------------------------

// The attribute value source[b, e) with character references decoded. Only
// the references a URL may reasonably hold are known by name; an unknown one
// stays as written, so the segment holding it matches nothing.
Mapped decode_attribute(std::string_view source, std::size_t b, std::size_t e) {
  const std::string_view raw = source.substr(b, e - b);
  if (raw.find('&') == std::string_view::npos) return Mapped::identity(raw, b);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kNamed = {{
      {"amp;", "&"}, {"lt;", "<"}, {"gt;", ">"}, {"quot;", "\""}, {"apos;", "'"}, {"num;", "#"},
      {"quest;", "?"}, {"sol;", "/"}, {"percnt;", "%"}, {"period;", "."}, {"lowbar;", "_"},
      {"amp", "&"},  // legacy: without ';' when no letter, digit or '=' follows
  }};
  Mapped m;
  std::size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != '&') {
      m.push(raw[i], b + i, b + i + 1);
      ++i;
      continue;
    }
    std::string decoded;
    std::size_t len = 0;
    if (i + 1 < raw.size() && raw[i + 1] == '#') {
      std::size_t j = i + 2;
      const bool hex = j < raw.size() && (raw[j] == 'x' || raw[j] == 'X');
      if (hex) ++j;
      const std::size_t digits_start = j;
      std::uint32_t cp = 0;
      while (j < raw.size() && (hex ? hex_value(raw[j]) >= 0 : is_digit(raw[j]))) {
        cp = std::min<std::uint32_t>(cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(hex_value(raw[j])), 0x110000);
        ++j;
      }
      if (j > digits_start) {
        if (j < raw.size() && raw[j] == ';') ++j;
        append_utf8(decoded, cp);
        len = j - i;
      }
    } else {
      for (const auto& [name, value] : kNamed) {
        if (raw.substr(i + 1, name.size()) == name) {
          const std::size_t after = i + 1 + name.size();
          if (name.back() != ';' && after < raw.size() && (is_alnum(raw[after]) || raw[after] == '=')) continue;
          decoded = value;
          len = 1 + name.size();
          break;
        }
      }
    }
    if (len == 0) {
      m.push('&', b + i, b + i + 1);
      ++i;
      continue;
    }
    for (char c : decoded) m.push(c, b + i, b + i + len);
    i += len;
  }
  return m;
}

// ---- CSS --------------------------------------------------------------------

bool is_css_name_char(char c) {
  return is_alnum(c) || c == '-' || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// The contents of a CSS string or unquoted url, m.text()[b, e), with CSS
// escapes decoded, mapped to the source.
Mapped css_unescape(const Mapped& m, std::size_t b, std::size_t e) {
  const std::string_view t = m.text();
  Mapped out;
  std::size_t i = b;
  while (i < e) {
    if (t[i] != '\\') {
      out.push(t[i], m.src_begin(i), m.src_end(i));
      ++i;
      continue;
    }
    const std::size_t start = i;
    ++i;
    if (i >= e) break;
    if (t[i] == '\n' || t[i] == '\r' || t[i] == '\f') {  // line continuation in a string
      if (t[i] == '\r' && i + 1 < e && t[i + 1] == '\n') ++i;
      ++i;
      continue;
    }
    if (hex_value(t[i]) >= 0) {
      std::uint32_t cp = 0;
      std::size_t n = 0;
      while (i < e && n < 6 && hex_value(t[i]) >= 0) {
        cp = cp * 16 + static_cast<std::uint32_t>(hex_value(t[i]));
        ++i;
        ++n;
      }
      if (i < e && is_html_space(t[i])) {
        if (t[i] == '\r' && i + 1 < e && t[i + 1] == '\n') ++i;
        ++i;
      }
      std::string bytes;
      append_utf8(bytes, cp);
      for (char c : bytes) out.push(c, m.src_begin(start), m.src_end(i - 1));
      continue;
    }
    // Any other character stands for itself (a whole UTF-8 sequence).
    std::size_t n = 1;
    const auto lead = static_cast<unsigned char>(t[i]);
    if (lead >= 0xF0) n = 4;
    else if (lead >= 0xE0) n = 3;
    else if (lead >= 0xC0) n = 2;
    n = std::min(n, e - i);
    for (std::size_t k = 0; k < n; ++k) out.push(t[i + k], m.src_begin(start), m.src_end(i + n - 1));
    i += n;
  }
  return out;
}

std::size_t rewrite_url_text(const Mapped& m, std::size_t b, std::size_t e, const Context& ctx,
                             std::vector<Edit>& edits) {
  if (ctx.disabled) return 0;
  const std::size_t before = edits.size();
  (void)resolve_url(m, b, e, ctx, false, &edits);
  return edits.size() > before ? 1 : 0;
}

// Finds url(...), @import "..." and image-set("...") in the CSS m.text()
// and adds edits for the renamed paths they name. Returns how many URLs
// changed.
std::size_t rewrite_css(const Mapped& m, const Context& ctx, std::vector<Edit>& edits) {
  const std::string_view t = m.text();
  std::size_t count = 0;
  std::size_t i = 0;
  bool import_next = false;     // the last token was @import
  bool url_string_next = false; // the last token was url( and a string follows
  std::size_t depth = 0;
  std::vector<std::size_t> image_set_depths;
  auto handle_url = [&](std::size_t b, std::size_t e) {
    const Mapped u = css_unescape(m, b, e);
    count += rewrite_url_text(u, 0, u.text().size(), ctx, edits);
  };
  while (i < t.size()) {
    const char c = t[i];
    if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
      const auto close = t.find("*/", i + 2);
      i = close == std::string_view::npos ? t.size() : close + 2;
      continue;
    }
    if (is_html_space(c)) {
      ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      std::size_t j = i + 1;
      while (j < t.size() && t[j] != c && t[j] != '\n' && t[j] != '\r' && t[j] != '\f') {
        j += (t[j] == '\\' && j + 1 < t.size()) ? 2 : 1;
      }
      const bool in_image_set = !image_set_depths.empty() && image_set_depths.back() == depth;
      if (import_next || url_string_next || in_image_set) handle_url(i + 1, std::min(j, t.size()));
      import_next = url_string_next = false;
      i = j < t.size() && t[j] == c ? j + 1 : j;
      continue;
    }
    url_string_next = false;
    if (c == '@' && i + 1 < t.size() && is_css_name_char(t[i + 1])) {
      std::size_t j = i + 1;
      while (j < t.size() && is_css_name_char(t[j])) ++j;
      import_next = eq_ci(t.substr(i + 1, j - i - 1), "import");
      i = j;
      continue;
    }
    if (is_css_name_char(c) || c == '\\') {
      std::size_t j = i;
      while (j < t.size() && (is_css_name_char(t[j]) || t[j] == '\\')) j += t[j] == '\\' ? 2 : 1;
      j = std::min(j, t.size());
      const std::string_view ident = t.substr(i, j - i);
      const bool prev_is_name = i > 0 && is_css_name_char(t[i - 1]);
      import_next = false;
      if (j < t.size() && t[j] == '(' && !prev_is_name) {
        ++depth;
        if (eq_ci(ident, "url")) {
          std::size_t k = j + 1;
          while (k < t.size() && is_html_space(t[k])) ++k;
          if (k < t.size() && (t[k] == '"' || t[k] == '\'')) {
            url_string_next = true;
            i = k;
            continue;
          }
          // Unquoted: up to ')', trailing white space not included.
          std::size_t close = k;
          bool bad = false;
          while (close < t.size() && t[close] != ')') {
            if (t[close] == '"' || t[close] == '\'' || t[close] == '(') bad = true;
            close += (t[close] == '\\' && close + 1 < t.size()) ? 2 : 1;
          }
          close = std::min(close, t.size());
          std::size_t end = close;
          while (end > k && is_html_space(t[end - 1])) --end;
          if (!bad) handle_url(k, end);
          if (close < t.size()) {
            --depth;
            ++close;
          }
          i = close;
          continue;
        }
        if (eq_ci(ident, "image-set") || eq_ci(ident, "-webkit-image-set")) image_set_depths.push_back(depth);
        i = j + 1;
        continue;
      }
      i = j;
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) {
      if (!image_set_depths.empty() && image_set_depths.back() == depth) image_set_depths.pop_back();
      --depth;
    }
    import_next = false;
    ++i;
  }
  return count;
}

// ---- HTML -------------------------------------------------------------------

struct Attribute {
  std::string name;            // lower-cased
  std::size_t value_begin = 0; // source offsets of the value, quotes excluded
  std::size_t value_end = 0;
};

struct Tag {
  std::string name;  // lower-cased
  bool end = false;
  bool self_closing = false;
  std::vector<Attribute> attributes;
};

// Calls on_tag for each complete start or end tag of `text`, and on_raw for
// the contents of each <style> element, as the HTML tokenizer would see
// them. Comments, doctypes, processing instructions and the contents of
// script, textarea, title, xmp, iframe, noembed, noframes and plaintext are
// passed over. SVG and MathML are tracked roughly (their CDATA sections, and
// no raw text inside them). <noscript> is read as markup, as it is when
// scripts are off, so its images are found too.
template <class OnTag, class OnRaw>
void scan_html(std::string_view text, OnTag on_tag, OnRaw on_raw) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  std::size_t foreign = 0;  // depth of open <svg> and <math>
  while (i < n) {
    const auto lt = text.find('<', i);
    if (lt == std::string_view::npos) return;
    i = lt + 1;
    if (i >= n) return;
    if (text.compare(i, 3, "!--") == 0) {
      std::size_t j = i + 3;
      if (j < n && text[j] == '>') {
        i = j + 1;
        continue;
      }
      if (text.compare(j, 2, "->") == 0) {
        i = j + 2;
        continue;
      }
      while (j < n) {
        const auto dash = text.find("--", j);
        if (dash == std::string_view::npos) return;
        if (dash + 2 < n && text[dash + 2] == '>') {
          j = dash + 3;
          break;
        }
        if (text.compare(dash + 2, 2, "!>") == 0) {
          j = dash + 4;
          break;
        }
        j = dash + 1;
      }
      i = j;
      continue;
    }
    if (foreign > 0 && text.compare(i, 8, "![CDATA[") == 0) {
      const auto close = text.find("]]>", i + 8);
      if (close == std::string_view::npos) return;
      i = close + 3;
      continue;
    }
    if (text[i] == '!' || text[i] == '?' || (text[i] == '/' && i + 1 < n && !is_alpha(text[i + 1]))) {
      // Doctype, bogus comment, processing instruction, "</>" or "</ ...>".
      if (text[i] == '/' && i + 1 < n && text[i + 1] == '>') {
        i += 2;
        continue;
      }
      const auto gt = text.find('>', i);
      if (gt == std::string_view::npos) return;
      i = gt + 1;
      continue;
    }
    Tag tag;
    if (text[i] == '/') {
      tag.end = true;
      ++i;
    }
    if (i >= n || !is_alpha(text[i])) continue;  // "<" as text
    // Tag name.
    std::size_t j = i;
    while (j < n && !is_html_space(text[j]) && text[j] != '/' && text[j] != '>') {
      tag.name += lower(text[j]);
      ++j;
    }
    // Attributes, until '>' (EOF inside a tag drops the tag, as browsers do).
    bool closed = false;
    while (j < n) {
      const char c = text[j];
      if (is_html_space(c)) {
        ++j;
        continue;
      }
      if (c == '>') {
        closed = true;
        ++j;
        break;
      }
      if (c == '/') {
        if (j + 1 < n && text[j + 1] == '>') {
          tag.self_closing = true;
          closed = true;
          j += 2;
          break;
        }
        ++j;
        continue;
      }
      Attribute a;
      // A name runs to white space, '/', '>' or '=' ('=' may start it).
      a.name += lower(c);
      ++j;
      while (j < n && !is_html_space(text[j]) && text[j] != '/' && text[j] != '>' && text[j] != '=') {
        a.name += lower(text[j]);
        ++j;
      }
      std::size_t k = j;
      while (k < n && is_html_space(text[k])) ++k;
      if (k < n && text[k] == '=') {
        ++k;
        while (k < n && is_html_space(text[k])) ++k;
        if (k < n && (text[k] == '"' || text[k] == '\'')) {
          const auto close = text.find(text[k], k + 1);
          if (close == std::string_view::npos) {
            j = n;
            break;
          }
          a.value_begin = k + 1;
          a.value_end = close;
          j = close + 1;
        } else {
          std::size_t v = k;
          while (v < n && !is_html_space(text[v]) && text[v] != '>') ++v;
          a.value_begin = k;
          a.value_end = v;
          j = v;
        }
      } else {
        a.value_begin = a.value_end = j;
      }
      tag.attributes.push_back(std::move(a));
    }
    if (!closed) return;
    i = j;
    on_tag(text, tag);

    if (tag.end) {
      if (foreign > 0 && (tag.name == "svg" || tag.name == "math")) --foreign;
      continue;
    }
    if (tag.name == "svg" || tag.name == "math") {
      if (!tag.self_closing) ++foreign;
      continue;
    }
    if (foreign > 0) continue;
    if (tag.name == "plaintext") return;
    static constexpr std::array<std::string_view, 8> kRaw = {"style",    "xmp",     "iframe", "noembed",
                                                            "noframes", "textarea", "title",  "script"};
    if (std::find(kRaw.begin(), kRaw.end(), tag.name) == kRaw.end()) continue;
    // Raw text runs to "</name" followed by white space, '/' or '>'. In a
    // script, "<!--" ... "<script" escapes one level, so a "</script>" there
    // does not end it.
    const bool script = tag.name == "script";
    int escape = 0;  // 0: plain, 1: escaped (after <!--), 2: double escaped
    int dashes = 0;
    std::size_t end = n;
    std::size_t p = i;
    while (p < n) {
      const char ch = text[p];
      if (script) {
        if (ch == '-') {
          ++dashes;
          ++p;
          continue;
        }
        if (ch == '>' && dashes >= 2 && escape > 0) escape = 0;
        dashes = 0;
        if (ch == '<' && escape == 0 && text.compare(p, 4, "<!--") == 0) {
          escape = 1;
          dashes = 2;
          p += 4;
          continue;
        }
        if (ch == '<' && escape == 1 && starts_with_ci(text, p + 1, "script") && p + 7 < n &&
            (is_html_space(text[p + 7]) || text[p + 7] == '/' || text[p + 7] == '>')) {
          escape = 2;
          p += 7;
          continue;
        }
      }
      if (ch == '<' && p + 1 < n && text[p + 1] == '/' && starts_with_ci(text, p + 2, tag.name)) {
        const std::size_t after = p + 2 + tag.name.size();
        if (after < n && (is_html_space(text[after]) || text[after] == '/' || text[after] == '>')) {
          if (escape == 2) {
            escape = 1;
            p = after;
            continue;
          }
          end = p;
          break;
        }
      }
      ++p;
    }
    if (tag.name == "style") on_raw(i, end);
    i = end;  // the end tag is scanned as a tag
  }
}

constexpr std::array<std::string_view, 14> kUrlAttributes = {
    "href", "src",  "poster", "data",    "background", "action",   "formaction",
    "cite", "longdesc", "lowsrc", "dynsrc", "manifest", "xlink:href", "codebase"};

constexpr std::array<std::string_view, 22> kMetaUrlProperties = {
    "og:image",        "og:image:url",        "og:image:secure_url", "og:video",
    "og:video:url",    "og:video:secure_url", "og:audio",            "og:audio:url",
    "og:audio:secure_url", "og:url",          "twitter:image",       "twitter:image:src",
    "twitter:player",  "twitter:player:stream", "msapplication-tileimage", "msapplication-square70x70logo",
    "msapplication-square150x150logo", "msapplication-wide310x150logo", "msapplication-square310x310logo",
    "thumbnail",       "image",               "thumbnailurl"};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

// srcset: candidates separated by commas, each a URL and descriptors.
std::size_t rewrite_srcset(const Mapped& m, const Context& ctx, std::vector<Edit>& edits) {
  const std::string_view t = m.text();
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && (is_html_space(t[i]) || t[i] == ',')) ++i;
    if (i >= t.size()) break;
    std::size_t j = i;
    while (j < t.size() && !is_html_space(t[j])) ++j;
    std::size_t url_end = j;
    bool descriptors = true;
    if (url_end > i && t[url_end - 1] == ',') {
      while (url_end > i && t[url_end - 1] == ',') --url_end;
      descriptors = false;
    }
    count += rewrite_url_text(m, i, url_end, ctx, edits);
    i = j;
    if (descriptors) {
      int parens = 0;
      while (i < t.size() && (t[i] != ',' || parens > 0)) {
        if (t[i] == '(') ++parens;
        if (t[i] == ')' && parens > 0) --parens;
        ++i;
      }
    }
  }
  return count;
}

// <meta http-equiv="refresh" content="5; url=next.html">.
std::size_t rewrite_refresh(const Mapped& m, const Context& ctx, std::vector<Edit>& edits) {
  const std::string_view t = m.text();
  std::size_t i = 0;
  while (i < t.size() && is_html_space(t[i])) ++i;
  while (i < t.size() && (is_digit(t[i]) || t[i] == '.')) ++i;
  while (i < t.size() && is_html_space(t[i])) ++i;
  if (i < t.size() && (t[i] == ';' || t[i] == ',')) ++i;
  while (i < t.size() && is_html_space(t[i])) ++i;
  if (starts_with_ci(t, i, "url")) {
    std::size_t k = i + 3;
    while (k < t.size() && is_html_space(t[k])) ++k;
    if (k < t.size() && t[k] == '=') {
      ++k;
      while (k < t.size() && is_html_space(t[k])) ++k;
      i = k;
    }
  }
  std::size_t end = t.size();
  if (i < t.size() && (t[i] == '"' || t[i] == '\'')) {
    const auto close = t.find(t[i], i + 1);
    if (close != std::string_view::npos) end = close;
    ++i;
  }
  if (i >= end) return 0;
  return rewrite_url_text(m, i, end, ctx, edits);
}

std::string_view attribute_value(std::string_view text, const Tag& tag, std::string_view name) {
  for (const auto& a : tag.attributes) {
    if (a.name == name) return text.substr(a.value_begin, a.value_end - a.value_begin);
  }
  return {};
}

std::size_t rewrite_tag(std::string_view text, const Tag& tag, const Context& ctx, std::vector<Edit>& edits) {
  if (tag.end) return 0;
  std::size_t count = 0;
  const bool meta = tag.name == "meta";
  bool meta_url = false, refresh = false;
  if (meta) {
    for (std::string_view key : {"property", "name", "itemprop"}) {
      const std::string_view raw = attribute_value(text, tag, key);
      if (!raw.empty() && in(kMetaUrlProperties, lowered(raw))) meta_url = true;
    }
    refresh = eq_ci(attribute_value(text, tag, "http-equiv"), "refresh");
  }
  for (const auto& a : tag.attributes) {
    if (a.value_begin == a.value_end) continue;
    const bool url = in(kUrlAttributes, a.name) || (a.name == "content" && meta_url);
    const bool srcset = a.name == "srcset" || a.name == "imagesrcset";
    const bool list = a.name == "ping";
    const bool style = a.name == "style";
    const bool refresh_content = a.name == "content" && refresh;
    if (!url && !srcset && !list && !style && !refresh_content) continue;
    const Mapped m = decode_attribute(text, a.value_begin, a.value_end);
    if (url) {
      count += rewrite_url_text(m, 0, m.text().size(), ctx, edits);
    } else if (srcset) {
      count += rewrite_srcset(m, ctx, edits);
    } else if (refresh_content) {
      count += rewrite_refresh(m, ctx, edits);
    } else if (style) {
      count += rewrite_css(m, ctx, edits);
    } else {
      const std::string_view t = m.text();
      std::size_t i = 0;
      while (i < t.size()) {
        while (i < t.size() && is_html_space(t[i])) ++i;
        std::size_t j = i;
        while (j < t.size() && !is_html_space(t[j])) ++j;
        if (j > i) count += rewrite_url_text(m, i, j, ctx, edits);
        i = j;
      }
    }
  }
  return count;
}

std::string apply_edits(std::string_view text, std::vector<Edit>& edits) {
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const auto& e : edits) {
    if (e.begin < pos) continue;  // overlaps an earlier edit; cannot happen for well-formed spans
    out.append(text.substr(pos, e.begin - pos));
    out += e.replacement;
    pos = e.end;
  }
  out.append(text.substr(pos));
  return out;
}

std::vector<std::string> folder_segments(std::string_view path) {
  std::vector<std::string> segs;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    if (slash == std::string_view::npos) break;
    segs.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segs;
}

RewrittenText rewrite_with_index(std::string_view text, RefSyntax syntax, std::string_view referrer,
                                 const RenameIndex& index) {
  // Source offsets are kept in 32 bits.
  if (text.size() > kMaxRewriteBytes) return {std::string(text), 0};
  Context ctx;
  ctx.index = &index;
  ctx.base = folder_segments(referrer);
  std::vector<Edit> edits;
  std::size_t count = 0;
  if (syntax == RefSyntax::css) {
    count = rewrite_css(Mapped::identity(text, 0), ctx, edits);
  } else {
    // The first <base href> sets the folder for every reference in the
    // document, even those before it; its own href starts from the file's.
    bool have_base = false;
    const Context base_ctx = ctx;
    scan_html(
        text,
        [&](std::string_view t, const Tag& tag) {
          if (have_base || tag.end || tag.name != "base") return;
          for (const auto& a : tag.attributes) {
            if (a.name != "href") continue;
            have_base = true;
            const Mapped m = decode_attribute(t, a.value_begin, a.value_end);
            Context probe = base_ctx;
            probe.index = nullptr;
            auto folder = resolve_url(m, 0, m.text().size(), probe, true, nullptr);
            if (folder) {
              ctx.base = std::move(*folder);
            } else {
              ctx.disabled = true;
            }
            return;
          }
        },
        [](std::size_t, std::size_t) {});
    scan_html(
        text,
        [&](std::string_view t, const Tag& tag) {
          if (tag.name == "base") {
            count += rewrite_tag(t, tag, base_ctx, edits);
          } else {
            count += rewrite_tag(t, tag, ctx, edits);
          }
        },
        [&](std::size_t b, std::size_t e) {
          count += rewrite_css(Mapped::identity(text.substr(b, e - b), b), ctx, edits);
        });
  }
  return {apply_edits(text, edits), count};
}

RenameIndex make_index(const RenamePlan& plan) {
  RenameIndex index;
  for (const auto& r : plan.renames) {
    const auto slash = r.to.rfind('/');
    index.new_leaf.emplace(r.from, slash == std::string::npos ? r.to : r.to.substr(slash + 1));
  }
  return index;
}

}  // namespace

std::optional<RefSyntax> ref_syntax_for(std::string_view file_name) {
  const auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string ext = lowered(file_name.substr(dot + 1));
  if (ext == "html" || ext == "htm" || ext == "xhtml") return RefSyntax::html;
  if (ext == "css") return RefSyntax::css;
  return std::nullopt;
}

RewrittenText rewrite_references(std::string_view text, RefSyntax syntax, std::string_view referrer,
                                 const RenamePlan& plan) {
  return rewrite_with_index(text, syntax, referrer, make_index(plan));
}

// ---- carrying a plan out ----------------------------------------------------

namespace {

namespace fs = std::filesystem;

std::string parent_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string leaf_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

boost::system::error_code errno_code(int e) { return {e, boost::system::generic_category()}; }

// A system error, with `file` and `detail` in `diag`.
boost::system::error_code fail_errno(int e, Diag* diag, std::string file, std::string detail) {
  if (diag != nullptr) *diag = Diag{std::move(file), std::move(detail)};
  return errno_code(e);
}

// `rel` below `dir` after the renames in `moved` (old path -> new path).
std::string translated(std::string_view rel, const std::map<std::string, std::string>& moved) {
  std::string old_prefix, new_prefix;
  std::size_t start = 0;
  while (true) {
    const auto slash = rel.find('/', start);
    const std::string_view comp = rel.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!old_prefix.empty()) old_prefix += '/';
    old_prefix += comp;
    const auto it = moved.find(old_prefix);
    if (it != moved.end()) {
      new_prefix = it->second;
    } else {
      if (!new_prefix.empty()) new_prefix += '/';
      new_prefix += comp;
    }
    if (slash == std::string_view::npos) return new_prefix;
    start = slash + 1;
  }
}

// Checks that every folder on the way to `rel` is a real folder (no
// symlink can lead a rename or a write out of the bundle) and that `rel`
// itself is of `kind`. Returns its permission bits.
Result<unsigned> check_path(const fs::path& dir, const std::string& rel, EntryKind kind, Diag* diag) {
  std::size_t start = 0;
  while (true) {
    const auto slash = rel.find('/', start);
    const bool last = slash == std::string::npos;
    const fs::path p = dir / (last ? rel : rel.substr(0, slash));
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      const int e = errno;
      if (e == ENOENT || e == ENOTDIR) return fail(errc::file_missing, diag, rel, "not found in the folder");
      return fail_errno(e, diag, rel, "cannot be examined");
    }
    if (S_ISLNK(st.st_mode)) return fail(errc::not_regular_file, diag, rel, "a symbolic link is on its path");
    if (!last && !S_ISDIR(st.st_mode)) return fail(errc::not_regular_file, diag, rel, "a file is on its path");
    if (last) {
      if (kind == EntryKind::file && !S_ISREG(st.st_mode)) {
        return fail(errc::not_regular_file, diag, rel, "not a regular file");
      }
      if (kind == EntryKind::folder && !S_ISDIR(st.st_mode)) {
        return fail(errc::not_regular_file, diag, rel, "not a folder");
      }
      return static_cast<unsigned>(st.st_mode & 07777);
    }
    start = slash + 1;
  }
}

// rename(2) that never replaces: renameat2's RENAME_NOREPLACE, or, where
// the file system lacks it, a check just before an ordinary rename.
int rename_noreplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::rename(from.c_str(), to.c_str());
}

constexpr std::array<std::string_view, 16> kTextExts = {"html", "htm",  "xhtml", "css", "svg", "js",
                                                        "mjs",  "json", "xml",   "txt", "md",  "csv",
                                                        "vtt",  "srt",  "webmanifest", "tsv"};

bool is_text_file(std::string_view name) {
  const auto dot = name.rfind('.');
  return dot != std::string_view::npos && in(kTextExts, lowered(name.substr(dot + 1)));
}

std::size_t occurrences(std::string_view text, std::string_view needle) {
  if (needle.empty()) return 0;
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string_view::npos; pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

struct Pending {
  std::string rel;  // old path
  std::vector<std::uint8_t> original;
  std::string rewritten;
  std::size_t references = 0;
  unsigned mode = 0644;
};

struct Move {
  fs::path from;
  fs::path to;
  std::string rel_to;  // for messages
  std::size_t depth = 0;
};

}  // namespace

Result<RenameReport> apply_renames(const fs::path& dir, const RenamePlan& plan, Diag* diag) {
  // The plan: safe paths, only last components change, no target twice.
  std::map<std::string, std::string> moved;
  std::set<std::string> targets;
  for (const auto& r : plan.renames) {
    std::string why;
    if (!SafeRelPath::parse(r.from, &why)) return fail(errc::unsafe_path, diag, r.from, why);
    if (!SafeRelPath::parse(r.to, &why)) return fail(errc::unsafe_path, diag, r.to, why);
    moved.emplace(r.from, r.to);
  }
  for (const auto& r : plan.renames) {
    if (parent_of(r.to) != translated(parent_of(r.from), moved)) {
      return fail(errc::unsafe_path, diag, r.to, "a rename may change only the last part of a path");
    }
    if (!targets.insert(lowered(r.to)).second) {
      return fail(errc::destination_exists, diag, r.to, "two renames have the same new name");
    }
  }

  // The disk: every source there and of its kind, every target free.
  std::vector<Move> moves;
  for (const auto& r : plan.renames) {
    BOOST_OUTCOME_TRY(mode, check_path(dir, r.from, r.kind, diag));
    (void)mode;
    const std::string parent = parent_of(r.from);
    Move m{dir / r.from, dir / parent / leaf_of(r.to), r.to,
           static_cast<std::size_t>(std::count(r.from.begin(), r.from.end(), '/'))};
    if (parent.empty()) m.to = dir / leaf_of(r.to);
    struct stat st {};
    if (::lstat(m.to.c_str(), &st) == 0) {
      return fail(errc::destination_exists, diag, r.to, "the new name is already taken in the folder");
    }
    if (errno != ENOENT) return fail_errno(errno, diag, r.to, "cannot be examined");
    moves.push_back(std::move(m));
  }

  // The new HTML and CSS, and old names still in any text file.
  const RenameIndex index = make_index(plan);
  RenameReport report;
  report.renamed = plan.renames;
  std::vector<Pending> pending;
  std::vector<std::pair<std::string, std::string>> needles;  // (name reported, bytes searched)
  for (const auto& r : plan.renames) {
    const std::string leaf = leaf_of(r.from);
    const auto dot = leaf.rfind('.');
    const std::string stem = (r.kind == EntryKind::file && dot != std::string::npos && dot >= 4) ? leaf.substr(0, dot) : leaf;
    needles.emplace_back(stem, stem);
    if (percent_encode(stem) != stem) needles.emplace_back(stem, percent_encode(stem));
  }
  for (const auto& f : plan.files) {
    const auto syntax = ref_syntax_for(f);
    if (!syntax && !is_text_file(f)) continue;
    BOOST_OUTCOME_TRY(mode, check_path(dir, f, EntryKind::file, diag));
    auto bytes = read_file_bounded(dir / f, kMaxRewriteBytes);
    if (!bytes) {
      if (bytes.error() == make_error_code(errc::oversized)) {
        if (!syntax) continue;  // too large to search; not an error for a text file
        return fail(errc::oversized, diag, f, "too large to rewrite its references");
      }
      if (diag != nullptr) *diag = Diag{f, "cannot be read"};
      return bytes.error();
    }
    const std::string_view text(reinterpret_cast<const char*>(bytes.value().data()), bytes.value().size());
    Pending p{f, {}, {}, 0, mode};
    std::string_view final_text = text;
    if (syntax) {
      RewrittenText rt = rewrite_with_index(text, *syntax, f, index);
      p.references = rt.references;
      p.rewritten = std::move(rt.text);
      final_text = p.rewritten;
    }
    const std::string new_path = translated(f, moved);
    std::map<std::string, std::size_t> counts;
    for (const auto& [name, bytes_searched] : needles) {
      const std::size_t c = occurrences(final_text, bytes_searched);
      if (c > 0) counts[name] += c;
    }
    for (const auto& [name, c] : counts) report.mentions.push_back({new_path, name, c});
    if (p.references > 0) {
      report.rewritten.push_back({new_path, p.references});
      p.original = std::move(bytes).value();
      pending.push_back(std::move(p));
    }
  }

  // Changes: rewritten files first (at their old paths), then renames,
  // deepest first so each source path is still the old one. Either step
  // failing undoes what was done.
  auto restore = [&](std::size_t written) {
    for (std::size_t i = 0; i < written; ++i) {
      (void)write_file_atomic(dir / pending[i].rel, pending[i].original, pending[i].mode, Replace::allow);
    }
  };
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const auto& p = pending[i];
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(p.rewritten.data()),
                                              p.rewritten.size());
    if (auto w = write_file_atomic(dir / p.rel, bytes, p.mode, Replace::allow); !w) {
      restore(i);
      if (diag != nullptr) *diag = Diag{p.rel, "cannot be rewritten"};
      return w.error();
    }
  }
  std::stable_sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) { return a.depth > b.depth; });
  for (std::size_t i = 0; i < moves.size(); ++i) {
    if (rename_noreplace(moves[i].from, moves[i].to) != 0) {
      const int e = errno;
      for (std::size_t k = i; k-- > 0;) (void)::rename(moves[k].to.c_str(), moves[k].from.c_str());
      restore(pending.size());
      if (e == EEXIST || e == ENOTEMPTY) {
        return fail(errc::destination_exists, diag, moves[i].rel_to, "the new name was taken while renaming");
      }
      return fail_errno(e, diag, moves[i].rel_to, "cannot be renamed");
    }
  }
  std::set<std::string> parents;
  for (const auto& r : plan.renames) parents.insert(parent_of(r.to));
  for (const auto& p : parents) {
    if (auto s = sync_dir(p.empty() ? dir : dir / p); !s) {
      if (diag != nullptr) *diag = Diag{p, "cannot be synced"};
      return s.error();
    }
  }
  std::sort(report.rewritten.begin(), report.rewritten.end(),
            [](const auto& a, const auto& b) { return a.file < b.file; });
  std::sort(report.mentions.begin(), report.mentions.end(), [](const auto& a, const auto& b) {
    return std::tie(a.file, a.name) < std::tie(b.file, b.name);
  });
  return report;
}

}  // namespace tz::scrub
