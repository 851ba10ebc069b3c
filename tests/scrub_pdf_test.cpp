// Source safety for PDF (scrub/pdf.h) and the JPEG segment walker it uses
// (scrub/jpeg_segments.h). The PDFs are built here with libqpdf; the JPEGs
// with cjpeg and tagged with exiftool; exiftool, djpeg and `qpdf --check`
// are the independent readers that judge the clean copies.
#include "scrub/jpeg2000_boxes.h"
#include "scrub/jpeg_segments.h"
#include "scrub/pdf.h"
#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <qpdf/Buffer.hh>
#include <qpdf/Pl_Buffer.hh>
#include <qpdf/Pl_Flate.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFEFStreamObjectHelper.hh>
#include <qpdf/QPDFEmbeddedFileDocumentHelper.hh>
#include <qpdf/QPDFFileSpecObjectHelper.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

namespace {

namespace fs = std::filesystem;
namespace pdf = tz::scrub::pdf;
namespace jpeg = tz::scrub::jpeg;
namespace jpeg2000 = tz::scrub::jpeg2000;
using tz::scrub::Category;
using tz::scrub::Finding;
using tz::test::TempDir;

// ---------------------------------------------------------------------------
// Running the independent tools.

struct ToolRun {
  int code = -1;  // exit code, or -1 when it had to be killed
  std::string out;
};

// Runs `args` (argv[0] found on PATH) with stdout and stderr to a file, for
// at most 60 s.
ToolRun run_tool(const std::vector<std::string>& args, const fs::path& scratch) {
  const fs::path log = scratch / ("tool-" + std::to_string(::getpid()) + ".out");
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) ::_exit(127);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ToolRun r;
  if (pid < 0) return r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::ifstream f(log, std::ios::binary);
  r.out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  fs::remove(log);
  return r;
}

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// exiftool's reading of `file`: group:tag -> value.
std::map<std::string, std::string> exiftool(const fs::path& file, const fs::path& scratch) {
  const ToolRun r = run_tool({"exiftool", "-j", "-a", "-G1", file.string()}, scratch);
  EXPECT_EQ(r.code, 0) << r.out;
  std::map<std::string, std::string> out;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_array() && j.size() == 1) << r.out;
  if (!j.is_array() || j.empty()) return out;
  for (auto it = j[0].begin(); it != j[0].end(); ++it) out[it.key()] = it.value().dump();
  return out;
}

// ---------------------------------------------------------------------------
// Test material.

// A 16x16 JPEG made by cjpeg; with `tagged`, exiftool adds GPS, a camera
// serial, an owner, XMP, IPTC and a comment.
std::string make_jpeg(const TempDir& dir, const std::string& name, bool tagged) {
  std::string ppm = "P6\n16 16\n255\n";
  ppm += tz::test::random_bytes(16 * 16 * 3, 7);
  tz::test::write_file(dir / (name + ".ppm"), ppm);
  const fs::path jpg = dir / (name + ".jpg");
  const ToolRun c =
      run_tool({"cjpeg", "-quality", "90", "-outfile", jpg.string(), (dir / (name + ".ppm")).string()}, dir.path());
  EXPECT_EQ(c.code, 0) << c.out;
  if (tagged) {
    const ToolRun t = run_tool(
        {"exiftool", "-q", "-overwrite_original", "-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945",
         "-GPSLongitudeRef=E", "-SerialNumber=SN-4711", "-Make=Canon", "-Model=EOS 5D", "-Artist=Jane Source",
         "-XMP:CreatorTool=Camera FW 1.0", "-IPTC:By-line=Jane Source", "-Comment=taken at the ministry", jpg.string()},
        dir.path());
    EXPECT_EQ(t.code, 0) << t.out;
  }
  return read_all(jpg);
}

const char* const kXmp =
    "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>\n"
    "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
    "<rdf:Description rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/' "
    "xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:pdf='http://ns.adobe.com/pdf/1.3/' "
    "xmp:CreatorTool='Microsoft Word 16.0' xmp:CreateDate='2024-03-01T09:30:00Z' pdf:Producer='Quartz PDFContext'>"
    "<dc:creator><rdf:Seq><rdf:li>Jane Source</rdf:li></rdf:Seq></dc:creator>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end='w'?>";

QPDFObjectHandle name(const char* n) { return QPDFObjectHandle::newName(n); }
QPDFObjectHandle str(const std::string& s) { return QPDFObjectHandle::newUnicodeString(s); }
QPDFObjectHandle num(int i) { return QPDFObjectHandle::newInteger(i); }

QPDFObjectHandle xmp_stream(QPDF& q) {
  QPDFObjectHandle m = QPDFObjectHandle::newStream(&q, kXmp);
  m.getDict().replaceKey("/Type", name("/Metadata"));
  m.getDict().replaceKey("/Subtype", name("/XML"));
  return m;
}

QPDFObjectHandle image_stream(QPDF& q, const std::string& data, QPDFObjectHandle filter) {
  QPDFObjectHandle s = QPDFObjectHandle::newStream(&q, data);
  QPDFObjectHandle d = s.getDict();
  d.replaceKey("/Type", name("/XObject"));
  d.replaceKey("/Subtype", name("/Image"));
  d.replaceKey("/Width", num(16));
  d.replaceKey("/Height", num(16));
  d.replaceKey("/ColorSpace", name("/DeviceRGB"));
  d.replaceKey("/BitsPerComponent", num(8));
  d.replaceKey("/Filter", filter);
  return s;
}

