// Source safety: media made here with ffmpeg and exiftool, carrying a GPS
// position, a device serial, an owner's name and a place, are inspected,
// scrubbed, and checked afterwards by an independent reader (exiftool, and
// the raw bytes) and for pictures and sound that are exactly as before.
// The CLI's gate: `bundle create` and `publish` refuse such a folder unless
// told --scrub or --keep-metadata.
#include "core/envelope.h"
#include "core/manifest.h"
#include "scrub/finding.h"
#include "scrub/inspect.h"
#include "scrub/run.h"
#include "scrub/scrub.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace tz {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using scrub::Category;

// Strings planted in every file; none may be left anywhere after scrubbing.
constexpr const char* kSerial = "SN4471X9Q";
constexpr const char* kOwner = "Aigerim Sadykova";
constexpr const char* kPlace = "Almaty-Medeu";
constexpr const char* kModel = "Pixel 6a";

scrub::RunResult tool(const std::vector<std::string>& argv) {
  auto r = scrub::run_tool(argv, std::chrono::seconds(60), std::size_t{64} << 20);
  EXPECT_TRUE(r) << argv[0] << ": " << r.error().message();
  if (!r) return {};
  EXPECT_EQ(r.value().exit_code, 0) << argv[0] << " " << argv.back() << ": " << r.value().err;
  return r.value();
}

std::string sha256_hex(const fs::path& p) {
  const auto bytes = test::read_bytes(p);
  unsigned char h[32];
  crypto_hash_sha256(h, bytes.data(), bytes.size());
  char out[65];
  for (int i = 0; i < 32; ++i) std::snprintf(out + 2 * i, 3, "%02x", h[i]);
  return out;
}

