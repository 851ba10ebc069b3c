// File names that identify: the judge, the planner, the reference rewriter
// and the applier on real folders.
#include "scrub/names.h"

#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <gtest/gtest.h>
#include <random>

namespace tz::scrub {
namespace {

bool has(const std::vector<NameFlag>& flags, NameReason r) {
  return std::any_of(flags.begin(), flags.end(), [&](const NameFlag& f) { return f.reason == r; });
}

bool has(const std::vector<NameFlag>& flags, NameReason r, std::string_view detail) {
  return std::find(flags.begin(), flags.end(), NameFlag{r, std::string(detail)}) != flags.end();
}

std::string describe(const std::vector<NameFlag>& flags) {
  std::string s;
  for (const auto& f : flags) s += std::string(name_reason_name(f.reason)) + ":" + f.detail + " ";
  return s;
}

// ---- the judge -------------------------------------------------------------

struct Expected {
  std::string name;
  std::string camera;  // a camera detail that must be there ("" for none required)
  std::string date;    // a date detail that must be there
  std::string time;    // a time detail that must be there
};

TEST(NameJudge, CameraAndAppNamesFromTheIssue) {
  const std::vector<Expected> cases = {
      {"IMG_20220105_Almaty.jpg", "phone or camera (IMG_)", "20220105", ""},
      {"PXL_20220105_143210123.jpg", "Google Pixel (PXL_)", "20220105", "143210123"},
      {"WhatsApp Image 2022-01-05 at 14.32.10.jpeg", "WhatsApp", "2022-01-05", "14.32.10"},
      {"VID_20220105_143210.mp4", "phone video (VID_)", "20220105", "143210"},
      {"DSC_0042.JPG", "Nikon or Sony camera (DSC_)", "", ""},
      {"signal-2022-01-05-143210.jpg", "Signal (signal-)", "2022-01-05", "143210"},
      {"photo_2022-01-05_14-32-10.jpg", "Telegram (photo_)", "2022-01-05", "14-32-10"},
      {"Screenshot_20220105-143210_Telegram.jpg", "screenshot", "20220105", "143210"},
      {"GOPR0042.MP4", "GoPro (GOPR)", "", ""},
      {"DJI_0042.JPG", "DJI drone or camera (DJI_)", "", ""},
      {"MVI_0042.MOV", "Canon camera video (MVI_)", "", ""},
      {"P1010042.JPG", "Panasonic or Olympus camera (P)", "", ""},
      {"20220105_143210.jpg", "Samsung camera (date_time)", "20220105", "143210"},
      // A few more from the same families.
      {"IMG-20220105-WA0001.jpg", "WhatsApp (IMG-)", "20220105", ""},
      {"PTT-20220105-WA0003.opus", "WhatsApp voice message (PTT-)", "20220105", ""},
      {"GX010042.MP4", "GoPro (GX)", "", ""},
      {"DSCF1234.JPG", "Fujifilm camera (DSCF)", "", ""},
      {"_MG_1234.CR2", "Canon camera (_MG_)", "", ""},
      {"Screen Shot 2022-01-05 at 2.32.10 PM.png", "macOS screenshot", "2022-01-05", "2.32.10"},
      {"FB_IMG_1641393130000.jpg", "Facebook (FB_IMG_)", "", "1641393130000"},
      {"mmexport1641393130000.jpg", "WeChat (mmexport)", "", "1641393130000"},
      {"img_1234.jpeg", "phone or camera (IMG_)", "", ""},  // lower-cased by a tool
  };
  for (const auto& c : cases) {
    const auto flags = judge_name(c.name, EntryKind::file);
    SCOPED_TRACE(c.name + " -> " + describe(flags));
    EXPECT_TRUE(c.camera.empty() || has(flags, NameReason::camera, c.camera));
    EXPECT_TRUE(c.date.empty() || has(flags, NameReason::date, c.date));
    EXPECT_TRUE(c.time.empty() || has(flags, NameReason::time, c.time));
    // A name with other reasons does not repeat that it is media.
    EXPECT_FALSE(has(flags, NameReason::media));
  }
}

// Names that must stay as they are. report.pdf stays: a PDF is a document,
// not media, and a document's title says what it is about rather than who
// made it or where; its metadata is the metadata scrubber's business.
TEST(NameJudge, NeutralNamesStay) {
  for (const char* name : {"index.html", "style.css", "photo-01.jpg", "report.pdf", "video-12.mp4", "audio-03.mp3",
                           "file-001.tar.gz", "file-07", "notes.txt", "script.js", "chapter-12.txt", "report-2022.pdf",
                           "v1.2.3.txt", "page-01.html", "12345.txt", "отчёт.pdf", "گزارش.pdf", "DATA2022.csv",
                           "README"}) {
    const auto flags = judge_name(name, EntryKind::file);
    EXPECT_TRUE(flags.empty()) << name << " -> " << describe(flags);
  }
  for (const char* name : {"folder-01", "images", "css", "docs", "Алматы", "Almaty protest"}) {
    const auto flags = judge_name(name, EntryKind::folder);
    EXPECT_TRUE(flags.empty()) << name << " -> " << describe(flags);
  }
}

// Any image, video or audio file that is not already neutral: a place word
// cannot be recognised, so the whole name goes.
TEST(NameJudge, MediaWithAnyOtherNameIsFlagged) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Алматы митинг.jpg", "image"}, {"تظاهرات تهران.mp4", "video"}, {"logo.png", "image"},
      {"photo-1.jpg", "image"},       {"PHOTO-01.JPG", "image"},       {"photo-01.JPG", "image"},
      {"interview.m4a", "audio"},     {"Almaty.svg", "image"},         {"clip.MOV", "video"},
  };
  for (const auto& [name, kind] : cases) {
    const auto flags = judge_name(name, EntryKind::file);
    EXPECT_EQ(flags, (std::vector<NameFlag>{{NameReason::media, kind}})) << name << " -> " << describe(flags);
  }
}