std::string deflate(const std::string& data) {
  Pl_Buffer buf("deflated");
  Pl_Flate fl("deflate", &buf, Pl_Flate::a_deflate);
  fl.write(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  fl.finish();
  auto b = buf.getBufferSharedPointer();
  return {reinterpret_cast<const char*>(b->getBuffer()), b->getSize()};
}

constexpr const char* kPage1 =
    "BT /F1 24 Tf 72 720 Td (Hello, reader) Tj ET q 100 0 0 100 72 500 cm /Im1 Do Q "
    "q 100 0 0 100 272 500 cm /Im2 Do Q\n";
constexpr const char* kPage2 = "BT /F1 12 Tf 72 720 Td (Second page) Tj ET\n";

// Adds a page with the content stream `content` and these resources.
QPDFObjectHandle add_page(QPDF& q, const std::string& content, QPDFObjectHandle xobjects) {
  QPDFObjectHandle font =
      q.makeIndirectObject(QPDFObjectHandle::parse("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"));
  QPDFObjectHandle res = QPDFObjectHandle::newDictionary();
  QPDFObjectHandle fonts = QPDFObjectHandle::newDictionary();
  fonts.replaceKey("/F1", font);
  res.replaceKey("/Font", fonts);
  if (!xobjects.isNull()) res.replaceKey("/XObject", xobjects);
  QPDFObjectHandle page = QPDFObjectHandle::parse("<< /Type /Page /MediaBox [0 0 612 792] >>");
  page.replaceKey("/Resources", res);
  page.replaceKey("/Contents", QPDFObjectHandle::newStream(&q, content));
  QPDFPageDocumentHelper(q).addPage(QPDFPageObjectHelper(q.makeIndirectObject(page)), false);
  return QPDFPageDocumentHelper(q).getAllPages().back().getObjectHandle();
}

void set_info(QPDF& q, const std::map<std::string, std::string>& entries) {
  QPDFObjectHandle info = QPDFObjectHandle::newDictionary();
  for (const auto& [k, v] : entries) info.replaceKey(k, str(v));
  q.getTrailer().replaceKey("/Info", q.makeIndirectObject(info));
}

// Writes `q` with a classic cross-reference table, streams as given.
void write_pdf(QPDF& q, const fs::path& path) {
  QPDFWriter w(q, path.c_str());
  w.setStaticID(true);
  w.setObjectStreamMode(qpdf_o_disable);
  w.setCompressStreams(false);
  w.setDecodeLevel(qpdf_dl_none);
  w.write();
}

// A two-page PDF carrying every kind of metadata scrub removes: Info, XMP on
// the catalog, a page and an image, PieceInfo, a review comment, and two
// tagged JPEGs (one under FlateDecode).
void make_identifying_pdf(const TempDir& dir, const fs::path& path, const std::string& tagged_jpeg) {
  QPDF q;
  q.emptyPDF();
  QPDFObjectHandle im1 = image_stream(q, tagged_jpeg, name("/DCTDecode"));
  im1.getDict().replaceKey("/Metadata", xmp_stream(q));
  QPDFObjectHandle chain = QPDFObjectHandle::newArray();
  chain.appendItem(name("/FlateDecode"));
  chain.appendItem(name("/DCTDecode"));
  QPDFObjectHandle im2 = image_stream(q, deflate(tagged_jpeg), chain);
  QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
  xobjects.replaceKey("/Im1", im1);
  xobjects.replaceKey("/Im2", im2);
  QPDFObjectHandle page = add_page(q, kPage1, xobjects);
  add_page(q, kPage2, QPDFObjectHandle::newNull());

  page.replaceKey("/Metadata", xmp_stream(q));
  page.replaceKey(
      "/PieceInfo",
      QPDFObjectHandle::parse(
          "<< /Illustrator << /LastModified (D:20240301093000Z) /Private << /Path (/home/jane/memo.ai) >> >> >>"));
  page.replaceKey("/LastModified", str("D:20240301093000Z"));
  // A thumbnail of the page as it was (8x8 grey samples).
  QPDFObjectHandle thumb = QPDFObjectHandle::newStream(&q, std::string(64, '\x80'));
  thumb.getDict().replaceKey("/Width", num(8));
  thumb.getDict().replaceKey("/Height", num(8));
  thumb.getDict().replaceKey("/ColorSpace", name("/DeviceGray"));
  thumb.getDict().replaceKey("/BitsPerComponent", num(8));
  page.replaceKey("/Thumb", thumb);
  QPDFObjectHandle note = q.makeIndirectObject(
      QPDFObjectHandle::parse("<< /Type /Annot /Subtype /Text /Rect [72 600 92 620] /Contents (Check the figures) >>"));
  note.replaceKey("/T", str("Jane Source"));
  note.replaceKey("/M", str("D:20240302100000Z"));
  note.replaceKey("/CreationDate", str("D:20240302095900Z"));
  note.replaceKey("/NM", str("jane-2024-03-02"));
  QPDFObjectHandle annots = QPDFObjectHandle::newArray();
  annots.appendItem(note);
  page.replaceKey("/Annots", annots);

  q.getRoot().replaceKey("/Metadata", xmp_stream(q));
  set_info(q, {{"/Author", "Jane Source"},
               {"/Creator", "Microsoft Word 16.0"},
               {"/Producer", "Quartz PDFContext"},
               {"/CreationDate", "D:20240301093000Z"},
               {"/ModDate", "D:20240301094500Z"},
               {"/Title", "Internal memo"},
               {"/Company", "Ministry of Examples"}});
  write_pdf(q, path);
  (void)dir;
}

// A one-page PDF with nothing identifying but what `extra` adds.
template <typename Fn>
void make_pdf(const fs::path& path, Fn&& extra) {
  QPDF q;
  q.emptyPDF();
  add_page(q, kPage2, QPDFObjectHandle::newNull());
  extra(q);
  write_pdf(q, path);
}

// ---------------------------------------------------------------------------
// Reading results.

const Finding* find(const std::vector<Finding>& fs_, const std::string& key) {
  for (const auto& f : fs_) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

const Finding* find_ending(const std::vector<Finding>& fs_, const std::string& tail) {
  for (const auto& f : fs_) {
    if (f.key.size() >= tail.size() && f.key.compare(f.key.size() - tail.size(), tail.size(), tail) == 0) return &f;
  }
  return nullptr;
}

std::string dump(const std::vector<Finding>& fs_) {
  std::string s;
  for (const auto& f : fs_)
    s += std::string(tz::scrub::category_name(f.category)) + " | " + f.key + " | " + f.value + "\n";
  return s;
}

struct PdfFacts {
  std::size_t pages = 0;
  std::vector<std::string> contents;  // raw content stream bytes per page
  std::vector<std::string> images;    // raw data of image streams, object order
  std::vector<std::string> image_filters;
  std::set<std::string> trailer_keys;
  std::string id;
};

PdfFacts facts(const fs::path& path) {
  QPDF q;
  q.processFile(path.c_str());
  PdfFacts f;
  for (auto& p : QPDFPageDocumentHelper(q).getAllPages()) {
    ++f.pages;
    auto raw = p.getObjectHandle().getKey("/Contents").getRawStreamData();
    f.contents.emplace_back(reinterpret_cast<const char*>(raw->getBuffer()), raw->getSize());
  }
  for (auto& o : q.getAllObjects()) {
    if (!o.isStream() || o.getDict().getKey("/Subtype").unparse() != "/Image") continue;
    auto raw = o.getRawStreamData();
    f.images.emplace_back(reinterpret_cast<const char*>(raw->getBuffer()), raw->getSize());
    f.image_filters.push_back(o.getDict().getKey("/Filter").unparse());
  }
  for (const auto& k : q.getTrailer().getKeys()) f.trailer_keys.insert(k);
  f.id = q.getTrailer().getKey("/ID").unparse();
  return f;
}

void expect_error(const tz::Result<std::vector<Finding>>& r, tz::errc want, const std::string& detail_part,
                  const tz::Diag& d) {
  ASSERT_FALSE(r.has_value()) << dump(r.value());
  EXPECT_EQ(r.error(), tz::make_error_code(want)) << tz::error_name(r.error()) << ": " << d.detail;
  EXPECT_NE(d.detail.find(detail_part), std::string::npos) << d.detail;
}

// Both entry points refuse `in` with `want`, and scrub writes nothing.
void expect_refused(const TempDir& dir, const fs::path& in, tz::errc want, const std::string& detail_part) {
  tz::Diag d;
  expect_error(pdf::inspect(in, &d), want, detail_part, d);
  EXPECT_EQ(d.file, in.string());
  const fs::path out = dir / "refused-out.pdf";
  tz::Diag sd;
  const auto r = pdf::scrub(in, out, &sd);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), tz::make_error_code(want)) << tz::error_name(r.error()) << ": " << sd.detail;
  EXPECT_NE(sd.detail.find(detail_part), std::string::npos) << sd.detail;
  EXPECT_FALSE(fs::exists(out));
}

// ---------------------------------------------------------------------------
// The PDF with everything in it.