// What the picture or the sound is, independent of metadata: decoded pixels
// for pictures, the packets of every video and audio stream for media.
std::string content_hash(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".heic") return tool({"convert", p.string(), "rgb:-"}).out.substr(0, 1 << 20) + "#" +
                             std::to_string(tool({"convert", p.string(), "rgb:-"}).out.size());
  if (ext == ".pdf") {
    // qpdf --check fails the test on a damaged file; the page count and text stay.
    tool({"qpdf", "--check", p.string()});
    const std::string qdf = tool({"qpdf", "--qdf", "--object-streams=disable", p.string(), "-"}).out;
    return tool({"qpdf", "--show-npages", p.string()}).out +
           (qdf.find("(News) Tj") != std::string::npos ? "text kept" : "text lost");
  }
  if (ext == ".jpg" || ext == ".png" || ext == ".webp") {
    return tool({"ffmpeg", "-v", "error", "-i", p.string(), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"}).out;
  }
  return tool({"ffmpeg", "-v", "error", "-i", p.string(), "-map", "0:V?", "-map", "0:a?", "-c", "copy", "-f",
               "streamhash", "-"})
      .out;
}

bool bytes_contain(const fs::path& p, const std::string& needle) {
  const auto b = test::read_bytes(p);
  return std::search(b.begin(), b.end(), needle.begin(), needle.end()) != b.end();
}

// A folder like one a phone fills: every format with identifying metadata.
class ScrubMedia : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_dir = new test::TempDir();
    const fs::path d = s_dir->path();
    const auto at = [&](const char* n) { return (d / n).string(); };
    const std::vector<std::string> ff = {"ffmpeg", "-v", "error", "-y"};
    auto run_ff = [&](std::vector<std::string> args) {
      std::vector<std::string> argv = ff;
      argv.insert(argv.end(), args.begin(), args.end());
      tool(argv);
    };
    run_ff({"-f", "lavfi", "-i", "testsrc=size=160x120", "-frames:v", "1", at("photo.jpg")});
    run_ff({"-f", "lavfi", "-i", "testsrc=size=40x30", "-frames:v", "1", at("thumb.jpg")});
    run_ff({"-f", "lavfi", "-i", "testsrc=size=160x120", "-frames:v", "1", at("shot.png")});
    run_ff({"-f", "lavfi", "-i", "testsrc=size=160x120", "-frames:v", "1", at("pic.webp")});
    tool({"convert", at("photo.jpg"), at("phone.heic")});
    const std::vector<std::string> image_tags = {
        "-q", "-overwrite_original", "-GPSLatitude=43.2567", "-GPSLatitudeRef=N", "-GPSLongitude=76.9286",
        "-GPSLongitudeRef=E", "-GPSAltitude=850", "-Make=Google", std::string("-Model=") + kModel,
        std::string("-SerialNumber=") + kSerial, std::string("-Artist=") + kOwner, "-Software=HDR+ 1.0.2",
        "-DateTimeOriginal=2022:01:05 14:32:10", std::string("-XMP-dc:Creator=") + kOwner,
        std::string("-XMP-photoshop:City=") + kPlace};
    auto tag = [&](const std::string& file, std::vector<std::string> extra) {
      std::vector<std::string> argv = {"exiftool"};
      argv.insert(argv.end(), image_tags.begin(), image_tags.end());
      argv.insert(argv.end(), extra.begin(), extra.end());
      argv.push_back(file);
      tool(argv);
    };
    tag(at("photo.jpg"), {std::string("-Comment=") + kPlace, std::string("-IPTC:By-line=") + kOwner,
                          "-ThumbnailImage<=" + at("thumb.jpg"), "-Orientation#=6"});
    tag(at("shot.png"), {std::string("-PNG:Comment=") + kPlace});
    tag(at("pic.webp"), {});
    tag(at("phone.heic"), {});
    fs::remove(at("thumb.jpg"));
    // A one-page PDF (qpdf repairs the hand-written cross-reference table),
    // then tagged by exiftool, which adds an incremental update: the old
    // revision stays in the file.
    test::write_file(d / "raw.pdf",
                     "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
                     "endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R>>endobj\n"
                     "4 0 obj<</Length 35>>stream\nBT /F1 12 Tf 20 100 Td (News) Tj ET\nendstream endobj\n"
                     "trailer<</Root 1 0 R/Size 5>>\n%%EOF\n");
    ASSERT_TRUE(scrub::run_tool({"qpdf", at("raw.pdf"), at("report.pdf")}, std::chrono::seconds(60), 1 << 20));
    fs::remove(at("raw.pdf"));
    tool({"exiftool", "-q", "-overwrite_original", std::string("-Author=") + kOwner, std::string("-Title=") + kPlace,
          std::string("-Creator=") + kModel, std::string("-Subject=") + kSerial, std::string("-XMP-dc:Creator=") + kOwner,
          at("report.pdf")});

    const std::vector<std::string> meta = {
        "-metadata", std::string("title=") + kPlace, "-metadata", std::string("artist=") + kOwner,
        "-metadata", "location=+43.2567+076.9286/", "-metadata", "creation_time=2022-01-05T14:32:10Z",
        "-metadata", std::string("com.apple.quicktime.model=") + kModel, "-metadata",
        std::string("comment=") + kSerial};
    auto media = [&](std::vector<std::string> args, const char* out, bool keys) {
      args.insert(args.end(), meta.begin(), meta.end());
      if (keys) args.insert(args.end(), {"-movflags", "use_metadata_tags"});
      args.push_back(at(out));
      run_ff(args);
    };
    const std::vector<std::string> av = {"-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi",
                                         "-i", "sine=frequency=440", "-t", "1"};
    auto with = [](std::vector<std::string> a, std::vector<std::string> b) {
      a.insert(a.end(), b.begin(), b.end());
      return a;
    };
    media(with(av, {"-c:v", "libx264", "-c:a", "aac"}), "clip.mp4", true);
    media(with(av, {"-c:v", "libx264", "-c:a", "aac"}), "clip.mov", false);
    media(with(av, {"-c:v", "libvpx", "-c:a", "libopus"}), "clip.webm", false);
    media(with(av, {"-c:v", "libvpx", "-c:a", "libopus"}), "clip.mkv", false);
    media({"-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "libvorbis"}, "voice.ogg", false);
    media({"-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "aac"}, "voice.m4a", false);
    // An MP3 with a cover picture: a second photo of the scene.
    media({"-f", "lavfi", "-i", "sine", "-i", (d / "photo.jpg").string(), "-map", "0", "-map", "1", "-t", "1",
           "-c:a", "libmp3lame", "-c:v", "mjpeg", "-disposition:v", "attached_pic"},
          "voice.mp3", false);
  }
  static void TearDownTestSuite() {
    delete s_dir;
    s_dir = nullptr;
  }
  void SetUp() override { fs::copy(s_dir->path(), m_tmp / "d", fs::copy_options::recursive); }
  fs::path dir() const { return m_tmp / "d"; }

  static test::TempDir* s_dir;
  test::TempDir m_tmp;
};
test::TempDir* ScrubMedia::s_dir = nullptr;

const std::vector<std::string> kMediaFiles = {"clip.mkv",  "clip.mov", "clip.mp4",   "clip.webm",
                                              "phone.heic", "photo.jpg", "pic.webp",  "report.pdf",
                                              "shot.png",  "voice.m4a", "voice.mp3", "voice.ogg"};

bool has(const scrub::FileReport& r, Category c) {
  return std::any_of(r.found.findings.begin(), r.found.findings.end(),
                     [&](const scrub::Finding& f) { return f.category == c; });
}

TEST_F(ScrubMedia, InspectionFindsThePlantedMetadataInEveryFormat) {
  auto reports = scrub::inspect_folder(dir());
  ASSERT_TRUE(reports) << reports.error().message();
  ASSERT_EQ(reports.value().size(), kMediaFiles.size());
  for (const auto& r : reports.value()) {
    SCOPED_TRACE(r.path);
    EXPECT_FALSE(r.found.problem) << r.found.detail;
    EXPECT_NE(r.found.kind, scrub::Kind::unknown);
    if (r.path != "report.pdf") {
      EXPECT_TRUE(has(r, Category::gps));
    }
    EXPECT_TRUE(has(r, Category::owner));
    EXPECT_TRUE(r.dirty());
  }
  const auto& jpg = *std::find_if(reports.value().begin(), reports.value().end(),
                                  [](const auto& r) { return r.path == "photo.jpg"; });
  EXPECT_EQ(jpg.found.kind, scrub::Kind::jpeg);
  for (Category c : {Category::device, Category::software, Category::time, Category::thumbnail, Category::xmp,
                     Category::iptc, Category::comment}) {
    EXPECT_TRUE(has(jpg, c)) << scrub::category_name(c);
  }
  const auto& mp3 = *std::find_if(reports.value().begin(), reports.value().end(),
                                  [](const auto& r) { return r.path == "voice.mp3"; });
  EXPECT_TRUE(has(mp3, Category::thumbnail)) << "the cover picture";
}

TEST_F(ScrubMedia, ScrubbingLeavesNothingAnIndependentReaderFindsAndKeepsPictureAndSound) {
  std::map<std::string, std::string> before, digest;
  for (const auto& f : kMediaFiles) {
    before[f] = content_hash(dir() / f);
    digest[f] = sha256_hex(dir() / f);
  }
  auto reports = scrub::inspect_folder(dir());
  ASSERT_TRUE(reports);
  scrub::scrub_files(dir(), reports.value());
  for (auto& r : reports.value()) {
    SCOPED_TRACE(r.path);
    EXPECT_FALSE(r.error) << r.error_detail;
    EXPECT_TRUE(r.scrubbed);
    ASSERT_TRUE(r.original);
    char hex[65];
    for (int i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", (*r.original)[i]);
    EXPECT_EQ(std::string(hex), digest[r.path]) << "the digest is the original's";
  }
  for (const auto& f : kMediaFiles) {
    SCOPED_TRACE(f);
    const fs::path p = dir() / f;
    // exiftool, with every group and duplicates, numbers as numbers.
    const std::string all = tool({"exiftool", "-j", "-a", "-u", "-G1", "-n", p.string()}).out;
    for (const char* planted : {kSerial, kOwner, kPlace, kModel, "43.2567", "76.9286", "HDR+", "2022:01:05"}) {
      EXPECT_EQ(all.find(planted), std::string::npos) << planted << " in " << all;
      EXPECT_FALSE(bytes_contain(p, planted)) << planted << " in the bytes";
    }
    for (const char* tag : {"GPS", "Serial", "\"XMP", "IPTC", "ThumbnailImage", "Artist", "Make\"", "Model\""}) {
      EXPECT_EQ(all.find(tag), std::string::npos) << tag << " in " << all;
    }
    EXPECT_EQ(content_hash(p), before[f]) << "the picture or sound changed";
    EXPECT_NE(sha256_hex(p), digest[f]);
  }
  // The photo still stands the right way up.
  EXPECT_EQ(tool({"exiftool", "-s3", "-n", "-Orientation", (dir() / "photo.jpg").string()}).out, "6\n");
  // No temporary copy is left.
  EXPECT_FALSE(fs::exists(dir() / ".tamizdat"));
  auto again = scrub::inspect_folder(dir());
  ASSERT_TRUE(again);
  for (const auto& r : again.value()) EXPECT_TRUE(r.found.findings.empty()) << r.path;
}

TEST_F(ScrubMedia, CorruptTruncatedAndUnknownFilesAreRefusedAndLeftAlone) {
  for (const char* f : {"photo.jpg", "shot.png", "clip.mp4", "pic.webp"}) {
    const auto b = test::read_bytes(dir() / f);
    test::write_bytes(dir() / (std::string("cut-") + f),
                      std::vector<std::uint8_t>(b.begin(), b.begin() + static_cast<long>(b.size() * 6 / 10)));
  }
  test::write_file(dir() / "blob.bin", test::random_bytes(5000, 3));
  test::write_file(dir() / "empty.dat", "");  // nothing in it, nothing to give away
  const std::vector<std::string> odd = {"blob.bin", "cut-clip.mp4", "cut-photo.jpg", "cut-pic.webp",
                                        "cut-shot.png"};
  std::map<std::string, std::string> digest;
  for (const auto& f : odd) digest[f] = sha256_hex(dir() / f);
  auto reports = scrub::inspect_folder(dir());
  ASSERT_TRUE(reports);
  for (auto& r : reports.value()) {
    if (r.path == "empty.dat") {
      EXPECT_FALSE(r.found.problem) << r.found.detail;
      EXPECT_TRUE(r.found.findings.empty());
    }
    if (std::find(odd.begin(), odd.end(), r.path) == odd.end()) continue;
    SCOPED_TRACE(r.path);
    ASSERT_TRUE(r.found.problem);
    EXPECT_EQ(*r.found.problem, r.path == "blob.bin" ? errc::cannot_inspect : errc::bad_media) << r.found.detail;
    EXPECT_FALSE(r.found.detail.empty());
    EXPECT_TRUE(r.blocked());
    std::vector<scrub::FileReport> one{r};
    scrub::scrub_files(dir(), one);
    EXPECT_FALSE(one[0].scrubbed);
    EXPECT_EQ(sha256_hex(dir() / r.path), digest[r.path]);
  }
}

// ---- the rules, on exiftool's own output -----------------------------------

std::vector<std::string> keys_of(const scrub::Inspection& in) {
  std::vector<std::string> k;
  for (const auto& f : in.findings) k.push_back(std::string(scrub::category_name(f.category)) + " " + f.key);
  return k;
}

TEST(ScrubRules, WhatDescribesThePictureIsNotMetadataAndOurOwnMarksAreNotEither) {
  const auto in = scrub::classify_exiftool_object(R"({"SourceFile":"/x.mp4","File:System:FileType":"x",
    "File:FileType":"MP4","File:MIMEType":"video/mp4","QuickTime:QuickTime:CreateDate":"0000:00:00 00:00:00",
    "QuickTime:Track1:ImageWidth":320,"QuickTime:Track1:HandlerDescription":"VideoHandler",
    "QuickTime:Track1:VendorID":"FFmpeg","QuickTime:QuickTime:PreviewTime":"0 s",
    "Matroska:Matroska:MuxingApp":"Lavf","Matroska:Track1:Encoder":"Lavc libvpx",
    "Composite:Composite:GPSPosition":"1 N, 2 E",
    "EXIF:IFD0:Orientation":"Rotate 90 CW"})");
  EXPECT_FALSE(in.problem);
  EXPECT_EQ(in.kind, scrub::Kind::mp4);
  EXPECT_TRUE(in.findings.empty()) << ::testing::PrintToString(keys_of(in));
}

TEST(ScrubRules, TagsAreSortedByWhatTheyGiveAway) {
  const auto in = scrub::classify_exiftool_object(R"({"File:FileType":"PNG","File:MIMEType":"image/png",
    "PNG:PNG:ImageWidth":64,"PNG:PNG:Gamma":2.2,"PNG:PNG:Warrant":"shot from the roof of no. 12",
    "QuickTime:Keys:Foo":"bar","QuickTime:Track1:CreateDate":"2022:01:05 14:32:10",
    "QuickTime:Track1:HandlerDescription":"Core Media Video","MakerNotes:Samsung:Unknown0x0001":"7",
    "FooBar:Baz:Anything":"x","ICC_Profile:ICC-header:ProfileCreator":"Apple",
    "XMP:XMP-dc:Creator":"Jane","XMP:XMP-xmp:Rating":5,"ID3:ID3v2_4:UserDefinedText":"(location) +43+076/",
    "EXIF:GPS:GPSLatitude":"43 deg","EXIF:ExifIFD:ExposureTime":"1/60","File:File:Comment":"by Jane",
    "Matroska:Track1:Encoder":"Lavc59.37.100 libvpx"})");
  EXPECT_FALSE(in.problem);
  const auto k = keys_of(in);
  for (const char* want : {"comment PNG:PNG:Warrant", "tag QuickTime:Keys:Foo", "time QuickTime:Track1:CreateDate",
                           "software QuickTime:Track1:HandlerDescription", "device MakerNotes:Samsung:Unknown0x0001",
                           "other FooBar:Baz:Anything", "icc ICC_Profile:ICC-header:ProfileCreator",
                           "owner XMP:XMP-dc:Creator", "comment XMP:XMP-xmp:Rating",
                           "gps ID3:ID3v2_4:UserDefinedText", "gps EXIF:GPS:GPSLatitude",
                           "other EXIF:ExifIFD:ExposureTime", "comment File:File:Comment",
                           "software Matroska:Track1:Encoder"}) {
    EXPECT_NE(std::find(k.begin(), k.end(), want), k.end()) << want << " in " << ::testing::PrintToString(k);
  }
  EXPECT_EQ(k.size(), 14u) << ::testing::PrintToString(k);
}

TEST(ScrubRules, UnknownDamagedTextAndGarbageAnswers) {
  auto u = scrub::classify_exiftool_object(R"({"ExifTool:ExifTool:Error":"Unknown file type"})");
  EXPECT_EQ(u.problem, errc::cannot_inspect);
  EXPECT_EQ(u.kind, scrub::Kind::unknown);
  auto x = scrub::classify_exiftool_object(R"({"File:FileType":"XCF","File:MIMEType":"image/x-xcf"})");
  EXPECT_EQ(x.problem, errc::cannot_inspect);
  EXPECT_NE(x.detail.find("XCF"), std::string::npos);
  auto d = scrub::classify_exiftool_object(R"({"File:FileType":"JPEG","File:MIMEType":"image/jpeg",
    "ExifTool:ExifTool:Warning":"Missing required JPEG ExifIFD tag 0xa002 ExifImageWidth",
    "ExifTool:Copy1:Warning":"JPEG format error"})");
  EXPECT_EQ(d.problem, errc::bad_media);
  EXPECT_NE(d.detail.find("JPEG format error"), std::string::npos);
  auto t = scrub::classify_exiftool_object(R"({"File:FileType":"HTML","File:MIMEType":"text/html",
    "HTML:HTML:Author":"the newsroom"})");
  EXPECT_FALSE(t.problem);
  EXPECT_EQ(t.kind, scrub::Kind::text);
  EXPECT_TRUE(t.findings.empty());
  for (const char* bad : {"", "[]", "{\"a\":", "null", "\"JPEG\""}) {
    auto g = scrub::classify_exiftool_object(bad);
    EXPECT_EQ(g.problem, errc::cannot_inspect) << bad;
  }
}