TEST(NameJudge, DatesInOtherForms) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"report 2022-01-05.pdf", "2022-01-05"},
      {"notes_20220105.txt", "20220105"},
      {"Фото 05.01.2022.pdf", "05.01.2022"},
      {"scan_2022_01_05.pdf", "2022_01_05"},
      {"minutes 2022.01.05.txt", "2022.01.05"},
      {"letter 01-05-2022.txt", "01-05-2022"},
      {"протокол 05012022.docx", "05012022"},
      // Solar Hijri date in Persian digits (1400-10-15 is 2022-01-05).
      {"گزارش ۱۴۰۰-۱۰-۱۵.pdf", "1400-10-15"},
      {"گزارش ١٤٠٠_١٠_١٥.pdf", "1400_10_15"},  // Arabic-Indic digits
  };
  for (const auto& [name, date] : cases) {
    const auto flags = judge_name(name, EntryKind::file);
    EXPECT_TRUE(has(flags, NameReason::date, date)) << name << " -> " << describe(flags);
  }
  EXPECT_TRUE(has(judge_name("meeting 14.32.10.txt", EntryKind::file), NameReason::time, "14.32.10"));
  EXPECT_TRUE(has(judge_name("dump 20220105143210.txt", EntryKind::file), NameReason::time, "143210"));
  // Not dates: impossible months and days, years out of range, versions.
  for (const char* name : {"2022-13-05.txt", "2022-01-32.txt", "1234-01-05.txt", "v1.02.03.txt", "99999999.txt"}) {
    const auto flags = judge_name(name, EntryKind::file);
    EXPECT_FALSE(has(flags, NameReason::date)) << name << " -> " << describe(flags);
  }
}

TEST(NameJudge, FoldersAreJudgedTheSameWayButNotAsMedia) {
  EXPECT_TRUE(has(judge_name("DCIM", EntryKind::folder), NameReason::camera));
  EXPECT_TRUE(has(judge_name("100CANON", EntryKind::folder), NameReason::camera, "camera folder (DCF)"));
  EXPECT_TRUE(has(judge_name("WhatsApp Images", EntryKind::folder), NameReason::camera, "WhatsApp"));
  EXPECT_TRUE(has(judge_name("2022-01-05 Almaty", EntryKind::folder), NameReason::date, "2022-01-05"));
  EXPECT_TRUE(has(judge_name("IMG_20220105", EntryKind::folder), NameReason::date, "20220105"));
  // A folder named like a picture is not a picture.
  EXPECT_TRUE(judge_name("pictures.jpg", EntryKind::folder).empty());
  EXPECT_TRUE(is_neutral_name("folder-01", EntryKind::folder));
  EXPECT_FALSE(is_neutral_name("folder-1", EntryKind::folder));
  EXPECT_FALSE(is_neutral_name("photo-01.jpg", EntryKind::folder));
}

