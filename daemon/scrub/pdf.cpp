#include "scrub/pdf.h"

#include "scrub/exiv2_fields.h"
#include "scrub/jpeg2000_boxes.h"
#include "scrub/jpeg_segments.h"

#include <qpdf/Buffer.hh>
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

namespace tz::scrub::pdf {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxImageBytes = std::size_t{256} << 20;     // one JPEG held in memory
constexpr std::size_t kMaxXmpBytes = std::size_t{16} << 20;        // one XMP packet decoded
constexpr std::size_t kMaxContentBytes = std::size_t{256} << 20;   // one content stream decoded (Flate bombs)
constexpr std::size_t kMaxRevisionBytes = std::size_t{256} << 20;  // an earlier revision read again
constexpr std::size_t kMaxXrefScan = std::size_t{64} << 20;        // from an xref to its %%EOF
constexpr std::size_t kHeaderWindow = 1024;                        // where "%PDF-" may start
constexpr int kMaxDepth = 64;                                      // direct objects nested in one object
constexpr int kMaxRevisions = 32;
constexpr std::size_t kMaxInlineJpegs = 1024;  // JPEG starts looked at in one content stream

// Annotation types whose /T is the author's name (PDF 32000-1, 12.5.6.2),
// plus Popup, which tools often give its parent's /T.
constexpr std::array<std::string_view, 18> kMarkupAnnots = {
    "/Text",     "/FreeText",  "/Line",           "/Square",   "/Circle",    "/Polygon",
    "/PolyLine", "/Highlight", "/Underline",      "/Squiggly", "/StrikeOut", "/Stamp",
    "/Caret",    "/Ink",       "/FileAttachment", "/Sound",    "/Redact",    "/Popup"};

// Trailer (or cross-reference stream) entries that say nothing about anyone.
constexpr std::array<std::string_view, 12> kPlainTrailerKeys = {"/Size",  "/Root",    "/ID",          "/Encrypt",
                                                                "/Prev",  "/XRefStm", "/Type",        "/W",
                                                                "/Index", "/Filter",  "/DecodeParms", "/Length"};

template <std::size_t N>
bool is_one_of(const std::string& s, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

// Collects decoded stream bytes, giving up past a limit.
class BoundedSink : public Pipeline {
 public:
  explicit BoundedSink(std::size_t max) : Pipeline("tz bounded sink", nullptr), m_max(max) {}
  void write(unsigned char const* data, size_t len) override {
    if (m_over || len > m_max - m_bytes.size()) {
      m_over = true;
      throw std::length_error("stream data over the limit");
    }
    m_bytes.append(reinterpret_cast<const char*>(data), len);
  }
  void finish() override {}
  [[nodiscard]] bool over() const { return m_over; }
  std::string& bytes() { return m_bytes; }

 private:
  std::size_t m_max;
  bool m_over = false;
  std::string m_bytes;
};

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The filters of a stream as names, or nullopt when /Filter is malformed.
std::optional<std::vector<std::string>> filters_of(QPDFObjectHandle dict) {
  std::vector<std::string> out;
  QPDFObjectHandle f = dict.getKey("/Filter");
  if (f.isNull()) return out;
  if (f.isName()) return std::vector<std::string>{f.getName()};
  if (!f.isArray()) return std::nullopt;
  for (auto& item : f.getArrayAsVector()) {
    if (!item.isName()) return std::nullopt;
    out.push_back(item.getName());
  }
  return out;
}

// The /DecodeParms entry that goes with filter `i` of `count`, or null.
QPDFObjectHandle parms_of(QPDFObjectHandle dict, std::size_t i, std::size_t count) {
  QPDFObjectHandle p = dict.getKey("/DecodeParms");
  if (p.isArray()) {
    return static_cast<int>(i) < p.getArrayNItems() ? p.getArrayItem(static_cast<int>(i)) : QPDFObjectHandle::newNull();
  }
  return (p.isDictionary() && count == 1) ? p : QPDFObjectHandle::newNull();
}

// Text of a PDF value for a Finding: strings as UTF-8, names without the
// slash, containers by their kind only.
std::string text_of(QPDFObjectHandle v) {
  if (v.isString()) return v.getUTF8Value();
  if (v.isName()) return v.getName().substr(1);
  if (v.isDictionary()) return "(dictionary)";
  if (v.isArray()) return "(array of " + std::to_string(v.getArrayNItems()) + ")";
  if (v.isStream()) return "(stream)";
  return v.unparse();
}

std::string name_of(QPDFObjectHandle v) { return v.isName() ? v.getName() : std::string(); }

Category info_category(const std::string& key) {
  if (key == "/Author") return Category::owner;
  if (key == "/Creator" || key == "/Producer") return Category::software;
  if (key == "/CreationDate" || key == "/ModDate") return Category::time;
  return Category::comment;
}

std::string detail_of(const QPDFExc& e) {
  std::string d = e.getMessageDetail();
  if (e.getFilePosition() > 0) d += " (at byte " + std::to_string(e.getFilePosition()) + ")";
  return d;
}

// A failure found while walking the document, to leave by exception from
// deep inside qpdf callbacks and loops; caught at the module's boundary.
struct Refused {
  errc code;
  std::string detail;
};

// An image stream to replace in the clean copy.
struct ImageFix {
  QPDFObjectHandle stream;
  std::string clean;       // the JPEG or JPEG 2000 data without its metadata
  std::string filter;      // /DCTDecode or /JPXDecode, now its only filter
  QPDFObjectHandle parms;  // that filter's parameters (or null)
};

// What one pass over a document found and what a clean copy must change.
struct Survey {
  std::vector<Finding> findings;
  std::vector<std::string> embedded;  // names of embedded files (refused)
  bool embedded_unnamed = false;
  std::optional<Refused> refusal;                                  // other reasons to refuse inspect and scrub
  std::optional<std::string> signature;                            // who signed (refused by scrub only)
  std::vector<std::pair<QPDFObjectHandle, std::string>> removals;  // dictionary, key
  std::vector<ImageFix> images;

  void add(Category c, std::string key, std::string_view value) {
    findings.push_back({c, std::move(key), printable_value(value)});
  }
  void refuse(errc code, std::string detail) {
    if (!refusal) refusal = Refused{code, std::move(detail)};
  }
};

class Surveyor {
 public:
  Surveyor(QPDF& pdf, Survey& out) : m_pdf(pdf), m_out(out) {}

  void run() {
    QPDFObjectHandle root = m_pdf.getRoot();
    m_root = root.getObjGen();
    int n = 0;
    for (auto& page : QPDFPageDocumentHelper(m_pdf).getAllPages()) {
      QPDFObjectHandle p = page.getObjectHandle();
      m_pages[p.getObjGen()] = ++n;
      QPDFObjectHandle contents = p.getKey("/Contents");
      if (contents.isStream()) m_content.insert(contents.getObjGen());
      if (contents.isArray()) {
        for (auto& c : contents.getArrayAsVector()) {
          if (c.isStream()) m_content.insert(c.getObjGen());
        }
      }
    }
    survey_trailer();
    const auto all = m_pdf.getAllObjects();
    // Type 3 glyph procedures are content streams too.
    for (auto obj : all) {
      if (!obj.isDictionary() || name_of(obj.getKey("/Subtype")) != "/Type3") continue;
      QPDFObjectHandle procs = obj.getKey("/CharProcs");
      if (!procs.isDictionary()) continue;
      for (const auto& k : procs.getKeys()) {
        QPDFObjectHandle s = procs.getKey(k);
        if (s.isStream()) m_content.insert(s.getObjGen());
      }
    }
    for (auto obj : all) visit(obj, where(obj), 0);
  }

 private:
  std::string where(QPDFObjectHandle obj) const {
    const QPDFObjGen og = obj.getObjGen();
    if (og == m_root) return "catalog";
    if (auto it = m_pages.find(og); it != m_pages.end()) return "page " + std::to_string(it->second);
    return "object " + std::to_string(og.getObj()) + " " + std::to_string(og.getGen());
  }

  // The file identifier (/ID) is not reported: every PDF has one, and
  // nothing here can tell one derived from paths and times from a random
  // one; the clean copy always gets a new one.
  void survey_trailer() {
    QPDFObjectHandle trailer = m_pdf.getTrailer();
    for (const auto& key : trailer.getKeys()) {
      QPDFObjectHandle v = trailer.getKey(key);
      if (key == "/Info") {
        if (!v.isDictionary()) {
          m_out.add(Category::comment, "Info", text_of(v));
          continue;
        }
        for (const auto& k : v.getKeys()) m_out.add(info_category(k), "Info " + k, text_of(v.getKey(k)));
        if (v.getKeys().empty()) m_out.add(Category::comment, "Info", "(empty)");
      } else if (!is_one_of(key, kPlainTrailerKeys)) {
        m_out.add(Category::other, "trailer " + key, text_of(v));
      }
    }
  }

  // Visits an indirect object or a direct one inside it.
  void visit(QPDFObjectHandle obj, const std::string& at, int depth) {
    if (depth > kMaxDepth) throw Refused{errc::cannot_inspect, at + " nests objects deeper than we read"};
    if (obj.isStream()) {
      QPDFObjectHandle dict = obj.getDict();
      survey_dict(dict, at);
      if (name_of(dict.getKey("/Type")) == "/EmbeddedFile") m_out.embedded_unnamed = true;
      if (name_of(dict.getKey("/Subtype")) == "/Image") survey_image(obj, at);
      if (m_content.contains(obj.getObjGen()) || name_of(dict.getKey("/Subtype")) == "/Form" ||
          dict.getKey("/PatternType").isInteger()) {
        survey_inline_images(obj, at);
      }
      visit_children(dict, at, depth);
    } else if (obj.isDictionary()) {
      survey_dict(obj, at);
      visit_children(obj, at, depth);
    } else if (obj.isArray()) {
      visit_children(obj, at, depth);
    }
  }

  void visit_children(QPDFObjectHandle container, const std::string& at, int depth) {
    const auto visit_one = [&](QPDFObjectHandle child) {
      if (!child.isIndirect() && (child.isDictionary() || child.isArray())) visit(child, at, depth + 1);
    };
    if (container.isArray()) {
      for (auto& child : container.getArrayAsVector()) visit_one(child);
    } else {
      for (const auto& k : container.getKeys()) {
        if (k != "/PieceInfo") visit_one(container.getKey(k));  // reported and dropped whole
      }
    }
  }

  void remove_later(QPDFObjectHandle dict, const std::string& key) { m_out.removals.emplace_back(dict, key); }

  void survey_dict(QPDFObjectHandle d, const std::string& at) {
    if (d.hasKey("/Metadata")) {
      survey_xmp(d.getKey("/Metadata"), at);
      remove_later(d, "/Metadata");
    }
    if (d.hasKey("/PieceInfo")) {
      QPDFObjectHandle pi = d.getKey("/PieceInfo");
      std::string apps;
      if (pi.isDictionary()) {
        for (const auto& k : pi.getKeys()) apps += (apps.empty() ? "" : " ") + k.substr(1);
      }
      m_out.add(Category::software, at + " /PieceInfo", apps.empty() ? text_of(pi) : apps);
      remove_later(d, "/PieceInfo");
    }
    if (d.hasKey("/Thumb")) {
      // Made when the page was, a thumbnail can show what was on it before
      // an edit or a redaction.
      m_out.add(Category::thumbnail, at + " /Thumb", "a page thumbnail image");
      remove_later(d, "/Thumb");
    }
    if (d.hasKey("/XFA")) {
      m_out.refuse(errc::cannot_inspect, "holds an XFA form, whose XML (templates, data, often XMP) we do not check");
    }
    if (d.hasKey("/LastModified")) {
      m_out.add(Category::time, at + " /LastModified", text_of(d.getKey("/LastModified")));
      remove_later(d, "/LastModified");
    }
    if (d.hasKey("/EF")) {
      std::string name;
      for (const char* k : {"/UF", "/F", "/Unix", "/DOS", "/Mac"}) {
        QPDFObjectHandle n = d.getKey(k);
        if (n.isString()) {
          name = n.getUTF8Value();
          break;
        }
      }
      if (name.empty()) {
        m_out.embedded_unnamed = true;
      } else {
        m_out.embedded.push_back(name);
      }
    }
    const std::string type = name_of(d.getKey("/Type"));
    if (type == "/Sig" || type == "/DocTimeStamp" || (d.hasKey("/ByteRange") && d.hasKey("/Contents"))) {
      survey_signature(d, at);
    } else if (d.getKey("/Rect").isArray() && d.getKey("/Subtype").isName()) {
      survey_annotation(d, at);
    }
  }

  void survey_annotation(QPDFObjectHandle d, const std::string& at) {
    const std::string sub = name_of(d.getKey("/Subtype"));
    const std::string label = at + " annotation " + sub.substr(1);
    if (is_one_of(sub, kMarkupAnnots)) {
      if (d.hasKey("/T")) {
        m_out.add(Category::owner, label + " /T", text_of(d.getKey("/T")));
        remove_later(d, "/T");
      }
      if (d.hasKey("/NM")) {
        m_out.add(Category::other, label + " /NM", text_of(d.getKey("/NM")));
        remove_later(d, "/NM");
      }
      if (d.hasKey("/CreationDate")) {
        m_out.add(Category::time, label + " /CreationDate", text_of(d.getKey("/CreationDate")));
        remove_later(d, "/CreationDate");
      }
    }
    if (d.hasKey("/M")) {
      m_out.add(Category::time, label + " /M", text_of(d.getKey("/M")));
      remove_later(d, "/M");
    }
  }

  void survey_signature(QPDFObjectHandle d, const std::string& at) {
    std::string who = "unnamed signer";
    if (d.hasKey("/Name")) {
      who = text_of(d.getKey("/Name"));
      m_out.add(Category::owner, at + " signature /Name", who);
    }
    if (d.hasKey("/M")) m_out.add(Category::time, at + " signature /M", text_of(d.getKey("/M")));
    for (const char* k : {"/Reason", "/Location", "/ContactInfo"}) {
      if (d.hasKey(k)) m_out.add(Category::comment, at + " signature " + k, text_of(d.getKey(k)));
    }
    m_out.add(Category::other, at + " signature", "a digital signature and its certificates");
    if (!m_out.signature) m_out.signature = who;
  }

  // Decoded bytes of `stream` through its general-purpose filters, at most
  // `max`; nullopt when a filter is one qpdf cannot decode.
  static std::optional<std::string> decoded(QPDFObjectHandle stream, std::size_t max, const std::string& at) {
    BoundedSink sink(max);
    bool attempted = false;
    const auto filters = filters_of(stream.getDict());
    const bool ok = stream.pipeStreamData(&sink, &attempted, 0, qpdf_dl_generalized, true, false);
    if (sink.over()) {
      throw Refused{errc::cannot_inspect, at + " decodes to more than " + std::to_string(max >> 20) + " MiB"};
    }
    if (!filters || (!filters->empty() && !attempted)) return std::nullopt;
    if (!ok) throw Refused{errc::bad_media, at + ": its stream data cannot be decoded"};
    return std::move(sink.bytes());
  }

  void survey_xmp(QPDFObjectHandle m, const std::string& at) {
    const std::string key = at + " /Metadata";
    if (!m.isStream()) {
      m_out.add(Category::xmp, key, text_of(m));
      return;
    }
    std::optional<std::string> packet;
    try {
      packet = decoded(m, kMaxXmpBytes, key);
    } catch (const Refused&) {
      // Too large or undecodable to read; it is removed all the same.
    }
    if (!packet) {
      m_out.add(Category::xmp, key, "XMP packet (not readable)");
      return;
    }
    m_out.add(Category::xmp, key, "XMP packet, " + std::to_string(packet->size()) + " bytes");
    for (auto& f : xmp_fields(*packet, key + " ")) m_out.findings.push_back(std::move(f));
  }

  // JPEG (DCTDecode) and JPEG 2000 (JPXDecode) images carry their file
  // format's metadata into the PDF; other image filters hold bare samples.
  void survey_image(QPDFObjectHandle stream, const std::string& at) {
    QPDFObjectHandle dict = stream.getDict();
    const auto filters = filters_of(dict);
    if (!filters) throw Refused{errc::bad_media, at + ": an image with a malformed /Filter"};
    const auto is_coded = [](const std::string& f) { return f == "/DCTDecode" || f == "/DCT" || f == "/JPXDecode"; };
    const auto coded = std::find_if(filters->begin(), filters->end(), is_coded);
    if (coded == filters->end()) return;
    if (coded + 1 != filters->end()) {
      throw Refused{errc::cannot_inspect, at + ": an image whose " + coded->substr(1) + " filter is not its last"};
    }
    const bool jpx = *coded == "/JPXDecode";
    const std::string what = jpx ? "JPEG 2000" : "JPEG";
    const std::string too_large =
        at + ": a " + what + " image larger than " + std::to_string(kMaxImageBytes >> 20) + " MiB";
    QPDFObjectHandle len = dict.getKey("/Length");
    if (len.isInteger() && len.getIntValue() > static_cast<long long>(kMaxImageBytes)) {
      throw Refused{errc::cannot_inspect, too_large};
    }
    std::string data;
    if (filters->size() == 1) {
      auto raw = stream.getRawStreamData();
      if (raw->getSize() > kMaxImageBytes) throw Refused{errc::cannot_inspect, too_large};
      data.assign(reinterpret_cast<const char*>(raw->getBuffer()), raw->getSize());
    } else {
      data = image_under_filters(stream, *filters, at);
    }
    Diag md;
    auto segments = jpx ? jpeg2000::find_metadata(as_bytes(data), &md) : jpeg::find_metadata(as_bytes(data), &md);
    if (!segments) throw Refused{static_cast<errc>(segments.error().value()), at + ": " + md.detail};
    if (segments.value().empty()) return;
    const std::string prefix = at + " " + what + " ";
    for (const auto& s : segments.value()) {
      m_out.add(s.category, prefix + s.name, std::to_string(s.size) + " bytes");
    }
    for (auto& f : image_fields(as_bytes(data), prefix)) m_out.findings.push_back(std::move(f));
    Diag sd;
    auto clean = jpx ? jpeg2000::strip_metadata(as_bytes(data), &sd) : jpeg::strip_metadata(as_bytes(data), &sd);
    if (!clean) throw Refused{errc::scrub_failed, at + ": " + sd.detail};
    m_out.images.push_back({stream, std::string(clean.value().begin(), clean.value().end()),
                            jpx ? "/JPXDecode" : "/DCTDecode", parms_of(dict, filters->size() - 1, filters->size())});
  }

  // The image inside filters such as [/FlateDecode /DCTDecode]: qpdf
  // decodes a stream only when it can undo every filter, so the filters
  // before the last are undone on a copy of the stream in a scratch document.
  static std::string image_under_filters(QPDFObjectHandle stream, const std::vector<std::string>& filters,
                                         const std::string& at) {
    QPDFObjectHandle dict = stream.getDict();
    QPDF scratch;
    scratch.emptyPDF();
    auto raw = stream.getRawStreamData();
    QPDFObjectHandle copy = QPDFObjectHandle::newStream(
        &scratch, std::string(reinterpret_cast<const char*>(raw->getBuffer()), raw->getSize()));
    QPDFObjectHandle names = QPDFObjectHandle::newArray();
    QPDFObjectHandle parms = QPDFObjectHandle::newArray();
    for (std::size_t i = 0; i + 1 < filters.size(); ++i) {
      names.appendItem(QPDFObjectHandle::newName(filters[i]));
      QPDFObjectHandle p = parms_of(dict, i, filters.size());
      parms.appendItem(p.isDictionary() ? p.shallowCopy() : QPDFObjectHandle::newNull());
    }
    copy.getDict().replaceKey("/Filter", names);
    copy.getDict().replaceKey("/DecodeParms", parms);
    auto image = decoded(copy, kMaxImageBytes, at);
    if (!image) throw Refused{errc::cannot_inspect, at + ": an image under a filter we cannot decode"};
    return std::move(*image);
  }

  // Inline images (BI ... ID ... EI) live inside content streams, which the
  // clean copy keeps byte for byte; a JPEG among them that carries metadata
  // is refused rather than rewritten.
  void survey_inline_images(QPDFObjectHandle stream, const std::string& at) {
    auto data = decoded(stream, kMaxContentBytes, at);
    if (!data) throw Refused{errc::cannot_inspect, at + ": a content stream under a filter we cannot decode"};
    const std::string_view soi("\xFF\xD8\xFF", 3);
    std::size_t candidates = 0;
    for (std::size_t pos = data->find(soi); pos != std::string::npos; pos = data->find(soi, pos + 1)) {
      // Each candidate is walked to its end: bound the work a crafted stream can ask for.
      if (++candidates > kMaxInlineJpegs) {
        throw Refused{errc::cannot_inspect, at + " holds more than " + std::to_string(kMaxInlineJpegs) +
                                                " byte sequences that start a JPEG image"};
      }
      auto segments = jpeg::find_metadata(as_bytes(*data).subspan(pos));
      if (!segments) continue;  // bytes that only look like a JPEG
      for (const auto& s : segments.value()) {
        if (s.name == "data after EOI" || s.name == "image after EOI") continue;
        m_out.add(s.category, at + " inline JPEG " + s.name, std::to_string(s.size) + " bytes");
        m_out.refuse(errc::cannot_inspect,
                     at + " holds an inline JPEG image with metadata (" + s.name + "), which we do not rewrite");
      }
    }
  }

  QPDF& m_pdf;
  Survey& m_out;
  QPDFObjGen m_root;
  std::map<QPDFObjGen, int> m_pages;
  std::set<QPDFObjGen> m_content;
};

// Throws Refused unless `pdf` is unencrypted and every object in it reads
// without a warning.
void check_opened(QPDF& pdf) {
  if (pdf.isEncrypted()) {
    throw Refused{errc::cannot_inspect, "the PDF is encrypted; we cannot check or rewrite it (decrypt it first)"};
  }
  // Reading every object finds damage that opening alone does not.
  for (auto& obj : pdf.getAllObjects()) (void)obj.getTypeCode();
  if (pdf.anyWarnings()) {
    throw Refused{errc::bad_media, "qpdf can read it only by repairing it: " + detail_of(pdf.getWarnings().front())};
  }
}

std::unique_ptr<QPDF> open_strict(const fs::path& file) {
  {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) throw Refused{errc::bad_media, "cannot open the file: not a regular file"};
    std::ifstream f(file, std::ios::binary);
    if (!f) throw Refused{errc::bad_media, "cannot open the file"};
    std::string head(kHeaderWindow, '\0');
    f.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(f.gcount()));
    if (head.find("%PDF-") == std::string::npos) {
      throw Refused{errc::bad_media, "not a PDF: no %PDF- header in its first 1024 bytes"};
    }
  }
  auto pdf = std::make_unique<QPDF>();
  pdf->setSuppressWarnings(true);
  pdf->setAttemptRecovery(false);
  try {
    pdf->processFile(file.c_str());
  } catch (const QPDFExc& e) {
    if (e.getErrorCode() == qpdf_e_password) {
      throw Refused{errc::cannot_inspect, "the PDF is encrypted with a password; we cannot check or rewrite it"};
    }
    if (e.getErrorCode() == qpdf_e_unsupported) {
      throw Refused{errc::cannot_inspect, "it uses a PDF feature qpdf does not support: " + detail_of(e)};
    }
    throw Refused{errc::bad_media, "qpdf cannot read it without repairing it: " + detail_of(e)};
  }
  check_opened(*pdf);
  return pdf;
}