TEST(ScrubRules, ValuesArePrintableAndBounded) {
  EXPECT_EQ(scrub::printable_value("Jane\x01\x1b[31m"), "Jane??[31m");
  EXPECT_EQ(scrub::printable_value("\xff\xfe"), "??");
  EXPECT_EQ(scrub::printable_value("\xd0\x90\xd0\xb9"), "\xd0\x90\xd0\xb9");  // Cyrillic kept
  const std::string long_value(500, 'a');
  const std::string shown = scrub::printable_value(long_value);
  EXPECT_EQ(shown.size(), 96u);
  EXPECT_TRUE(shown.ends_with("..."));
  std::string cyr;
  for (int i = 0; i < 100; ++i) cyr += "\xd0\x90";
  const std::string c = scrub::printable_value(cyr);
  EXPECT_LE(c.size(), 96u);
  EXPECT_TRUE(c.ends_with("..."));
  EXPECT_EQ((c.size() - 3) % 2, 0u) << "no half character before the dots";
}

// ---- the CLI ----------------------------------------------------------------

struct Cli {
  int code = -1;
  std::string out, err;
};
Cli tamizdat(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TZ_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = scrub::run_tool(argv, std::chrono::minutes(3), std::size_t{16} << 20);
  EXPECT_TRUE(r);
  if (!r) return {};
  return {r.value().exit_code, r.value().out, r.value().err};
}