TEST(NameJudge, HostileNamesDoNotBreakIt) {
  EXPECT_NO_FATAL_FAILURE((void)judge_name("", EntryKind::file));
  EXPECT_NO_FATAL_FAILURE((void)judge_name(".", EntryKind::file));
  EXPECT_NO_FATAL_FAILURE((void)judge_name(std::string(100000, '1'), EntryKind::file));
  EXPECT_NO_FATAL_FAILURE((void)judge_name(std::string("\xDB\xFF\xD9", 3), EntryKind::file));
  EXPECT_NO_FATAL_FAILURE((void)judge_name(test::random_bytes(4096, 7), EntryKind::folder));
  EXPECT_EQ(media_kind("a/b/c.JPG"), MediaKind::image);
  EXPECT_EQ(media_kind(".jpg"), MediaKind::none);
}

// ---- the planner -------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> pairs(const RenamePlan& plan) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : plan.renames) out.emplace_back(r.from, r.to);
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(NamePlanner, NumbersPerFolderAndPrefixInPathOrder) {
  const std::vector<std::string> files = {"index.html", "style.css", "report.pdf",  "IMG_2.jpg", "IMG_1.jpg",
                                          "b.png",      "clip.mp4",  "voice.M4A",   "2022-01-05.pdf", "odd.Almaty"};
  auto plan = plan_renames(files, nullptr);
  ASSERT_TRUE(plan);
  EXPECT_EQ(pairs(plan.value()), (Pairs{{"2022-01-05.pdf", "file-01.pdf"},
                                        {"IMG_1.jpg", "photo-01.jpg"},
                                        {"IMG_2.jpg", "photo-02.jpg"},
                                        {"b.png", "photo-03.png"},
                                        {"clip.mp4", "video-01.mp4"},
                                        {"voice.M4A", "audio-01.m4a"}}));
  // odd.Almaty is neither media nor flagged: it stays. Its extension would
  // not have been kept either (see below).
  std::vector<std::string> sorted = files;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(plan.value().files, sorted);
  EXPECT_EQ(plan.value().renames[0].why, (std::vector<NameFlag>{{NameReason::date, "2022-01-05"}}));
}

TEST(NamePlanner, SameListSamePlanWhateverTheOrder) {
  std::vector<std::string> files;
  for (int i = 0; i < 40; ++i) files.push_back("d" + std::to_string(i % 3) + "/IMG_" + std::to_string(i) + ".jpg");
  files.push_back("d0/index.html");
  files.push_back("2022-01-05/VID_1.mp4");
  const auto first = plan_renames(files, nullptr);
  ASSERT_TRUE(first);
  std::mt19937 rng(1);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(files.begin(), files.end(), rng);
    const auto again = plan_renames(files, nullptr);
    ASSERT_TRUE(again);
    EXPECT_EQ(again.value(), first.value());
  }
}

TEST(NamePlanner, WidthGrowsWithTheCount) {
  std::vector<std::string> files;
  for (int i = 0; i < 99; ++i) files.push_back("a/" + std::to_string(1000 + i) + ".jpg");
  for (int i = 0; i < 100; ++i) files.push_back("b/" + std::to_string(1000 + i) + ".jpg");
  const auto plan = plan_renames(files, nullptr);
  ASSERT_TRUE(plan);
  const auto& r = plan.value().renames;
  ASSERT_EQ(r.size(), 199u);
  EXPECT_EQ(r.front().to, "a/photo-01.jpg");
  EXPECT_EQ(r[98].to, "a/photo-99.jpg");
  EXPECT_EQ(r[99].to, "b/photo-001.jpg");
  EXPECT_EQ(r.back().to, "b/photo-100.jpg");
}

TEST(NamePlanner, NeverCollidesWithANameThatStaysEvenInAnotherCase) {
  const std::vector<std::string> files = {"photo-01.jpg", "PHOTO-02.JPG", "IMG_1.jpg",
                                          "FILE-01.PDF",  "2022-01-05.pdf", "file-02.pdf"};
  const auto plan = plan_renames(files, nullptr);
  ASSERT_TRUE(plan);
  // photo-01.jpg and file-02.pdf are neutral and stay; FILE-01.PDF is a
  // document with a harmless name and stays; PHOTO-02.JPG is renamed, but
  // no new name takes its old one either.
  EXPECT_EQ(pairs(plan.value()), (Pairs{{"2022-01-05.pdf", "file-03.pdf"},
                                        {"IMG_1.jpg", "photo-03.jpg"},
                                        {"PHOTO-02.JPG", "photo-04.jpg"}}));
}