class ScrubPdf : public ::testing::Test {
 protected:
  void SetUp() override {
    m_jpeg = make_jpeg(m_dir, "tagged", true);
    m_in = m_dir / "memo.pdf";
    make_identifying_pdf(m_dir, m_in, m_jpeg);
  }
  TempDir m_dir;
  std::string m_jpeg;
  fs::path m_in;
};

TEST_F(ScrubPdf, InspectFindsEachKindInItsCategory) {
  tz::Diag d;
  const auto r = pdf::inspect(m_in, &d);
  ASSERT_TRUE(r.has_value()) << d.detail;
  const auto& f = r.value();
  const auto expect = [&](const std::string& key, Category c, const std::string& value = {}) {
    const Finding* x = find(f, key);
    ASSERT_NE(x, nullptr) << key << "\n" << dump(f);
    EXPECT_EQ(x->category, c) << key;
    if (!value.empty()) {
      EXPECT_EQ(x->value, value) << key;
    }
  };
  expect("Info /Author", Category::owner, "Jane Source");
  expect("Info /Creator", Category::software, "Microsoft Word 16.0");
  expect("Info /Producer", Category::software, "Quartz PDFContext");
  expect("Info /CreationDate", Category::time, "D:20240301093000Z");
  expect("Info /ModDate", Category::time, "D:20240301094500Z");
  expect("Info /Title", Category::comment, "Internal memo");
  expect("Info /Company", Category::comment, "Ministry of Examples");
  expect("catalog /Metadata", Category::xmp);
  expect("catalog /Metadata Xmp.xmp.CreatorTool", Category::software, "Microsoft Word 16.0");
  expect("catalog /Metadata Xmp.xmp.CreateDate", Category::time);
  expect("catalog /Metadata Xmp.pdf.Producer", Category::software, "Quartz PDFContext");
  expect("catalog /Metadata Xmp.dc.creator", Category::owner, "Jane Source");
  expect("page 1 /Metadata", Category::xmp);
  expect("page 1 /PieceInfo", Category::software, "Illustrator");
  expect("page 1 /LastModified", Category::time, "D:20240301093000Z");
  expect("page 1 /Thumb", Category::thumbnail);

  const Finding* author = find_ending(f, "annotation Text /T");
  ASSERT_NE(author, nullptr) << dump(f);
  EXPECT_EQ(author->category, Category::owner);
  EXPECT_EQ(author->value, "Jane Source");
  ASSERT_NE(find_ending(f, "annotation Text /M"), nullptr);
  EXPECT_EQ(find_ending(f, "annotation Text /M")->category, Category::time);
  ASSERT_NE(find_ending(f, "annotation Text /CreationDate"), nullptr);
  ASSERT_NE(find_ending(f, "annotation Text /NM"), nullptr);

  // Both images: the one under FlateDecode is read through it.
  std::size_t gps = 0, serial = 0, artist = 0, exif = 0, xmp = 0, iptc = 0, comment = 0, image_xmp = 0;
  for (const auto& x : f) {
    if (x.key.ends_with("JPEG Exif.GPSInfo.GPSLatitude") && x.category == Category::gps) ++gps;
    if (x.key.ends_with("JPEG Exif.Photo.BodySerialNumber") && x.category == Category::device && x.value == "SN-4711")
      ++serial;
    if (x.key.ends_with("JPEG Exif.Image.Artist") && x.category == Category::owner && x.value == "Jane Source")
      ++artist;
    if (x.key.ends_with("JPEG APP1 Exif")) ++exif;
    if (x.key.ends_with("JPEG APP1 XMP") && x.category == Category::xmp) ++xmp;
    if (x.key.ends_with("JPEG APP13 Photoshop 3.0") && x.category == Category::iptc) ++iptc;
    if (x.key.ends_with("JPEG COM") && x.category == Category::comment) ++comment;
    if (x.key.starts_with("object ") && x.key.ends_with(" /Metadata") && x.category == Category::xmp) ++image_xmp;
  }
  EXPECT_EQ(gps, 2u) << dump(f);
  EXPECT_EQ(serial, 2u);
  EXPECT_EQ(artist, 2u);
  EXPECT_EQ(exif, 2u);
  EXPECT_EQ(xmp, 2u);
  EXPECT_EQ(iptc, 2u);
  EXPECT_EQ(comment, 2u);
  EXPECT_EQ(image_xmp, 1u);
  // The file identifier is replaced by scrub but not reported (see pdf.h).
  EXPECT_EQ(find(f, "trailer /ID"), nullptr);
  for (const auto& x : f) EXPECT_LE(x.value.size(), 96u);
}

TEST_F(ScrubPdf, ScrubLeavesNothingAnIndependentReaderSees) {
  const std::string original = read_all(m_in);
  const fs::path out = m_dir / "clean.pdf";
  tz::Diag d;
  ASSERT_TRUE(pdf::scrub(m_in, out, &d).has_value()) << d.detail;
  EXPECT_EQ(read_all(m_in), original);  // the original is only read

  // Our own reading of the copy finds nothing.
  const auto again = pdf::inspect(out, &d);
  ASSERT_TRUE(again.has_value()) << d.detail;
  EXPECT_TRUE(again.value().empty()) << dump(again.value());

  // exiftool sees only what any PDF has.
  const auto tags = exiftool(out, m_dir.path());
  const std::set<std::string> allowed = {"SourceFile", "PDF:PDFVersion", "PDF:Linearized", "PDF:PageCount"};
  for (const auto& [k, v] : tags) {
    const bool plain =
        allowed.contains(k) || k.starts_with("System:") || k.starts_with("File:") || k.starts_with("ExifTool:");
    EXPECT_TRUE(plain) << k << " = " << v;
  }
  EXPECT_EQ(tags.at("PDF:PageCount"), "2");
  // The same reading of the original shows what was there.
  const auto before = exiftool(m_in, m_dir.path());
  EXPECT_TRUE(before.contains("PDF:Author")) << "exiftool no longer reads Info: the check above proves nothing";
  EXPECT_TRUE(before.contains("XMP-dc:Creator"));

  // No identifying string survives anywhere in the bytes.
  const std::string bytes = read_all(out);
  for (const char* s : {"Jane", "Word 16", "Quartz", "SN-4711", "EOS 5D", "ministry", "Ministry", "2024", "Illustrator",
                        "/home/jane", "xmpmeta", "Exif"}) {
    EXPECT_EQ(bytes.find(s), std::string::npos) << s;
  }

  // qpdf's own check passes.
  const ToolRun check = run_tool({"qpdf", "--check", out.string()}, m_dir.path());
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("No syntax or stream encoding errors"), std::string::npos) << check.out;

  // Same pages, same content stream bytes; trailer down to what it needs.
  const PdfFacts a = facts(m_in);
  const PdfFacts b = facts(out);
  EXPECT_EQ(b.pages, 2u);
  EXPECT_EQ(a.pages, b.pages);
  EXPECT_EQ(a.contents, b.contents);
  EXPECT_EQ(b.contents[0], kPage1);
  EXPECT_EQ(b.trailer_keys, (std::set<std::string>{"/ID", "/Root", "/Size"}));
  EXPECT_NE(a.id, b.id);

  // The images: no metadata for exiftool, the same pixels for djpeg.
  ASSERT_EQ(b.images.size(), 2u);
  tz::test::write_file(m_dir / "orig.jpg", m_jpeg);
  const ToolRun ref = run_tool(
      {"djpeg", "-pnm", "-outfile", (m_dir / "orig.ppm").string(), (m_dir / "orig.jpg").string()}, m_dir.path());
  ASSERT_EQ(ref.code, 0) << ref.out;
  for (std::size_t i = 0; i < b.images.size(); ++i) {
    EXPECT_EQ(b.image_filters[i], "/DCTDecode");
    const fs::path jpg = m_dir / ("out" + std::to_string(i) + ".jpg");
    tz::test::write_file(jpg, b.images[i]);
    EXPECT_LT(b.images[i].size(), m_jpeg.size());
    for (const auto& [k, v] : exiftool(jpg, m_dir.path())) {
      const bool plain = k == "SourceFile" || k.starts_with("System:") || k.starts_with("File:") ||
                         k.starts_with("ExifTool:") || k.starts_with("JFIF:") || k.starts_with("Composite:");
      EXPECT_TRUE(plain) << k << " = " << v;
      EXPECT_NE(k, "File:Comment");
    }
    const fs::path ppm = m_dir / ("out" + std::to_string(i) + ".ppm");
    const ToolRun dj = run_tool({"djpeg", "-pnm", "-outfile", ppm.string(), jpg.string()}, m_dir.path());
    ASSERT_EQ(dj.code, 0) << dj.out;
    EXPECT_EQ(read_all(ppm), read_all(m_dir / "orig.ppm")) << "pixels changed in image " << i;
  }
}