std::map<std::string, std::string> tree_digests(const fs::path& d) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::recursive_directory_iterator(d)) {
    if (e.is_regular_file()) m[e.path().lexically_relative(d).string()] = sha256_hex(e.path());
  }
  return m;
}

TEST_F(ScrubMedia, DryRunListsEverythingAndChangesNothing) {
  const auto before = tree_digests(dir());
  Cli r = tamizdat({"scrub", dir().string(), "--dry-run", "--json"});
  EXPECT_EQ(r.code, 1) << r.err;
  const json j = json::parse(r.out);
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_TRUE(j["dry_run"].get<bool>());
  EXPECT_EQ(j["error"], "metadata_found");
  EXPECT_EQ(j["counts"]["metadata"], kMediaFiles.size());
  ASSERT_EQ(j["files"].size(), kMediaFiles.size());
  for (const auto& f : j["files"]) {
    EXPECT_EQ(f["state"], "metadata") << f.dump();
    bool gps = false, owner = false;
    for (const auto& x : f["findings"]) {
      gps = gps || x["category"] == "gps";
      owner = owner || x["category"] == "owner";
    }
    EXPECT_TRUE(gps || f["path"] == "report.pdf") << f.dump();
    EXPECT_TRUE(owner) << f.dump();
  }
  Cli human = tamizdat({"scrub", dir().string(), "--dry-run"});
  EXPECT_EQ(human.code, 1);
  EXPECT_NE(human.out.find("photo.jpg (JPEG): would scrub: gps: GPSLatitude="), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("Nothing was changed"), std::string::npos);
  EXPECT_EQ(tree_digests(dir()), before);

  Cli done = tamizdat({"scrub", dir().string(), "--json"});
  EXPECT_EQ(done.code, 0) << done.out << done.err;
  const json d = json::parse(done.out);
  EXPECT_TRUE(d["ok"].get<bool>());
  EXPECT_EQ(d["counts"]["scrubbed"], kMediaFiles.size());
  Cli clean = tamizdat({"scrub", dir().string(), "--dry-run", "--json"});
  EXPECT_EQ(clean.code, 0);
  EXPECT_EQ(json::parse(clean.out)["counts"]["clean"], kMediaFiles.size());
}