TEST(NamePlanner, FoldersAreRenamedAndTheirContentsFollow) {
  const std::vector<std::string> files = {"2022-01-05 Almaty/IMG_1.jpg", "2022-01-05 Almaty/index.html",
                                          "DCIM/Camera/x.jpg", "docs/readme.txt", "docs/photo-01.jpg",
                                          "index.html"};
  const auto plan = plan_renames(files, nullptr);
  ASSERT_TRUE(plan);
  EXPECT_EQ(pairs(plan.value()), (Pairs{{"2022-01-05 Almaty", "folder-01"},
                                        {"2022-01-05 Almaty/IMG_1.jpg", "folder-01/photo-01.jpg"},
                                        {"DCIM", "folder-02"},
                                        {"DCIM/Camera", "folder-02/folder-01"},
                                        {"DCIM/Camera/x.jpg", "folder-02/folder-01/photo-01.jpg"}}));
  EXPECT_EQ(plan.value().renames[0].kind, EntryKind::folder);
  EXPECT_EQ(plan.value().renames[1].kind, EntryKind::file);
}

TEST(NamePlanner, KeepsOnlyExtensionsItKnows) {
  const std::vector<std::string> files = {"2022-01-05.Almaty", "2022-01-06.tar.gz", "2022-01-07",
                                          "2022-01-08.HTML"};
  const auto plan = plan_renames(files, nullptr);
  ASSERT_TRUE(plan);
  EXPECT_EQ(pairs(plan.value()), (Pairs{{"2022-01-05.Almaty", "file-01"},
                                        {"2022-01-06.tar.gz", "file-02.tar.gz"},
                                        {"2022-01-07", "file-03"},
                                        {"2022-01-08.HTML", "file-04.html"}}));
}

TEST(NamePlanner, RefusesWhatAManifestWouldRefuse) {
  const std::vector<std::vector<std::string>> bad = {
      {".tamizdat/manifest"}, {"../x.jpg"},     {"/etc/passwd"}, {"a//b"},          {"a.jpg", "A.JPG"},
      {"a", "a/b"},           {"x.jpg", "x.jpg"}, {"a\\b.jpg"},  {std::string("a\0b", 3)}};
  for (const auto& files : bad) {
    Diag d;
    const auto plan = plan_renames(files, &d);
    ASSERT_FALSE(plan) << files[0];
    EXPECT_EQ(plan.error(), make_error_code(errc::unsafe_path)) << files[0];
    EXPECT_FALSE(d.detail.empty());
  }
  // Folders that differ only in case hold different paths: allowed, and
  // their new names are kept apart.
  const std::vector<std::string> files = {"A 2022-01-05/x.txt", "a 2022-01-05/y.txt"};
  const auto plan = plan_renames(files, nullptr);
  ASSERT_TRUE(plan);
  EXPECT_EQ(pairs(plan.value()), (Pairs{{"A 2022-01-05", "folder-01"}, {"a 2022-01-05", "folder-02"}}));
}

// ---- rewriting references (pure) ---------------------------------------------

RenamePlan plan_for(const std::vector<std::string>& files) {
  auto plan = plan_renames(files, nullptr);
  EXPECT_TRUE(plan);
  return plan.value();
}

// Replaces each "{old}" / "{new}" marker pair: `tmpl` uses "@N@" for the
// reference numbered N; `olds[N]` goes into the input, `news[N]` into what
// the output must be, byte for byte.
std::pair<std::string, std::string> fill(std::string tmpl, const std::vector<std::string>& olds,
                                         const std::vector<std::string>& news) {
  std::string in = tmpl, out = tmpl;
  for (std::size_t i = 0; i < olds.size(); ++i) {
    const std::string marker = "@" + std::to_string(i) + "@";
    for (auto* s : {&in, &out}) {
      const std::string& with = s == &in ? olds[i] : news[i];
      for (auto pos = s->find(marker); pos != std::string::npos; pos = s->find(marker, pos + with.size())) {
        s->replace(pos, marker.size(), with);
      }
    }
  }
  return {in, out};
}

TEST(NameRefs, NothingToRenameLeavesEveryByte) {
  const std::string html = test::random_bytes(20000, 3) + "<img src=IMG_1.jpg><style>a{b:url(x)}</style>";
  const RenamePlan empty;
  const auto r = rewrite_references(html, RefSyntax::html, "index.html", empty);
  EXPECT_EQ(r.text, html);
  EXPECT_EQ(r.references, 0u);
}