// The same document with its objects in object streams and a
// cross-reference stream (PDF 1.5), and linearized: neither hides anything,
// and a linearized file's two cross-reference sections are not revisions.
TEST_F(ScrubPdf, ObjectStreamsAndLinearizedFiles) {
  for (const bool linearize : {false, true}) {
    SCOPED_TRACE(linearize ? "linearized" : "object streams");
    const fs::path in = m_dir / (linearize ? "linear.pdf" : "objstm.pdf");
    {
      QPDF q;
      q.processFile(m_in.c_str());
      QPDFWriter w(q, in.c_str());
      w.setObjectStreamMode(qpdf_o_generate);
      w.setLinearization(linearize);
      w.write();
    }
    ASSERT_NE(read_all(in).find(linearize ? "/Linearized" : "/ObjStm"), std::string::npos);
    tz::Diag d;
    const auto r = pdf::inspect(in, &d);
    ASSERT_TRUE(r.has_value()) << d.detail;
    ASSERT_NE(find(r.value(), "Info /Author"), nullptr) << dump(r.value());
    EXPECT_NE(find(r.value(), "catalog /Metadata Xmp.dc.creator"), nullptr) << dump(r.value());
    EXPECT_EQ(find(r.value(), "earlier revisions"), nullptr) << dump(r.value());

    const fs::path out = m_dir / "clean.pdf";
    ASSERT_TRUE(pdf::scrub(in, out, &d).has_value()) << d.detail;
    const auto again = pdf::inspect(out, &d);
    ASSERT_TRUE(again.has_value()) << d.detail;
    EXPECT_TRUE(again.value().empty()) << dump(again.value());
    for (const auto& [k, v] : exiftool(out, m_dir.path())) {
      const bool plain = k == "SourceFile" || k == "PDF:PDFVersion" || k == "PDF:Linearized" || k == "PDF:PageCount" ||
                         k.starts_with("System:") || k.starts_with("File:") || k.starts_with("ExifTool:");
      EXPECT_TRUE(plain) << k << " = " << v;
    }
    const ToolRun check = run_tool({"qpdf", "--check", out.string()}, m_dir.path());
    EXPECT_EQ(check.code, 0) << check.out;
    EXPECT_EQ(facts(out).contents, facts(in).contents);
  }
}

TEST_F(ScrubPdf, ScrubIsDeterministic) {
  const fs::path a = m_dir / "a.pdf";
  const fs::path b = m_dir / "b.pdf";
  ASSERT_TRUE(pdf::scrub(m_in, a).has_value());
  ASSERT_TRUE(pdf::scrub(m_in, b).has_value());
  EXPECT_EQ(read_all(a), read_all(b));
  // Scrubbing a clean copy changes nothing but what qpdf always rewrites.
  const fs::path c = m_dir / "c.pdf";
  ASSERT_TRUE(pdf::scrub(a, c).has_value());
  EXPECT_EQ(facts(c).contents, facts(a).contents);
}

TEST_F(ScrubPdf, ScrubRefusesToOverwriteItsInput) {
  const std::string original = read_all(m_in);
  tz::Diag d;
  const auto r = pdf::scrub(m_in, m_in, &d);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), tz::make_error_code(tz::errc::scrub_failed));
  EXPECT_EQ(read_all(m_in), original);
}

// ---------------------------------------------------------------------------
// JPEG 2000 images.

// A 16x16 image made by opj_compress, which signs its codestream with a
// comment; a JP2 file (`jp2`) also gets Exif with GPS and XMP from exiftool.
std::string make_jpeg2000(const TempDir& dir, const std::string& name, bool jp2) {
  std::string ppm = "P6\n16 16\n255\n";
  ppm += tz::test::random_bytes(16 * 16 * 3, 11);
  tz::test::write_file(dir / (name + ".ppm"), ppm);
  const fs::path out = dir / (name + (jp2 ? ".jp2" : ".j2k"));
  const ToolRun c =
      run_tool({"opj_compress", "-n", "2", "-i", (dir / (name + ".ppm")).string(), "-o", out.string()}, dir.path());
  EXPECT_EQ(c.code, 0) << c.out;
  if (jp2) {
    const ToolRun t = run_tool({"exiftool", "-q", "-overwrite_original", "-GPSLatitude=48.8584", "-GPSLatitudeRef=N",
                                "-XMP:CreatorTool=Kakadu v7", "-XMP:Creator=Jane Source", out.string()},
                               dir.path());
    EXPECT_EQ(t.code, 0) << t.out;
  }
  return read_all(out);
}

// The pixels opj_decompress gets from the JPEG 2000 data `bytes`.
std::string jpeg2000_pixels(const TempDir& dir, const std::string& bytes, bool jp2, const std::string& name) {
  const fs::path in = dir / (name + (jp2 ? ".jp2" : ".j2k"));
  const fs::path out = dir / (name + "-pixels.ppm");
  tz::test::write_file(in, bytes);
  const ToolRun d = run_tool({"opj_decompress", "-i", in.string(), "-o", out.string()}, dir.path());
  EXPECT_EQ(d.code, 0) << d.out;
  return read_all(out);
}