// Earlier revisions (incremental updates): each is the file up to the
// %%EOF that follows the cross-reference section its successor's /Prev
// names. qpdf reads only the newest; the older ones are read again here,
// best effort, to say what they hold.
class Revisions {
 public:
  explicit Revisions(const fs::path& file) : m_file(file, std::ios::binary) {
    m_file.seekg(0, std::ios::end);
    m_size = static_cast<std::uint64_t>(std::max<std::streamoff>(0, m_file.tellg()));
  }

  void survey(QPDF& newest, std::vector<Finding>& out) {
    if (newest.isLinearized()) return;        // its /Prev points at the main xref of the same revision
    std::vector<std::vector<Finding>> found;  // newest first
    std::uint64_t end = m_size;
    QPDFObjectHandle trailer = newest.getTrailer();
    while (trailer.getKey("/Prev").isInteger() && found.size() < kMaxRevisions) {
      const long long prev = trailer.getKey("/Prev").getIntValue();
      if (prev <= 0 || static_cast<std::uint64_t>(prev) >= end) break;
      const auto eof = find_eof(static_cast<std::uint64_t>(prev), end);
      if (!eof || *eof >= end) {
        found.emplace_back();
        break;
      }
      end = *eof;
      std::vector<Finding> here;
      std::string bytes;  // outlives `older`, which reads from it
      QPDF older;
      older.setSuppressWarnings(true);
      older.setAttemptRecovery(false);
      try {
        if (end > kMaxRevisionBytes) throw std::length_error("too large to read again");
        bytes = read(0, end);
        older.processMemoryFile("earlier revision", bytes.data(), bytes.size());
        QPDFObjectHandle info = older.getTrailer().getKey("/Info");
        if (info.isDictionary()) {
          for (const auto& k : info.getKeys())
            here.push_back({info_category(k), "Info " + k, printable_value(text_of(info.getKey(k)))});
        }
        if (older.getRoot().hasKey("/Metadata")) here.push_back({Category::xmp, "catalog /Metadata", "XMP packet"});
        trailer = older.getTrailer();
        found.push_back(std::move(here));
        if (older.isLinearized()) break;
      } catch (const std::exception&) {
        found.emplace_back();
        break;
      }
    }
    if (found.empty()) return;
    const std::size_t total = found.size() + 1;
    out.push_back({Category::other, "earlier revisions",
                   std::to_string(found.size()) + " kept by incremental updates; a clean copy drops them"});
    for (std::size_t i = 0; i < found.size(); ++i) {
      const std::string label = "revision " + std::to_string(found.size() - i) + " of " + std::to_string(total) + " ";
      for (auto& f : found[i]) out.push_back({f.category, label + f.key, std::move(f.value)});
    }
  }