TEST(NameRefs, AttributesOfEveryKind) {
  const auto plan = plan_for({"IMG_1.jpg", "media/IMG_2.jpg", "index.html", "next.html", "2022-01-05.html"});
  const auto [in, want] = fill(
      "<!doctype html><HTML><head>\n"
      "<meta property=\"og:image\" content=\"@0@\">\n"
      "<meta name=\"twitter:image\" content='@0@'>\n"
      "<meta http-equiv=\"refresh\" content=\"5; url=@2@\">\n"
      "<meta name=\"description\" content=\"IMG_1.jpg\">\n"
      "</head><body>\n"
      "<IMG SRC=@0@ alt=\"IMG_1.jpg\"><img src = \"./@0@?w=10#top\">\n"
      "<img srcset=\"@0@ 1x, media/@1@ 2x,data:image/png;base64,AAAA 3x\" src=\"@0@\">\n"
      "<video poster=\"@0@\" src=media/@1@></video>\n"
      "<object data=\"@0@\"></object><table background=\"@0@\"></table>\n"
      "<svg><image href=\"@0@\"/><image xlink:href=\"media/@1@\"/><![CDATA[ <img src=\"IMG_1.jpg\"> ]]></svg>\n"
      "<a href=\"@2@#part\">d</a><a href=\"https://example.org/IMG_1.jpg\">e</a><a href=\"//example.org/IMG_1.jpg\">e</a>\n"
      "<a href=\"/IMG_1.jpg\">root</a><a href=\"../IMG_1.jpg\">above</a><a href=\"mailto:IMG_1.jpg\">m</a>\n"
      "<img src=\"IMG&#95;1.jpg\" data-x=\"IMG_1.jpg\"><noscript><img src=\"@0@\"></noscript>\n"
      "<div style=\"background:url(&quot;@0@&quot;)\"></div>\n"
      "<!-- <img src=\"IMG_1.jpg\"> --><textarea><img src=\"IMG_1.jpg\"></textarea>\n"
      "<title><img src=\"IMG_1.jpg\"></title>\n"
      "<script><!--<script></script><img src=\"IMG_1.jpg\"></script>\n"
      "<img src=\"%49MG_1.jpg\" ping=\"next.html @0@\"><a href=\"media/\">m</a>\n"
      "</body></HTML>",
      {"IMG_1.jpg", "IMG_2.jpg", "2022-01-05.html"}, {"photo-01.jpg", "photo-01.jpg", "file-01.html"});
  const auto r = rewrite_references(in, RefSyntax::html, "index.html", plan);
  // The entity-encoded and percent-encoded references are rewritten too:
  // their whole segment becomes the new name.
  std::string expected = want;
  for (const std::string from : {"IMG&#95;1.jpg", "%49MG_1.jpg"}) {
    expected.replace(expected.find(from), from.size(), "photo-01.jpg");
  }
  EXPECT_EQ(r.text, expected);
  EXPECT_EQ(r.references, 20u);
}

TEST(NameRefs, RelativePathsFromASubfolderAndBase) {
  const auto plan = plan_for({"IMG_1.jpg", "2022-01-05 Almaty/DSC_0042.JPG", "sub/page.html", "sub/deeper/x.html"});
  {
    const std::string in =
        "<img src=\"../IMG_1.jpg\"><img src=\"../2022-01-05%20Almaty/./DSC_0042.JPG\">"
        "<img src=\"../sub/../2022-01-05 Almaty/DSC%5F0042.JPG\"><img src=\"../../IMG_1.jpg\"><img src=\"IMG_1.jpg\">";
    const auto r = rewrite_references(in, RefSyntax::html, "sub/page.html", plan);
    EXPECT_EQ(r.text,
              "<img src=\"../photo-01.jpg\"><img src=\"../folder-01/./photo-01.jpg\">"
              "<img src=\"../sub/../folder-01/photo-01.jpg\"><img src=\"../../IMG_1.jpg\"><img src=\"IMG_1.jpg\">");
    EXPECT_EQ(r.references, 3u);
  }
  {
    // <base href> moves every relative reference, even one before it.
    const std::string in =
        "<img src=\"IMG_1.jpg\"><base href=\"../2022-01-05%20Almaty/index.html\"><img src=\"DSC_0042.JPG\">";
    const auto r = rewrite_references(in, RefSyntax::html, "sub/page.html", plan);
    EXPECT_EQ(r.text, "<img src=\"IMG_1.jpg\"><base href=\"../folder-01/index.html\"><img src=\"photo-01.jpg\">");
  }
  {
    const std::string in = "<base href=\"https://example.org/\"><img src=\"IMG_1.jpg\">";
    EXPECT_EQ(rewrite_references(in, RefSyntax::html, "index.html", plan).text, in);
  }
}