TEST(ScrubPdfJpeg2000, BoxesAndCommentsAreReportedAndDropped) {
  TempDir dir;
  const std::string jp2 = make_jpeg2000(dir, "tagged", true);
  const std::string j2k = make_jpeg2000(dir, "bare", false);
  ASSERT_NE(j2k.find("Created by OpenJPEG"), std::string::npos);  // else the comment check proves nothing
  const fs::path in = dir / "scan.pdf";
  {
    QPDF q;
    q.emptyPDF();
    QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
    xobjects.replaceKey("/Im1", image_stream(q, jp2, name("/JPXDecode")));
    xobjects.replaceKey("/Im2", image_stream(q, j2k, name("/JPXDecode")));
    add_page(q, kPage1, xobjects);
    write_pdf(q, in);
  }
  tz::Diag d;
  const auto r = pdf::inspect(in, &d);
  ASSERT_TRUE(r.has_value()) << d.detail;
  const auto& f = r.value();
  std::size_t comments = 0, xmp = 0, exif = 0, gps = 0, creator = 0;
  for (const auto& x : f) {
    if (x.key.ends_with("JPEG 2000 COM") && x.category == Category::comment) ++comments;
    if (x.key.ends_with("JPEG 2000 uuid box (XMP)") && x.category == Category::xmp) ++xmp;
    if (x.key.ends_with("JPEG 2000 uuid box (Exif)")) ++exif;
    if (x.key.ends_with("JPEG 2000 Exif.GPSInfo.GPSLatitude") && x.category == Category::gps) ++gps;
    if (x.key.ends_with("JPEG 2000 Xmp.dc.creator") && x.value == "Jane Source") ++creator;
  }
  EXPECT_EQ(comments, 2u) << dump(f);
  EXPECT_EQ(xmp, 1u) << dump(f);
  EXPECT_EQ(exif, 1u) << dump(f);
  EXPECT_EQ(gps, 1u) << dump(f);
  EXPECT_EQ(creator, 1u) << dump(f);

  const fs::path out = dir / "clean.pdf";
  ASSERT_TRUE(pdf::scrub(in, out, &d).has_value()) << d.detail;
  const auto again = pdf::inspect(out, &d);
  ASSERT_TRUE(again.has_value()) << d.detail;
  EXPECT_TRUE(again.value().empty()) << dump(again.value());
  const std::string bytes = read_all(out);
  for (const char* s : {"OpenJPEG", "Kakadu", "Jane", "JpgTiffExif"}) EXPECT_EQ(bytes.find(s), std::string::npos) << s;
  const ToolRun check = run_tool({"qpdf", "--check", out.string()}, dir.path());
  EXPECT_EQ(check.code, 0) << check.out;

  const PdfFacts b = facts(out);
  ASSERT_EQ(b.images.size(), 2u);
  const std::map<bool, std::string> original = {{true, jp2}, {false, j2k}};
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(b.image_filters[i], "/JPXDecode");
    const bool is_jp2 = b.images[i].starts_with(std::string("\0\0\0\x0CjP  ", 8));
    const std::string& before = original.at(is_jp2);
    EXPECT_LT(b.images[i].size(), before.size());
    EXPECT_EQ(jpeg2000_pixels(dir, b.images[i], is_jp2, "clean" + std::to_string(i)),
              jpeg2000_pixels(dir, before, is_jp2, "orig" + std::to_string(i)))
        << "pixels changed in image " << i;
    const fs::path file = dir / ("clean" + std::to_string(i) + (is_jp2 ? ".jp2" : ".j2k"));
    for (const auto& [k, v] : exiftool(file, dir.path())) {
      const bool plain = k == "SourceFile" || k.starts_with("System:") || k.starts_with("ExifTool:") ||
                         k.starts_with("Jpeg2000:") || k.starts_with("Composite:") || k.starts_with("File:");
      EXPECT_TRUE(plain) << k << " = " << v;
      EXPECT_NE(k, "File:Comment");
      EXPECT_NE(k, "Jpeg2000:Comment");
    }
  }
}

// ---------------------------------------------------------------------------
// Incremental updates.

// Appends an incremental update to the classic-xref PDF at `path` that
// points /Info at a new dictionary holding `info` (the old one stays in the
// file, unreferenced).
void append_update(const fs::path& path, const std::string& info) {
  std::string bytes = read_all(path);
  const auto sx = bytes.rfind("startxref");
  ASSERT_NE(sx, std::string::npos);
  const long long prev = std::stoll(bytes.substr(sx + 9));
  QPDF q;
  q.processFile(path.c_str());
  const int size = static_cast<int>(q.getTrailer().getKey("/Size").getIntValue());
  const std::string root = q.getTrailer().getKey("/Root").unparse();
  const std::size_t obj_at = bytes.size() + 1;
  bytes += "\n" + std::to_string(size) + " 0 obj\n" + info + "\nendobj\n";
  const std::size_t xref_at = bytes.size();
  char entry[21];
  std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", obj_at);
  bytes += "xref\n0 1\n0000000000 65535 f \n" + std::to_string(size) + " 1\n" + entry;
  bytes += "trailer\n<< /Size " + std::to_string(size + 1) + " /Root " + root + " /Info " + std::to_string(size) +
           " 0 R /Prev " + std::to_string(prev) + " >>\nstartxref\n" + std::to_string(xref_at) + "\n%%EOF\n";
  tz::test::write_file(path, bytes);
}

TEST(ScrubPdfRevisions, EarlierRevisionIsReportedAndDropped) {
  TempDir dir;
  const fs::path in = dir / "updated.pdf";
  make_pdf(in, [](QPDF& q) { set_info(q, {{"/Author", "Old Author"}, {"/Producer", "Old Producer 1.0"}}); });
  append_update(in, "<< /Title (Updated title) >>");
  ASSERT_NE(read_all(in).find("Old Author"), std::string::npos);
  // The file is well formed: qpdf reads it without repair and sees the update.
  const ToolRun check = run_tool({"qpdf", "--check", in.string()}, dir.path());
  ASSERT_EQ(check.code, 0) << check.out;

  tz::Diag d;
  const auto r = pdf::inspect(in, &d);
  ASSERT_TRUE(r.has_value()) << d.detail;
  const auto& f = r.value();
  EXPECT_EQ(find(f, "Info /Author"), nullptr) << dump(f);  // not in the current revision
  ASSERT_NE(find(f, "Info /Title"), nullptr) << dump(f);
  ASSERT_NE(find(f, "earlier revisions"), nullptr) << dump(f);
  EXPECT_EQ(find(f, "earlier revisions")->category, Category::other);
  const Finding* old = find(f, "revision 1 of 2 Info /Author");
  ASSERT_NE(old, nullptr) << dump(f);
  EXPECT_EQ(old->value, "Old Author");
  EXPECT_EQ(old->category, Category::owner);
  ASSERT_NE(find(f, "revision 1 of 2 Info /Producer"), nullptr);

  const fs::path out = dir / "clean.pdf";
  ASSERT_TRUE(pdf::scrub(in, out, &d).has_value()) << d.detail;
  const std::string bytes = read_all(out);
  for (const char* s : {"Old Author", "Old Producer", "Updated title", "/Prev"})
    EXPECT_EQ(bytes.find(s), std::string::npos) << s;
  EXPECT_EQ(bytes.find("%%EOF"), bytes.rfind("%%EOF"));  // one revision
  const auto again = pdf::inspect(out, &d);
  ASSERT_TRUE(again.has_value()) << d.detail;
  EXPECT_TRUE(again.value().empty()) << dump(again.value());
  for (const auto& [k, v] : exiftool(out, dir.path())) {
    EXPECT_EQ(k.find("Author"), std::string::npos) << k;
    EXPECT_EQ(k.find("Producer"), std::string::npos) << k;
    EXPECT_EQ(k.find("Title"), std::string::npos) << k;
  }
  const ToolRun check_out = run_tool({"qpdf", "--check", out.string()}, dir.path());
  EXPECT_EQ(check_out.code, 0) << check_out.out;
}