 private:
  std::string read(std::uint64_t at, std::uint64_t n) {
    std::string s(n, '\0');
    m_file.clear();
    m_file.seekg(static_cast<std::streamoff>(at));
    m_file.read(s.data(), static_cast<std::streamsize>(n));
    s.resize(static_cast<std::size_t>(m_file.gcount()));
    return s;
  }

  // The offset just past the first "%%EOF" (and its end-of-line) at or
  // after `from` and before `limit`.
  std::optional<std::uint64_t> find_eof(std::uint64_t from, std::uint64_t limit) {
    const std::uint64_t stop = std::min<std::uint64_t>(limit, from + kMaxXrefScan);
    constexpr std::uint64_t kChunk = 1 << 20;
    for (std::uint64_t at = from; at < stop; at += kChunk) {
      const std::string s = read(at, std::min<std::uint64_t>(kChunk + 8, stop - at));
      const auto hit = s.find("%%EOF");
      if (hit == std::string::npos || hit >= kChunk) continue;
      const std::uint64_t e = at + hit + 5;
      const std::string eol = read(e, 2);
      std::size_t i = 0;
      if (i < eol.size() && eol[i] == '\r') ++i;
      if (i < eol.size() && eol[i] == '\n') ++i;
      return e + i;
    }
    return std::nullopt;
  }