class ScrubGate : public ScrubMedia {
 protected:
  void SetUp() override {
    ScrubMedia::SetUp();
    test::write_file(dir() / "index.html", "<h1>News</h1><img src=\"photo.jpg\">");
    ASSERT_EQ(tamizdat({"key", "generate", "--out", (m_tmp / "k.key").string(), "--insecure-no-passphrase"}).code, 0);
  }
  Cli create(std::vector<std::string> extra) {
    std::vector<std::string> args = {"bundle", "create", dir().string(), "--key", (m_tmp / "k.key").string(),
                                     "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return tamizdat(args);
  }
  ManifestData manifest() {
    auto v = verify_manifest(test::read_bytes(dir() / ".tamizdat/manifest"));
    EXPECT_TRUE(v);
    return v ? v.value().data() : ManifestData{};
  }
};

TEST_F(ScrubGate, AFolderWithGpsIsRefusedNamingEachFileAndNothingIsSigned) {
  const auto before = tree_digests(dir());
  Cli r = create({});
  EXPECT_EQ(r.code, 1);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["error"], "metadata_found");
  EXPECT_EQ(j["files"].size(), kMediaFiles.size()) << "index.html is clean and not listed";
  EXPECT_FALSE(fs::exists(dir() / ".tamizdat"));
  EXPECT_EQ(tree_digests(dir()), before);
  Cli human = tamizdat({"bundle", "create", dir().string(), "--key", (m_tmp / "k.key").string()});
  EXPECT_EQ(human.code, 1);
  EXPECT_NE(human.err.find("nothing was signed"), std::string::npos) << human.err;
  EXPECT_NE(human.err.find("photo.jpg: gps: GPSLatitude="), std::string::npos) << human.err;
  EXPECT_NE(human.err.find("--scrub"), std::string::npos);
  EXPECT_NE(human.err.find("--keep-metadata"), std::string::npos);
}