// ---------------------------------------------------------------------------
// What is refused.

TEST(ScrubPdfRefused, EncryptedWithAPassword) {
  TempDir dir;
  const fs::path in = dir / "locked.pdf";
  QPDF q;
  q.emptyPDF();
  add_page(q, kPage2, QPDFObjectHandle::newNull());
  QPDFWriter w(q, in.c_str());
  w.setR6EncryptionParameters("user-pw", "owner-pw", true, true, true, true, true, true, qpdf_r3p_full, true);
  w.write();
  expect_refused(dir, in, tz::errc::cannot_inspect, "encrypted");
}

TEST(ScrubPdfRefused, EncryptedWithAnEmptyUserPassword) {
  TempDir dir;
  const fs::path in = dir / "restricted.pdf";
  QPDF q;
  q.emptyPDF();
  add_page(q, kPage2, QPDFObjectHandle::newNull());
  set_info(q, {{"/Author", "Jane Source"}});
  QPDFWriter w(q, in.c_str());
  w.setR6EncryptionParameters("", "owner-pw", true, false, true, true, true, false, qpdf_r3p_none, true);
  w.write();
  expect_refused(dir, in, tz::errc::cannot_inspect, "encrypted");
}

TEST(ScrubPdfRefused, Truncated) {
  TempDir dir;
  const fs::path whole = dir / "whole.pdf";
  make_identifying_pdf(dir, whole, make_jpeg(dir, "t", true));
  const std::string bytes = read_all(whole);
  for (const std::size_t keep : {bytes.size() * 2 / 3, bytes.size() - 30, std::size_t{9}}) {
    const fs::path in = dir / "cut.pdf";
    tz::test::write_file(in, bytes.substr(0, keep));
    SCOPED_TRACE(keep);
    expect_refused(dir, in, tz::errc::bad_media, "qpdf");
  }
}

TEST(ScrubPdfRefused, DamagedCrossReferenceTable) {
  TempDir dir;
  const fs::path in = dir / "damaged.pdf";
  make_pdf(in, [](QPDF& q) { set_info(q, {{"/Author", "Jane Source"}}); });
  std::string bytes = read_all(in);
  // Move every object's offset in the table by one byte: qpdf then finds no
  // "N 0 obj" where the table says and could read the file only by rebuilding it.
  const auto xref = bytes.rfind("xref\n0 ");
  ASSERT_NE(xref, std::string::npos);
  for (auto at = bytes.find(" 00000 n", xref); at != std::string::npos; at = bytes.find(" 00000 n", at + 1)) {
    char& last = bytes[at - 1];
    last = last == '9' ? '0' : static_cast<char>(last + 1);
  }
  tz::test::write_file(in, bytes);
  expect_refused(dir, in, tz::errc::bad_media, "qpdf");
}

TEST(ScrubPdfRefused, NotAPdf) {
  TempDir dir;
  tz::test::write_file(dir / "notes.pdf", "Meeting notes, not a PDF at all.\n");
  expect_refused(dir, dir / "notes.pdf", tz::errc::bad_media, "not a PDF");
  tz::test::write_file(dir / "photo.pdf", make_jpeg(dir, "p", true));
  expect_refused(dir, dir / "photo.pdf", tz::errc::bad_media, "not a PDF");
  tz::test::write_file(dir / "empty.pdf", "");
  expect_refused(dir, dir / "empty.pdf", tz::errc::bad_media, "not a PDF");
  expect_refused(dir, dir / "missing.pdf", tz::errc::bad_media, "cannot open");
  // A header and nothing else.
  tz::test::write_file(dir / "header.pdf", "%PDF-1.7\n%%EOF\n");
  expect_refused(dir, dir / "header.pdf", tz::errc::bad_media, "qpdf");
}

TEST(ScrubPdfRefused, EmbeddedFile) {
  TempDir dir;
  const fs::path in = dir / "attached.pdf";
  make_pdf(in, [](QPDF& q) {
    auto ef = QPDFEFStreamObjectHelper::createEFStream(q, "name,salary\nJane,1\n");
    auto spec = QPDFFileSpecObjectHelper::createFileSpec(q, "payroll.csv", ef);
    QPDFEmbeddedFileDocumentHelper(q).replaceEmbeddedFile("payroll.csv", spec);
  });
  expect_refused(dir, in, tz::errc::cannot_inspect,
                 "holds an embedded file payroll.csv; extract it and publish it on its own");
}

TEST(ScrubPdfRefused, FileAttachmentAnnotation) {
  TempDir dir;
  const fs::path in = dir / "annotated.pdf";
  make_pdf(in, [](QPDF& q) {
    auto ef = QPDFEFStreamObjectHelper::createEFStream(q, "raw notes");
    auto spec = QPDFFileSpecObjectHelper::createFileSpec(q, "notes.txt", ef);
    QPDFObjectHandle annot = q.makeIndirectObject(
        QPDFObjectHandle::parse("<< /Type /Annot /Subtype /FileAttachment /Rect [10 10 30 30] >>"));
    annot.replaceKey("/FS", spec.getObjectHandle());
    QPDFObjectHandle annots = QPDFObjectHandle::newArray();
    annots.appendItem(annot);
    QPDFPageDocumentHelper(q).getAllPages().front().getObjectHandle().replaceKey("/Annots", annots);
  });
  expect_refused(dir, in, tz::errc::cannot_inspect, "holds an embedded file notes.txt");
}

TEST(ScrubPdfRefused, XfaForm) {
  TempDir dir;
  const fs::path in = dir / "form.pdf";
  make_pdf(in, [](QPDF& q) {
    QPDFObjectHandle xfa = QPDFObjectHandle::newStream(&q, "<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>");
    QPDFObjectHandle acro = QPDFObjectHandle::parse("<< /Fields [] >>");
    acro.replaceKey("/XFA", xfa);
    q.getRoot().replaceKey("/AcroForm", acro);
  });
  expect_refused(dir, in, tz::errc::cannot_inspect, "XFA form");
}

TEST(ScrubPdfRefused, InlineJpegWithMetadata) {
  TempDir dir;
  const fs::path in = dir / "inline.pdf";
  const std::string jpg = make_jpeg(dir, "i", true);
  std::string content = "q 16 0 0 16 72 72 cm BI /W 16 /H 16 /CS /RGB /BPC 8 /F /DCT ID ";
  content += jpg;
  content += "\nEI Q\n";
  QPDF q;
  q.emptyPDF();
  add_page(q, content, QPDFObjectHandle::newNull());
  write_pdf(q, in);
  expect_refused(dir, in, tz::errc::cannot_inspect, "inline JPEG");
}

TEST(ScrubPdfRefused, InlineJpegWithoutMetadataIsKept) {
  TempDir dir;
  const fs::path in = dir / "inline.pdf";
  std::string content = "q 16 0 0 16 72 72 cm BI /W 16 /H 16 /CS /RGB /BPC 8 /F /DCT ID ";
  content += make_jpeg(dir, "i", false);
  content += "\nEI Q\n";
  QPDF q;
  q.emptyPDF();
  add_page(q, content, QPDFObjectHandle::newNull());
  write_pdf(q, in);
  tz::Diag d;
  const auto r = pdf::inspect(in, &d);
  ASSERT_TRUE(r.has_value()) << d.detail;
  EXPECT_TRUE(r.value().empty()) << dump(r.value());
  const fs::path out = dir / "out.pdf";
  ASSERT_TRUE(pdf::scrub(in, out, &d).has_value()) << d.detail;
  EXPECT_EQ(facts(out).contents.front(), content);
}

