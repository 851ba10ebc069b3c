// Inspection: what a file is, and which identifying metadata it holds.
// exiftool, the most complete metadata reader Debian ships, reads every file
// of a folder in one run (it knows EXIF, maker notes, XMP, IPTC, ICC, PNG
// text, QuickTime and Matroska tags, ID3, Vorbis comments, PDF...); the
// rules here sort what it reports into categories and leave out what only
// describes the picture or sound (size, codec, frame rate). A file exiftool
// cannot identify is "unknown", and unknown means unsafe.
// Blocking; call from the CLI or a worker thread.
#pragma once

#include "core/result.h"
#include "scrub/finding.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tz::scrub {

// What a file is, as far as scrubbing goes (by content, not by name).
enum class Kind {
  text,      // HTML, CSS, JavaScript, plain text, JSON: what readers see is all there is
  jpeg,
  png,
  webp,
  tiff,
  gif,
  heif,      // HEIC, HEIF, AVIF
  svg,
  mp4,       // the ISO media family: MP4, MOV, M4A, M4V, 3GP
  matroska,  // MKV, WebM, MKA
  mp3,
  ogg,       // Ogg Vorbis, Opus, FLAC in Ogg
  flac,
  wav,
  avi,
  pdf,
  unknown,
};

[[nodiscard]] std::string_view kind_name(Kind k);

struct Inspection {
  Kind kind = Kind::unknown;
  std::string format;              // exiftool's name for it ("JPEG", "MOV"), "" when unknown
  std::vector<Finding> findings;   // identifying metadata; empty when clean
  // Set when the file cannot be judged: errc::cannot_inspect (unknown
  // format) or errc::bad_media (corrupt, truncated); `detail` says why.
  std::optional<errc> problem;
  std::string detail;
};

// How thoroughly exiftool reads: `validate` also walks the image and media
// data for damage (a truncated JPEG, a cut `mdat`), which costs a read of
// every byte; the second look at copies our own tools wrote skips it.
enum class Depth { validate, metadata_only };

// Inspects `files` (absolute paths) with one exiftool run. The result has one
// entry per file, in order. Fails only when exiftool cannot run at all
// (errc::cannot_inspect when it is not installed, with `diag` naming the
// package) or its output is not what it documents (errc::scrub_failed).
[[nodiscard]] Result<std::vector<Inspection>> inspect_files(const std::vector<std::filesystem::path>& files,
                                                            Diag* diag = nullptr, Depth depth = Depth::validate);

// One exiftool JSON object (keys "Group0:Group1[:CopyN]:Tag", from
// `-j -G0:1:4`) to an Inspection: the pure part of inspect_files.
[[nodiscard]] Inspection classify_exiftool_object(std::string_view json_object);

}  // namespace tz::scrub