TEST_F(ScrubGate, ScrubThenSignMarksTheFilesAndStatesTheCheck) {
  Cli r = create({"--scrub"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const ManifestData m = manifest();
  EXPECT_EQ(m.metadata, MetadataStatement::checked);
  for (const auto& f : m.files) {
    EXPECT_EQ(f.scrubbed, f.path.str() != "index.html") << f.path.str();
  }
  EXPECT_FALSE(bytes_contain(dir() / "photo.jpg", kSerial));
  // Each scrubbed file carries a sealed commitment to its original, which
  // the publisher can open for one file with the original in hand.
  for (const auto& f : m.files) EXPECT_EQ(f.provenance.has_value(), f.scrubbed) << f.path.str();
  const std::string key = (m_tmp / "k.key").string(), proof = (m_tmp / "photo.proof").string();
  const std::string original = (s_dir->path() / "photo.jpg").string();
  Cli prove = tamizdat({"provenance", "prove", dir().string(), "photo.jpg", original, "--out", proof, "--key", key});
  ASSERT_EQ(prove.code, 0) << prove.err;
  Cli check = tamizdat({"provenance", "check", dir().string(), proof, original, "--json"});
  EXPECT_EQ(check.code, 0) << check.out << check.err;
  Cli wrong = tamizdat({"provenance", "check", dir().string(), proof, (s_dir->path() / "shot.png").string(), "--json"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_EQ(json::parse(wrong.out)["error"], "bad_proof");
  // Signing the scrubbed folder again changes nothing: same bundle, marks kept.
  Cli again = create({});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_EQ(json::parse(again.out)["bundle_id"], json::parse(r.out)["bundle_id"]);
  EXPECT_TRUE(json::parse(again.out)["manifest_reused"].get<bool>());
}

TEST_F(ScrubGate, RenameGivesCameraNamesNeutralOnesAndTheLinksFollow) {
  fs::create_directories(dir() / "DCIM");
  fs::rename(dir() / "photo.jpg", dir() / "DCIM/IMG_20220105_143210_Almaty.jpg");
  test::write_file(dir() / "index.html", "<h1>News</h1><img src=\"DCIM/IMG_20220105_143210_Almaty.jpg\">");
  // scrub warns about the name, and names why.
  Cli dry = tamizdat({"scrub", dir().string(), "--dry-run", "--json"});
  bool warned = false;
  const json dj = json::parse(dry.out);
  for (const auto& f : dj["files"]) {
    if (f["path"] != "DCIM/IMG_20220105_143210_Almaty.jpg") continue;
    for (const auto& w : f["name_warnings"]) warned = warned || (w["reason"] == "date" && w["detail"] == "20220105");
  }
  EXPECT_TRUE(warned) << dry.out;
  Cli human = tamizdat({"scrub", dir().string(), "--dry-run"});
  EXPECT_NE(human.out.find("the name gives away"), std::string::npos) << human.out;

  Cli r = create({"--scrub", "--rename"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("-> folder-01/photo-01.jpg"), std::string::npos) << r.err;
  const ManifestData m = manifest();
  std::vector<std::string> paths;
  for (const auto& f : m.files) {
    paths.push_back(f.path.str());
    EXPECT_EQ(f.scrubbed, f.path.str() != "index.html") << f.path.str();
    EXPECT_EQ(f.path.str().find("Almaty"), std::string::npos);
    EXPECT_EQ(f.path.str().find("2022"), std::string::npos);
  }
  EXPECT_NE(std::find(paths.begin(), paths.end(), "folder-01/photo-01.jpg"), paths.end())
      << ::testing::PrintToString(paths);
  const auto html = test::read_bytes(dir() / "index.html");
  EXPECT_EQ(std::string(html.begin(), html.end()), "<h1>News</h1><img src=\"folder-01/photo-01.jpg\">");
  // Every media file got a neutral name, so nothing is left to warn about.
  Cli after = tamizdat({"scrub", dir().string(), "--dry-run", "--json"});
  const json aj = json::parse(after.out);
  for (const auto& f : aj["files"]) EXPECT_TRUE(f["name_warnings"].empty()) << f.dump();
}

TEST_F(ScrubGate, NoProvenanceLeavesTheSealsOut) {
  Cli r = create({"--scrub", "--no-provenance"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const ManifestData m = manifest();
  EXPECT_EQ(m.metadata, MetadataStatement::checked);
  for (const auto& f : m.files) {
    EXPECT_EQ(f.scrubbed, f.path.str() != "index.html") << f.path.str();
    EXPECT_FALSE(f.provenance) << f.path.str();
  }
}

TEST_F(ScrubGate, KeepMetadataSignsAsIsWithAWarningAndSaysSo) {
  const auto before = tree_digests(dir());
  Cli r = create({"--keep-metadata"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("photo.jpg"), std::string::npos) << r.err;
  EXPECT_EQ(manifest().metadata, MetadataStatement::kept);
  auto after = tree_digests(dir());
  after.erase(".tamizdat/manifest");
  EXPECT_EQ(after, before);
  EXPECT_TRUE(bytes_contain(dir() / "photo.jpg", kSerial));
  // The two choices exclude each other.
  EXPECT_EQ(create({"--keep-metadata", "--scrub"}).code, 2);
}

TEST_F(ScrubGate, ACorruptFileStopsSigningEvenWithScrub) {
  const auto b = test::read_bytes(dir() / "clip.mp4");
  test::write_bytes(dir() / "clip.mp4", std::vector<std::uint8_t>(b.begin(), b.begin() + static_cast<long>(b.size() / 2)));
  const auto before = tree_digests(dir());
  Cli r = create({"--scrub"});
  EXPECT_EQ(r.code, 1);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["error"], "bad_media") << r.out;
  bool named = false;
  for (const auto& f : j["files"]) named = named || (f["path"] == "clip.mp4" && f["error"] == "bad_media");
  EXPECT_TRUE(named) << r.out;
  EXPECT_FALSE(fs::exists(dir() / ".tamizdat/manifest"));
  // Scrubbing went ahead on the others (each file on its own); the broken one is untouched.
  EXPECT_EQ(tree_digests(dir())["clip.mp4"], before.at("clip.mp4"));
}

}  // namespace
}  // namespace tz
