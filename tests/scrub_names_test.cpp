// File names that identify: the judge, the planner, the reference rewriter
// and the applier on real folders.
#include "scrub/names.h"

#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

}  // namespace
}  // namespace tz::scrub