TEST(ScrubPdfRefused, DigitallySignedIsReportedButNotRewritten) {
  TempDir dir;
  const fs::path in = dir / "signed.pdf";
  make_pdf(in, [](QPDF& q) {
    QPDFObjectHandle sig = q.makeIndirectObject(QPDFObjectHandle::parse(
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 10 20 30] "
        "/Contents <00> /Name (Jane Source) /M (D:20240301093000Z) /Reason (I approve) >>"));
    QPDFObjectHandle field = q.makeIndirectObject(
        QPDFObjectHandle::parse("<< /FT /Sig /T (Signature1) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] >>"));
    field.replaceKey("/V", sig);
    QPDFObjectHandle acro = QPDFObjectHandle::newDictionary();
    QPDFObjectHandle fields = QPDFObjectHandle::newArray();
    fields.appendItem(field);
    acro.replaceKey("/Fields", fields);
    q.getRoot().replaceKey("/AcroForm", acro);
  });
  tz::Diag d;
  const auto r = pdf::inspect(in, &d);
  ASSERT_TRUE(r.has_value()) << d.detail;
  const Finding* who = find_ending(r.value(), "signature /Name");
  ASSERT_NE(who, nullptr) << dump(r.value());
  EXPECT_EQ(who->category, Category::owner);
  EXPECT_EQ(who->value, "Jane Source");
  ASSERT_NE(find_ending(r.value(), "signature /M"), nullptr);
  EXPECT_EQ(find_ending(r.value(), "signature /M")->category, Category::time);
  // A widget's /T is the field's name, not an author.
  EXPECT_EQ(find_ending(r.value(), "/T"), nullptr) << dump(r.value());

  const fs::path out = dir / "out.pdf";
  const auto s = pdf::scrub(in, out, &d);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error(), tz::make_error_code(tz::errc::cannot_inspect));
  EXPECT_NE(d.detail.find("digitally signed (Jane Source)"), std::string::npos) << d.detail;
  EXPECT_FALSE(fs::exists(out));
}

TEST(ScrubPdfClean, PlainPdfHasNothingToReport) {
  TempDir dir;
  const fs::path in = dir / "plain.pdf";
  make_pdf(in, [](QPDF&) {});
  tz::Diag d;
  const auto r = pdf::inspect(in, &d);
  ASSERT_TRUE(r.has_value()) << d.detail;
  EXPECT_TRUE(r.value().empty()) << dump(r.value());
}

// ---------------------------------------------------------------------------
// The JPEG segment walker on its own.

std::string segment(std::uint8_t marker, const std::string& payload) {
  const std::size_t len = payload.size() + 2;
  std::string s = {'\xFF', static_cast<char>(marker), static_cast<char>(len >> 8), static_cast<char>(len & 0xff)};
  return s + payload;
}

const std::string kJfifBare = segment(0xE0, std::string("JFIF\0\x01\x02\x00\x00\x48\x00\x48\x00\x00", 14));
const std::string kAdobe = segment(0xEE, std::string("Adobe\x00\x64\x00\x00\x00\x00\x01", 12));

// A minimal structure: SOI, the given segments, a frame, a scan with
// stuffed bytes and a restart marker, EOI.
std::string tiny_jpeg(const std::string& middle, const std::string& after = {}) {
  std::string s = "\xFF\xD8";
  s += middle;
  s += segment(0xDB, std::string(65, '\x01'));
  s += segment(0xC0, std::string("\x08\x00\x10\x00\x10\x01\x01\x11\x00", 9));
  s += segment(0xC4, std::string(20, '\x00'));
  s += segment(0xDA, std::string("\x01\x01\x00\x00\x3F\x00", 6));
  s += std::string("\x12\xFF\x00\x34\xFF\xD0\x56", 7);
  s += "\xFF\xD9";
  return s + after;
}

TEST(JpegSegments, CleanFileHasNothingAndStripsToItself) {
  const std::string j = tiny_jpeg(kJfifBare + kAdobe);
  const auto m = jpeg::find_metadata(bytes_of(j));
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m.value().empty());
  const auto s = jpeg::strip_metadata(bytes_of(j));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), j);
}

TEST(JpegSegments, MetadataSegmentsAreNamedAndDropped) {
  const std::string exif = segment(0xE1, std::string("Exif\0\0MM\0\x2a", 10));
  const std::string xmp = segment(0xE1, std::string("http://ns.adobe.com/xap/1.0/\0<x/>", 33));
  const std::string icc = segment(0xE2, std::string("ICC_PROFILE\0\x01\x01", 14));
  const std::string ps = segment(0xED, std::string("Photoshop 3.0\0", 14));
  const std::string com = segment(0xFE, "secret");
  const std::string jfxx = segment(0xE0, std::string("JFXX\0\x10", 6));
  const std::string j = tiny_jpeg(kJfifBare + exif + xmp + icc + ps + com + jfxx, "MAKERTRAILER");
  const auto m = jpeg::find_metadata(bytes_of(j));
  ASSERT_TRUE(m.has_value());
  std::vector<std::pair<std::string, Category>> got;
  for (const auto& s : m.value()) got.emplace_back(s.name, s.category);
  const std::vector<std::pair<std::string, Category>> want = {
      {"APP1 Exif", Category::other},          {"APP1 XMP", Category::xmp}, {"APP2 ICC_PROFILE", Category::icc},
      {"APP13 Photoshop 3.0", Category::iptc}, {"COM", Category::comment},  {"APP0 JFXX", Category::thumbnail},
      {"data after EOI", Category::other}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(m.value()[4].size, com.size());
  const auto s = jpeg::strip_metadata(bytes_of(j));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), tiny_jpeg(kJfifBare));
}

TEST(JpegSegments, JfifThumbnailAndLongAdobeAreRewrittenBare) {
  std::string jfif_thumb("JFIF\0\x01\x02\x00\x00\x48\x00\x48\x02\x01", 14);
  jfif_thumb += std::string(6, '\x7f');  // a 2x1 RGB thumbnail
  const std::string long_adobe = segment(0xEE, std::string("Adobe\x00\x64\x00\x00\x00\x00\x01XYZ", 15));
  const std::string j = tiny_jpeg(segment(0xE0, jfif_thumb) + long_adobe);
  const auto m = jpeg::find_metadata(bytes_of(j));
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m.value().size(), 2u);
  EXPECT_EQ(m.value()[0].category, Category::thumbnail);
  const auto s = jpeg::strip_metadata(bytes_of(j));
  ASSERT_TRUE(s.has_value());
  const std::string want_jfif = segment(0xE0, std::string("JFIF\0\x01\x02\x00\x00\x48\x00\x48\x00\x00", 14));
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), tiny_jpeg(want_jfif + kAdobe));
}

TEST(JpegSegments, FillBytesAndBlankTailAreDroppedWithoutReport) {
  std::string j = tiny_jpeg("\xFF\xFF" + kJfifBare, "\r\n");
  const auto m = jpeg::find_metadata(bytes_of(j));
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m.value().empty());
  const auto s = jpeg::strip_metadata(bytes_of(j));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), tiny_jpeg(kJfifBare));
}