TEST(NameRefs, Css) {
  const auto plan = plan_for({"IMG_1.jpg", "2022-01-05 Almaty/DSC_0042.JPG", "css/style.css", "css/2022-01-05.css"});
  const auto [in, want] = fill(
      "@import \"@2@\";\n@import url(@2@) screen;\n"
      "/* url(../IMG_1.jpg) */\n"
      ".a { background: url(../@0@); }\n"
      ".b { background: URL( \"../@1@/DSC_0042.JPG\" ) }\n"
      ".c { background: url('../@1@/DSC_0042.JPG?x#y') }\n"
      ".d { background: url(../IMG\\_1.jpg) }\n"
      ".e { background: url(https://example.org/IMG_1.jpg) }\n"
      ".f { background-image: image-set(\"../@0@\" 1x, url(../@0@) 2x) }\n"
      ".g::after { content: \"../IMG_1.jpg\" }\n"
      ".h { background: myurl(../IMG_1.jpg) }\n",
      {"IMG_1.jpg", "2022-01-05 Almaty", "2022-01-05.css"}, {"photo-01.jpg", "folder-01", "file-01.css"});
  const auto r = rewrite_references(in, RefSyntax::css, "css/style.css", plan);
  std::string expected = want;
  const std::string escaped = "IMG\\_1.jpg";
  expected.replace(expected.find(escaped), escaped.size(), "photo-01.jpg");
  // The folder's segment and the file's are each rewritten.
  for (std::string::size_type p; (p = expected.find("/DSC_0042.JPG")) != std::string::npos;) {
    expected.replace(p, 13, "/photo-01.jpg");
  }
  EXPECT_EQ(r.text, expected);
  EXPECT_EQ(r.references, 8u);
}

// Input built to be slow for a tree builder or a careless resolver: deep
// nesting, a URL of a million segments, unterminated comments, strings and
// tags. Each must take time in proportion to its size.
TEST(NameRefs, HostileInputStaysLinear) {
  const auto plan = plan_for({"IMG_1.jpg", "a/IMG_2.jpg"});
  std::string deep;
  for (int i = 0; i < 400000; ++i) deep += "<div>";
  // A path longer than any bundle path is left alone, whatever it names.
  std::string url = "<img src=\"";
  for (int i = 0; i < 1000000; ++i) url += "a/../";
  url += "IMG_1.jpg\">";
  std::string segments = "<img src=\"";
  for (int i = 0; i < 5000; ++i) segments += "a/";
  segments += "\">";
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& in : {deep, url, segments, std::string("<!--") + std::string(2000000, '-'),
                                std::string("<a href=\"") + std::string(2000000, 'x'),
                                std::string("<script>") + std::string(1000000, '<'),
                                std::string(2000000, '<')}) {
    EXPECT_EQ(rewrite_references(in, RefSyntax::html, "index.html", plan).text, in);
  }
  const std::string css = std::string(1000000, '(') + "url(" + std::string(1000000, '\\') + "\"" +
                          std::string(1000000, '/');
  EXPECT_EQ(rewrite_references(css, RefSyntax::css, "index.html", plan).text, css);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// ---- applying a plan on disk ---------------------------------------------------

const std::string kOldA = "IMG_20220105_Almaty.jpg";
const std::string kOldW = "WhatsApp Image 2022-01-05 at 14.32.10.jpeg";
const std::string kOldWEncoded = "WhatsApp%20Image%202022-01-05%20at%2014.32.10.jpeg";

// index.html: @0@ image A, @1@ image W percent-encoded, @2@ the folder
// (encoded), @3@ the folder's picture, @4@ image W as written.
const std::string kIndex =
    "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\">\r\n"
    "<meta property=\"og:image\" content=\"@0@\">\n"
    "<link rel=\"stylesheet\" href=\"style.css\">\n"
    "<style>body { background: url( '@0@' ) }</style>\n"
    "</head><body>\n"
    "<img src=\"@0@?w=100#top\" alt=\"IMG_20220105_Almaty\">\n"
    "<img srcset=\"./@0@ 1x, @1@ 2x\" src=photo-01.jpg>\n"
    "<a href=\"@2@/@3@\">x</a>\n"
    "<a href='https://example.org/IMG_20220105_Almaty.jpg'>ext</a>\n"
    "<a href=\"//cdn.example.org/IMG_20220105_Almaty.jpg\">ext2</a>\n"
    "<a href=\"report.pdf\">r</a> <a href=\"sub/page.html\">p</a>\n"
    "<div style=\"background-image:url(&quot;@0@&quot;)\"></div>\n"
    "<!-- <img src=\"IMG_20220105_Almaty.jpg\"> -->\n"
    "<script>var s = \"<img src='IMG_20220105_Almaty.jpg'>\";</script>\n"
    "<video poster=\"2022-01-05 Almaty/@3@\" src=\"@4@\"></video>\n"
    "</body></html>\n";