  std::ifstream m_file;
  std::uint64_t m_size = 0;
};

// Content stream bytes of every page, as stored.
std::vector<std::string> page_contents(QPDF& pdf) {
  std::vector<std::string> out;
  for (auto& page : QPDFPageDocumentHelper(pdf).getAllPages()) {
    std::string bytes;
    QPDFObjectHandle c = page.getObjectHandle().getKey("/Contents");
    std::vector<QPDFObjectHandle> parts = c.isArray() ? c.getArrayAsVector() : std::vector<QPDFObjectHandle>{c};
    for (auto& s : parts) {
      if (!s.isStream()) continue;
      auto raw = s.getRawStreamData();
      bytes.append(reinterpret_cast<const char*>(raw->getBuffer()), raw->getSize());
      bytes += '\0';  // keeps [ab][c] apart from [a][bc]
    }
    out.push_back(std::move(bytes));
  }
  return out;
}

Survey survey(QPDF& pdf) {
  Survey s;
  Surveyor(pdf, s).run();
  if (pdf.anyWarnings()) {
    throw Refused{errc::bad_media, "qpdf can read it only by repairing it: " + detail_of(pdf.getWarnings().front())};
  }
  return s;
}

// Refuses what neither inspect nor scrub can handle.
void refuse_unhandled(const Survey& s) {
  if (!s.embedded.empty() || s.embedded_unnamed) {
    const std::string name = s.embedded.empty() ? "(unnamed)" : s.embedded.front();
    throw Refused{errc::cannot_inspect,
                  "holds an embedded file " + printable_value(name) + "; extract it and publish it on its own"};
  }
  if (s.refusal) throw *s.refusal;
}