TEST(JpegSegments, HostileInputsAreRefused) {
  const std::string good = tiny_jpeg(kJfifBare);
  const auto expect = [](const std::string& j, tz::errc want) {
    tz::Diag d;
    const auto m = jpeg::find_metadata(bytes_of(j), &d);
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error(), tz::make_error_code(want)) << d.detail;
    EXPECT_FALSE(d.detail.empty());
    const auto s = jpeg::strip_metadata(bytes_of(j));
    ASSERT_FALSE(s.has_value());
  };
  expect("", tz::errc::bad_media);
  expect("\xFF\xD8", tz::errc::bad_media);
  expect("GIF89a....", tz::errc::bad_media);
  expect(good.substr(0, 30), tz::errc::bad_media);                                   // cut inside a segment
  expect(std::string("\xFF\xD8\xFF\xE1\xFF\xFF", 6) + "abc", tz::errc::bad_media);   // length past the end
  expect(std::string("\xFF\xD8\xFF\xE1\x00\x01", 6) + "abcd", tz::errc::bad_media);  // length below 2
  expect(std::string("\xFF\xD8\x00\x00", 4), tz::errc::bad_media);                   // no marker
  expect(std::string("\xFF\xD8\xFF\xD8", 4), tz::errc::bad_media);                   // SOI again
  expect(std::string("\xFF\xD8\xFF\xF7\x00\x02", 6), tz::errc::cannot_inspect);      // JPEG-LS frame
  expect(std::string("\xFF\xD8\xFF\x02\x00\x02", 6), tz::errc::cannot_inspect);      // reserved
  // Every prefix of a good file either reads or fails as documented.
  for (std::size_t n = 0; n < good.size(); ++n) {
    tz::Diag d;
    const auto m = jpeg::find_metadata(bytes_of(good.substr(0, n)), &d);
    if (!m) {
      EXPECT_EQ(m.error(), tz::make_error_code(tz::errc::bad_media)) << n;
    }
  }
}

// ---------------------------------------------------------------------------
// The JPEG 2000 box and marker walker on its own.

std::string be32(std::size_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string box(const std::string& type, const std::string& payload) {
  return be32(payload.size() + 8) + type + payload;
}

const std::string kSiz = segment(0x51, std::string(38, '\x01'));
const std::string kCod = segment(0x52, std::string(10, '\x02'));
const std::string kCom = segment(0x64, std::string("\x00\x01Created by Encoder 9", 21));

// SOC, SIZ, `main` (after SIZ), COD, one tile-part whose header holds
// `tile_header`, EOC.
std::string codestream(const std::string& main, const std::string& tile_header = {}) {
  const std::string data = "\x12\x34\x56\x78";
  const std::string rest = tile_header + "\xFF\x93" + data;
  std::string tp = std::string("\xFF\x90\x00\x0A\x00\x00", 6) + be32(12 + rest.size()) + std::string("\x00\x01", 2);
  return "\xFF\x4F" + kSiz + main + kCod + tp + rest + "\xFF\xD9";
}

const std::string kSig = box("jP  ", "\x0D\x0A\x87\x0A");
const std::string kFtyp = box("ftyp", std::string("jp2 \0\0\0\0jp2 ", 12));
const std::string kJp2h = box("jp2h", box("ihdr", std::string(14, '\x03')));

TEST(Jpeg2000Boxes, Jp2MetadataBoxesAndCommentsAreDropped) {
  const std::string xmp_uuid("\xBE\x7A\xCF\xCB\x97\xA9\x42\xE8\x9C\x71\x99\x94\x91\xE3\xAF\xAC", 16);
  const std::string file = kSig + kFtyp + kJp2h + box("jp2c", codestream(kCom)) + box("xml ", "<x/>") +
                           box("uuid", xmp_uuid + "<x:xmpmeta/>") + box("jp2i", "(c) Jane") + box("free", "old");
  const auto m = jpeg2000::find_metadata(bytes_of(file));
  ASSERT_TRUE(m.has_value());
  std::vector<std::pair<std::string, Category>> got;
  for (const auto& x : m.value()) got.emplace_back(x.name, x.category);
  const std::vector<std::pair<std::string, Category>> want = {{"COM", Category::comment},
                                                              {"xml box", Category::xmp},
                                                              {"uuid box (XMP)", Category::xmp},
                                                              {"jp2i box", Category::owner},
                                                              {"free box", Category::other}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(file.substr(m.value()[0].offset, m.value()[0].size), kCom);
  const auto s = jpeg2000::strip_metadata(bytes_of(file));
  ASSERT_TRUE(s.has_value());
  const std::string clean(s.value().begin(), s.value().end());
  EXPECT_EQ(clean, kSig + kFtyp + kJp2h + box("jp2c", codestream("")));
  const auto again = jpeg2000::find_metadata(bytes_of(clean));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again.value().empty());
}

TEST(Jpeg2000Boxes, BareCodestreamLosesCommentAndTrailer) {
  const std::string cs = codestream(kCom) + "TRAILER";
  const auto m = jpeg2000::find_metadata(bytes_of(cs));
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m.value().size(), 2u);
  EXPECT_EQ(m.value()[1].name, "data after EOC");
  const auto s = jpeg2000::strip_metadata(bytes_of(cs));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), codestream(""));
}

TEST(Jpeg2000Boxes, HostileInputsAreRefused) {
  const auto expect = [](const std::string& j, tz::errc want) {
    tz::Diag d;
    const auto m = jpeg2000::find_metadata(bytes_of(j), &d);
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error(), tz::make_error_code(want)) << d.detail;
    EXPECT_FALSE(d.detail.empty());
    EXPECT_FALSE(jpeg2000::strip_metadata(bytes_of(j)).has_value());
  };
  const std::string good = kSig + kFtyp + kJp2h + box("jp2c", codestream(""));
  expect("", tz::errc::bad_media);
  expect("\xFF\xD8\xFF\xE0", tz::errc::bad_media);  // a JPEG
  expect(good.substr(0, good.size() - 5), tz::errc::bad_media);
  expect(kSig + kFtyp + be32(4) + "jp2c", tz::errc::bad_media);            // length below the header
  expect(kSig + kFtyp + be32(400) + "jp2c" + "abc", tz::errc::bad_media);  // length past the end
  expect(kSig + kFtyp + kJp2h, tz::errc::bad_media);                       // no codestream
  expect(kSig + kFtyp + kJp2h + box("ftbl", "x") + box("jp2c", codestream("")), tz::errc::cannot_inspect);
  expect(codestream("", kCom), tz::errc::cannot_inspect);             // comment in a tile-part header
  expect(codestream(segment(0x70, "xx")), tz::errc::cannot_inspect);  // unknown marker
  std::string cut_tile = codestream("");
  cut_tile[cut_tile.find("\xFF\x90") + 9] = '\x7F';  // Psot past the end
  expect(cut_tile, tz::errc::bad_media);
  for (std::size_t n = 0; n < good.size(); ++n) {
    const auto m = jpeg2000::find_metadata(bytes_of(good.substr(0, n)));
    if (!m) {
      EXPECT_EQ(m.error(), tz::make_error_code(tz::errc::bad_media)) << n;
    }
  }
}

}  // namespace