const std::string kStyle =
    ".hero { background: url(@0@); }\n"
    ".b { background: url(\"@2@/@3@\") }\n"
    ".c { background: url('@4@') }\n"
    ".e { background: url(https://example.org/IMG_20220105_Almaty.jpg) }\n"
    ".f { background: url(photo-01.jpg) }\n";
const std::string kPage =
    "<img src=\"../@0@\"><img src=\"../@2@/./@3@\"><a href=\"../../IMG_20220105_Almaty.jpg\">out</a>";

struct Bundle {
  test::TempDir dir;
  std::vector<std::string> files = {"index.html",
                                    "style.css",
                                    kOldA,
                                    kOldW,
                                    "2022-01-05 Almaty/DSC_0042.JPG",
                                    "sub/page.html",
                                    "report.pdf",
                                    "photo-01.jpg",
                                    "notes.txt"};
  Bundle() {
    const std::vector<std::string> olds = {kOldA, kOldWEncoded, "2022-01-05%20Almaty", "DSC_0042.JPG", kOldW};
    test::write_file(dir / "index.html", fill(kIndex, olds, olds).first);
    test::write_file(dir / "style.css", fill(kStyle, olds, olds).first);
    test::write_file(dir / "sub/page.html", fill(kPage, olds, olds).first);
    test::write_file(dir / kOldA, "jpeg A");
    test::write_file(dir / kOldW, "jpeg W");
    test::write_file(dir / "2022-01-05 Almaty/DSC_0042.JPG", "jpeg D");
    test::write_file(dir / "report.pdf", "%PDF");
    test::write_file(dir / "photo-01.jpg", "jpeg P");
    test::write_file(dir / "notes.txt", "Taken in Almaty: IMG_20220105_Almaty.jpg\n");
    ::chmod((dir / "style.css").c_str(), 0640);
  }
  std::string read(const std::string& rel) const {
    const auto b = test::read_bytes(dir / rel);
    return {b.begin(), b.end()};
  }
};