// Applies what `s` found must change, in memory.
void clean(QPDF& pdf, Survey& s) {
  QPDFObjectHandle trailer = pdf.getTrailer();
  for (const auto& key : trailer.getKeys()) {
    if (key != "/Root" && key != "/Size") trailer.removeKey(key);
  }
  for (auto& [dict, key] : s.removals) dict.removeKey(key);
  for (auto& fix : s.images) {
    fix.stream.replaceStreamData(fix.clean, QPDFObjectHandle::newName(fix.filter),
                                 fix.parms.isDictionary() ? fix.parms.shallowCopy() : QPDFObjectHandle::newNull());
  }
}

void write_copy(QPDF& pdf, const fs::path& out) {
  QPDFWriter w(pdf, out.c_str());
  w.setDeterministicID(true);
  w.setDecodeLevel(qpdf_dl_none);  // streams keep their bytes and filters
  w.setCompressStreams(false);
  w.setPreserveUnreferencedObjects(false);
  w.setLinearization(false);
  w.write();
}

// Reads the written copy back and checks it against the original's pages.
void verify_copy(const fs::path& out, const std::vector<std::string>& pages) {
  std::unique_ptr<QPDF> copy;
  try {
    copy = open_strict(out);
  } catch (const Refused& r) {
    throw Refused{errc::scrub_failed, "the copy does not read back cleanly: " + r.detail};
  }
  Survey again = survey(*copy);
  if (!again.findings.empty()) {
    const Finding& f = again.findings.front();
    throw Refused{errc::scrub_failed, "the copy still holds " + f.key + " (" + f.value + ")"};
  }
  if (again.refusal || !again.embedded.empty() || again.embedded_unnamed || again.signature) {
    throw Refused{errc::scrub_failed, "the copy holds something the original was refused for"};
  }
  for (const auto& key : copy->getTrailer().getKeys()) {
    // A cross-reference stream's dictionary is the trailer: /Type, /W... stay.
    if (!is_one_of(key, kPlainTrailerKeys) || key == "/Encrypt" || key == "/Prev" || key == "/XRefStm") {
      throw Refused{errc::scrub_failed, "the copy's trailer still holds " + key};
    }
  }
  if (page_contents(*copy) != pages) {
    throw Refused{errc::scrub_failed, "the copy's pages or their content streams differ from the original's"};
  }
}

