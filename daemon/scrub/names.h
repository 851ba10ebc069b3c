// File and folder names that can identify whoever made the files, and
// renaming them. A phone or camera names its files after itself and the
// moment they were taken (IMG_20220105_143210.jpg, PXL_..., "WhatsApp Image
// 2022-01-05 at 14.32.10.jpeg"), and people add places and names of their
// own. A word list cannot recognise places, so the rule is coarse on
// purpose: a name that shows a camera's or app's pattern, a date or a time
// is replaced whole, and so is the name of every image, video and audio file
// that is not already neutral, whatever words it holds.
//
// Three steps: judge_name says why one name looks identifying; plan_renames
// turns a bundle folder's file list into a deterministic RenamePlan of
// neutral names (photo-01.jpg, video-01.mp4, audio-01.mp3, file-01.pdf,
// folder-01); apply_renames carries a plan out on disk and rewrites the
// references in the bundle's HTML and CSS so its pages keep working.
// rewrite_references is the pure part of the last step.
//
// What an attacker controls: the names and the HTML and CSS bytes may come
// from anywhere (a saved web page, a friend's phone). The scanners are
// linear in their input, allocate in proportion to it, bound each file's
// size, and never rewrite a byte that is not part of a reference they
// resolved to a renamed path.
//
// judge_name, is_neutral_name, media_kind, plan_renames and
// rewrite_references are pure and safe from any thread. apply_renames does
// blocking I/O: call it from the CLI or a worker thread, never from the
// daemon's io thread, and not while anything else writes to the folder.
#pragma once

#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tz::scrub {

// Largest HTML or CSS file apply_renames reads to rewrite, and largest text
// file it reads to look for old names left behind.
inline constexpr std::uint64_t kMaxRewriteBytes = 64u << 20;

enum class EntryKind { file, folder };

// Why a name looks identifying. Stable names (name_reason_name) appear in
// `--json` output.
enum class NameReason {
  camera,  // a camera's, phone's or app's naming pattern (IMG_, PXL_, WhatsApp...)
  date,    // a calendar date in any of the usual forms, Gregorian or Solar Hijri
  time,    // a time of day, or a Unix timestamp
  media,   // an image, video or audio file whose name is not neutral (only
           // reported when no other reason applies)
};

[[nodiscard]] std::string_view name_reason_name(NameReason r);

struct NameFlag {
  NameReason reason;
  // For camera: which pattern, e.g. "Google Pixel (PXL_)"; for date and
  // time: the text matched, with Persian and Arabic-Indic digits as ASCII
  // ("2022-01-05", "14.32.10"); for media: "image", "video" or "audio".
  std::string detail;

  bool operator==(const NameFlag&) const = default;
};

enum class MediaKind { none, image, video, audio };

// The kind of media `name` holds by its extension (ASCII case-insensitive),
// or MediaKind::none. `name` may be a path; only its last component counts.
[[nodiscard]] MediaKind media_kind(std::string_view name);

// True when `name` is of the form plan_renames gives: for a file
// "photo-", "video-", "audio-" or "file-", two to nine digits, and
// optionally a lower-case extension of letters and digits (".tar.gz" too);
// for a folder "folder-" and two to nine digits.
[[nodiscard]] bool is_neutral_name(std::string_view name, EntryKind kind);

// Says why `name`, one path component (not a path), looks identifying; empty
// when it looks neutral. Recognises:
//  - phone and camera patterns: IMG_, IMG-..-WA, VID_, PXL_, MVIMG_,
//    DSC_/_DSC/DSCN/DSCF/DSC+digits, _MG_, MVI_, MAH, GOPR/GP/GH/GX, DJI_,
//    P1010042-style (Panasonic, Olympus), CIMG, IMGP, IMAG, SAM_, HPIM,
//    PICT, 100_0042 (Kodak), 20220105_143210 (Samsung), and for media and
//    sidecar files any DCF name (four letters, digits or '_', four digits);
//  - apps: WhatsApp (names and PTT-/AUD-/DOC-/STK- with -WA), Telegram
//    (photo_/video_/file_ + date, or the word), Signal (signal-), Viber,
//    Snapchat, Facebook (FB_IMG_), Messenger (received_), WeChat (mmexport,
//    wx_camera_), InShot, CapCut (lv_0_), screenshots and screen recordings
//    (Android, macOS, GNOME, Windows), voice recorders;
//  - for folders also DCIM, Camera, DCF folders (100CANON, 101MSDCF) and
//    the folders messengers save into ("WhatsApp Images", "Telegram Video");
//  - dates: 2022-01-05, 2022_01_05, 2022.01.05, 2022 01 05, 20220105,
//    05.01.2022, 01-05-2022, 05012022, and the same with Solar Hijri
//    (1350-1499) or Thai (2530-2599) years; digits may be Persian,
//    Arabic-Indic or full-width;
//  - times: 14.32.10, 14-32-10, 14_32_10, 2.32.10 after " at ", a six- or
//    nine-digit time right after a date (143210, 143210123), a date run on
//    into a time (20220105143210), and Unix timestamps of 2011-2033 in
//    seconds (10 digits) or milliseconds (13 digits);
//  - for files only: an image, video or audio file whose name is not
//    neutral (NameReason::media).
// Reasons come in that order, each pattern once. Never fails: a name that is
// not valid UTF-8 is judged on its bytes.
[[nodiscard]] std::vector<NameFlag> judge_name(std::string_view name, EntryKind kind);

// One file or folder to rename.
struct Rename {
  std::string from;  // relative path before, every folder under its old name
  std::string to;    // relative path after, every folder under its new name
  EntryKind kind = EntryKind::file;
  std::vector<NameFlag> why;  // judge_name's reasons for the last component