TEST(NameApply, RenamesAndRewritesAReadBundle) {
  Bundle b;
  const auto plan = plan_renames(b.files, nullptr);
  ASSERT_TRUE(plan);
  EXPECT_EQ(pairs(plan.value()), (Pairs{{"2022-01-05 Almaty", "folder-01"},
                                        {"2022-01-05 Almaty/DSC_0042.JPG", "folder-01/photo-01.jpg"},
                                        {kOldA, "photo-02.jpg"},
                                        {kOldW, "photo-03.jpeg"}}));
  Diag d;
  const auto report = apply_renames(b.dir.path(), plan.value(), &d);
  ASSERT_TRUE(report) << report.error().message() << " " << d.file << ": " << d.detail;

  const std::vector<std::string> news = {"photo-02.jpg", "photo-03.jpeg", "folder-01", "photo-01.jpg",
                                         "photo-03.jpeg"};
  const std::vector<std::string> olds = {kOldA, kOldWEncoded, "2022-01-05%20Almaty", "DSC_0042.JPG", kOldW};
  std::string index_want = fill(kIndex, olds, news).second;
  // The poster's folder was written unencoded; it is rewritten all the same.
  index_want.replace(index_want.find("2022-01-05 Almaty/"), 17, "folder-01");
  EXPECT_EQ(b.read("index.html"), index_want);
  EXPECT_EQ(b.read("style.css"), fill(kStyle, olds, news).second);
  EXPECT_EQ(b.read("sub/page.html"), fill(kPage, olds, news).second);
  EXPECT_EQ(b.read("photo-02.jpg"), "jpeg A");
  EXPECT_EQ(b.read("photo-03.jpeg"), "jpeg W");
  EXPECT_EQ(b.read("folder-01/photo-01.jpg"), "jpeg D");
  EXPECT_EQ(b.read("photo-01.jpg"), "jpeg P");
  EXPECT_EQ(b.read("notes.txt"), "Taken in Almaty: IMG_20220105_Almaty.jpg\n");
  struct stat st {};
  ASSERT_EQ(::stat((b.dir / "style.css").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  auto tree = test::list_tree(b.dir.path());
  std::sort(tree.begin(), tree.end());
  EXPECT_EQ(tree, (std::vector<std::string>{"folder-01", "folder-01/photo-01.jpg", "index.html", "notes.txt",
                                            "photo-01.jpg", "photo-02.jpg", "photo-03.jpeg", "report.pdf",
                                            "style.css", "sub", "sub/page.html"}));

  const auto& r = report.value();
  EXPECT_EQ(r.renamed, plan.value().renames);
  // index.html: og:image, <style>, src, 2 in srcset, the link, style=,
  // poster and video src. style.css: 3. page.html: 2.
  EXPECT_EQ(r.rewritten, (std::vector<RenameReport::Rewrite>{{"index.html", 9}, {"style.css", 3}, {"sub/page.html", 2}}));
  // What is left: alt text, two external links, a comment and a script in
  // index.html; the external url() in style.css; the link above the root in
  // page.html; the notes.
  EXPECT_EQ(r.mentions, (std::vector<RenameReport::Mention>{{"index.html", "IMG_20220105_Almaty", 5},
                                                            {"notes.txt", "IMG_20220105_Almaty", 1},
                                                            {"style.css", "IMG_20220105_Almaty", 1},
                                                            {"sub/page.html", "IMG_20220105_Almaty", 1}}));
}

TEST(NameApply, ATakenTargetIsRefusedAndNothingChanges) {
  Bundle b;
  const auto plan = plan_renames(b.files, nullptr);
  ASSERT_TRUE(plan);
  // A file the list did not have takes one of the new names.
  test::write_file(b.dir / "photo-03.jpeg", "someone else's");
  auto before = test::list_tree(b.dir.path());
  const std::string index_before = b.read("index.html");
  Diag d;
  const auto report = apply_renames(b.dir.path(), plan.value(), &d);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error(), make_error_code(errc::destination_exists));
  EXPECT_EQ(d.file, "photo-03.jpeg");
  auto after = test::list_tree(b.dir.path());
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, before);
  EXPECT_EQ(b.read("index.html"), index_before);
  EXPECT_EQ(b.read("photo-03.jpeg"), "someone else's");
}

TEST(NameApply, RefusesMissingFilesSymlinksAndBadPlans) {
  {
    Bundle b;
    const auto plan = plan_renames(b.files, nullptr);
    ASSERT_TRUE(plan);
    std::filesystem::remove(b.dir / kOldW);
    Diag d;
    const auto r = apply_renames(b.dir.path(), plan.value(), &d);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(errc::file_missing));
    EXPECT_EQ(d.file, kOldW);
    EXPECT_TRUE(std::filesystem::exists(b.dir / kOldA));  // nothing renamed
  }
  {
    Bundle b;
    const auto plan = plan_renames(b.files, nullptr);
    ASSERT_TRUE(plan);
    std::filesystem::remove(b.dir / kOldA);
    std::filesystem::create_symlink("/etc/passwd", b.dir / kOldA);
    const auto r = apply_renames(b.dir.path(), plan.value(), nullptr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(errc::not_regular_file));
  }
  {
    Bundle b;
    RenamePlan plan = plan_renames(b.files, nullptr).value();
    plan.renames[2].to = "sub/photo-02.jpg";  // moves it to another folder
    EXPECT_EQ(apply_renames(b.dir.path(), plan, nullptr).error(), make_error_code(errc::unsafe_path));
    plan.renames[2].to = "../photo-02.jpg";
    EXPECT_EQ(apply_renames(b.dir.path(), plan, nullptr).error(), make_error_code(errc::unsafe_path));
  }
  {
    Bundle b;
    // Larger than the rewrite limit: refused before anything changes.
    const std::string big(kMaxRewriteBytes + 1, ' ');
    test::write_file(b.dir / "index.html", big);
    const auto plan = plan_renames(b.files, nullptr);
    ASSERT_TRUE(plan);
    Diag d;
    const auto r = apply_renames(b.dir.path(), plan.value(), &d);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(errc::oversized));
    EXPECT_EQ(d.file, "index.html");
    EXPECT_TRUE(std::filesystem::exists(b.dir / kOldA));
  }
}

}  // namespace
}  // namespace tz::scrub