template <typename Fn>
auto at_boundary(const fs::path& file, Diag* diag, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Refused& r) {
    return fail(r.code, diag, file.string(), r.detail);
  } catch (const QPDFExc& e) {
    return fail(errc::bad_media, diag, file.string(), "qpdf cannot read it: " + detail_of(e));
  } catch (const std::exception& e) {
    return fail(errc::bad_media, diag, file.string(), std::string("cannot read it: ") + e.what());
  }
}

}  // namespace

Result<std::vector<Finding>> inspect(const fs::path& file, Diag* diag) {
  return at_boundary(file, diag, [&]() -> Result<std::vector<Finding>> {
    auto pdf = open_strict(file);
    Survey s = survey(*pdf);
    refuse_unhandled(s);
    Revisions(file).survey(*pdf, s.findings);
    return std::move(s.findings);
  });
}

Result<void> scrub(const fs::path& in, const fs::path& out, Diag* diag) {
  std::error_code ec;
  if (in == out || fs::equivalent(in, out, ec)) {
    return fail(errc::scrub_failed, diag, in.string(), "the copy would overwrite the original");
  }
  return at_boundary(in, diag, [&]() -> Result<void> {
    auto pdf = open_strict(in);
    Survey s = survey(*pdf);
    refuse_unhandled(s);
    if (s.signature) {
      throw Refused{errc::cannot_inspect, "is digitally signed (" + printable_value(*s.signature) +
                                              "); a clean copy would break the signature, so remove it yourself first"};
    }
    const auto pages = page_contents(*pdf);
    clean(*pdf, s);
    try {
      write_copy(*pdf, out);
      if (pdf->anyWarnings()) {
        throw Refused{errc::scrub_failed,
                      "qpdf warned while writing the copy: " + detail_of(pdf->getWarnings().front())};
      }
      verify_copy(out, pages);
    } catch (const Refused&) {
      fs::remove(out, ec);
      throw;
    } catch (const std::exception& e) {
      fs::remove(out, ec);
      throw Refused{errc::scrub_failed, std::string("writing the copy failed: ") + e.what()};
    }
    return success();
  });
}

}  // namespace tz::scrub::pdf