  bool operator==(const Rename&) const = default;
};

struct RenamePlan {
  // Every file path given to plan_renames, sorted bytewise. apply_renames
  // rewrites the HTML and CSS files among them.
  std::vector<std::string> files;
  // Sorted by `from`, so a folder comes before what it holds.
  std::vector<Rename> renames;

  bool operator==(const RenamePlan&) const = default;
};

// Plans neutral names for the bundle folder whose files are `files`
// ('/'-separated relative UTF-8 paths, as a manifest lists them; folders are
// implied by the paths, in any order). A file or folder is renamed when
// judge_name flags it; index.html is never renamed. New names are
// photo-NN / video-NN / audio-NN by media kind, file-NN for other files
// (with the old extension lower-cased when it is one Tamizdat knows, none
// otherwise, so a place word cannot ride in an extension) and folder-NN.
// Numbers count per folder and per prefix, in bytewise order of the old
// names, from 01, two digits wide or wider when there are 100 or more; a
// number whose name would equal, ASCII case-insensitively, any name already
// in that folder or another new name there is skipped. The same list gives
// the same plan. Fails with errc::unsafe_path (a path SafeRelPath refuses,
// one under .tamizdat/, two paths equal or differing only in letter case, a
// path that is both a file and a folder) or errc::too_many_files (more than
// kMaxManifestFiles), naming the path in `diag`.
[[nodiscard]] Result<RenamePlan> plan_renames(std::span<const std::string> files, Diag* diag);

enum class RefSyntax { html, css };

// The syntax apply_renames rewrites `file_name` as: html for .html, .htm and
// .xhtml, css for .css (ASCII case-insensitive), nothing otherwise.
[[nodiscard]] std::optional<RefSyntax> ref_syntax_for(std::string_view file_name);

struct RewrittenText {
  std::string text;
  std::size_t references = 0;  // URLs in which at least one segment was rewritten
};

// Rewrites the references in `text`, the bytes of the file at `referrer` (a
// relative path in the bundle before renaming, which fixes the folder
// relative references start from), that lead to a file or folder `plan`
// renames. A reference is a URL in an HTML attribute that holds one (href,
// src, srcset and imagesrcset candidates, poster, data, background, action,
// formaction, cite, longdesc, lowsrc, dynsrc, manifest, xlink:href, ping,
// the content of <meta> og:/twitter: image, video, audio and url properties
// and of a refresh), or in CSS (url(...) quoted or not, @import "...",
// image-set("...")) in a .css file, a <style> element or a style attribute.
// A URL with a scheme, starting with '/' or '//', or climbing above the
// bundle's root is left alone, as is everything when <base href> points
// outside the bundle. Each path segment is matched after character
// references, CSS escapes and percent-encoding are decoded; "." and ".."
// segments are followed; ?query and #fragment are kept. Only the bytes of a
// matched segment change (they become the new name, which needs no
// escaping); every other byte of `text` is copied as it is. Never fails:
// text that is not HTML is scanned as HTML all the same, and text larger
// than kMaxRewriteBytes, or a URL path longer than 16 KiB, is left as it is.
[[nodiscard]] RewrittenText rewrite_references(std::string_view text, RefSyntax syntax,
                                               std::string_view referrer, const RenamePlan& plan);

struct RenameReport {
  // What was renamed, as planned.
  std::vector<Rename> renamed;
  // HTML and CSS files whose references were rewritten: the file's path
  // after renaming, and how many references changed in it.
  struct Rewrite {
    std::string file;
    std::size_t references = 0;
    bool operator==(const Rewrite&) const = default;
  };
  std::vector<Rewrite> rewritten;
  // Old names still written in a text file after the rewrite (in a script,
  // text, alt text, an attribute the rewrite does not know, a reference it
  // could not resolve...): the file's path after renaming, the old name (a
  // renamed entry's last component, or its name without the extension when
  // that is four bytes or longer) and how many times it occurs there. A
  // publisher should read these: the rename cannot hide what they still say.
  struct Mention {
    std::string file;
    std::string name;
    std::size_t count = 0;
    bool operator==(const Mention&) const = default;
  };
  std::vector<Mention> mentions;
};

// Carries out `plan` in the bundle folder `dir`: rewrites the references in
// the plan's HTML and CSS files (rewrite_references), then renames, deepest
// entries first, each writing atomically (temporary file in the same folder,
// fsync, rename, fsync of the folder) and keeping the file's permission
// bits. Everything is checked before anything changes; it fails with
//  - errc::unsafe_path when a plan path is not a SafeRelPath or a rename
//    changes anything but the last component of its path;
//  - errc::file_missing when a file or folder to rename, or an HTML or CSS
//    file, is not there;
//  - errc::not_regular_file when one is a symlink or of the wrong type;
//  - errc::destination_exists when a new name is already taken on disk
//    (also when another process takes it while renaming: renames use
//    RENAME_NOREPLACE where the file system has it);
//  - errc::oversized when an HTML or CSS file is larger than
//    kMaxRewriteBytes;
//  - the system error of a failed read, write or rename.
// `diag` names the file. When a write or rename fails midway, the renames
// done are undone and the rewritten files given back their old bytes, as
// far as the disk allows. Not atomic as a whole: after a crash, running the
// same plan again finishes the job when no rename had happened yet; text
// files larger than kMaxRewriteBytes are not searched for mentions.
[[nodiscard]] Result<RenameReport> apply_renames(const std::filesystem::path& dir, const RenamePlan& plan,
                                                 Diag* diag);

}  // namespace tz::scrub
