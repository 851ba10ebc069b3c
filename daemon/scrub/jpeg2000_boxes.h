// The structure of a JPEG 2000 image (a JP2 file, or a bare codestream as
// PDF's JPXDecode also allows): which boxes and comments carry metadata, and
// a copy without them that decodes to exactly the same pixels. Nothing is
// decoded: the copy keeps the signature, file type, reader requirements and
// header boxes and the codestream's marker segments and tile data byte for
// byte, and drops XML and UUID boxes (XMP, Exif, GeoJP2 positions), UUID
// info, intellectual property and free boxes, JPX label and association
// boxes, the codestream's main-header comments (encoders sign their name
// there), and bytes after the end of the codestream.
//
// Refused (errc::cannot_inspect): JPX composition and fragment boxes, whose
// dropping or moving would break the image, comments inside tile-part
// headers (their removal would change tile-part lengths), and markers this
// code does not know. Used for JPEG 2000 images inside PDFs
// (scrub/pdf.cpp); it reads untrusted bytes and never past `data`. Pure;
// safe from any thread.
#pragma once

#include "core/result.h"
#include "scrub/jpeg_segments.h"

#include <cstdint>
#include <span>
#include <vector>

namespace tz::scrub::jpeg2000 {

// Lists what the clean copy leaves out, in file order (MetadataSegment's
// name is "xml box", "uuid box (XMP)", "COM", "data after EOC"...).
// Fails with errc::bad_media when `data` is neither a JP2 file nor a
// codestream, or is cut or malformed, and errc::cannot_inspect as above,
// with a sentence in `diag->detail`.
[[nodiscard]] Result<std::vector<jpeg::MetadataSegment>> find_metadata(std::span<const std::uint8_t> data,
                                                                       Diag* diag = nullptr);

// Returns `data` without what find_metadata lists; a JP2 codestream box
// whose comments were dropped gets its new length. Fails as find_metadata.
[[nodiscard]] Result<std::vector<std::uint8_t>> strip_metadata(std::span<const std::uint8_t> data,
                                                               Diag* diag = nullptr);

}  // namespace tz::scrub::jpeg2000
