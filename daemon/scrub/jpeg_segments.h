// The marker structure of a JPEG (JFIF/Exif) file: which segments carry
// metadata, and a copy of the file without them that decodes to exactly the
// same pixels. Nothing is decoded or re-encoded: the copy keeps the tables,
// frame and scan headers and the entropy-coded data byte for byte, and drops
// every APPn segment but a bare JFIF header and the Adobe colour-transform
// marker, every comment, and whatever follows the end-of-image marker (where
// some cameras append a second picture or a maker's trailer).
//
// Used for JPEG images inside PDFs (scrub/pdf.cpp); it reads untrusted bytes
// and never reads past `data`. Pure; safe from any thread.
#pragma once

#include "core/result.h"
#include "scrub/finding.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tz::scrub::jpeg {

// A segment (or the bytes after end-of-image) that the clean copy leaves out.
struct MetadataSegment {
  std::size_t offset = 0;  // of its marker in the file
  std::size_t size = 0;    // marker, length field and payload
  Category category = Category::other;
  std::string name;  // "APP1 Exif", "APP1 XMP", "APP13 Photoshop 3.0", "COM", "data after EOI"...
};

// Walks the markers of `data` from SOI to EOI, through the entropy-coded data
// of every scan, and returns the segments the clean copy leaves out, in file
// order (empty for a file that is already clean).
// Fails with errc::bad_media when `data` is not a well-formed JPEG (no SOI,
// a length past the end, a file cut between segments; one cut inside its
// scan data is read as decoders read it), or errc::cannot_inspect for markers we do
// not know how to keep (JPEG-LS, JPEG extensions, reserved codes), with a
// sentence in `diag->detail`.
[[nodiscard]] Result<std::vector<MetadataSegment>> find_metadata(std::span<const std::uint8_t> data,
                                                                 Diag* diag = nullptr);

// Returns `data` without the segments find_metadata lists: SOI, the kept
// segments in their order, and EOI (when `data` has one), without fill bytes
// between segments or blank bytes after EOI. A JFIF header that carries a thumbnail
// or extra bytes is written again as a bare JFIF header (version, units and
// density kept); an Adobe marker keeps its first 12 bytes. Fails as
// find_metadata does.
[[nodiscard]] Result<std::vector<std::uint8_t>> strip_metadata(std::span<const std::uint8_t> data,
                                                               Diag* diag = nullptr);

}  // namespace tz::scrub::jpeg
