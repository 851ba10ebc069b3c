// Source safety for PDF: lists and removes what in a PDF can name or place
// the person who made or passed on the document, through libqpdf (and
// libexiv2 for the fields of embedded JPEG and JPEG 2000 images).
//
// What counts as identifying here, and what a clean copy drops:
// - the document information dictionary (trailer /Info) and any other
//   trailer entry but /Root and /Size; the file identifier (/ID), which some
//   producers derive from paths and times, is replaced by one computed from
//   the copy's own bytes;
// - XMP packets (/Metadata on the catalog, pages, images or any object);
// - application private data (/PieceInfo) and its /LastModified times;
// - page thumbnails (/Thumb), which can show a page as it was before an
//   edit or a redaction;
// - the author (/T, markup annotations only), name (/NM), creation and
//   modification times (/CreationDate, /M) of annotations (review comments);
// - earlier revisions kept by incremental updates, and objects nothing
//   refers to (the copy holds only what the current revision reaches);
// - in JPEG images (DCTDecode streams), every APPn segment but a bare JFIF
//   header and the Adobe colour marker (so Exif with GPS and serials, XMP,
//   Photoshop/IPTC, ICC profiles, maker data), comments, and data after the
//   end of the image, cut out of the stream without re-encoding;
// - in JPEG 2000 images (JPXDecode streams), XML, UUID (XMP, Exif, GeoJP2),
//   rights and free boxes and the codestream's main-header comments, where
//   encoders sign their name, again without re-encoding.
// Page content streams, text, fonts, images' pixels and everything else
// stay byte for byte.
//
// Refused, because we cannot check or clean them: encrypted files, embedded
// files and file attachments, XFA forms, digitally signed files (scrub
// only: a rewrite breaks the signature), inline JPEG images with metadata
// inside content streams, JPEG markers and JPEG 2000 boxes we do not know
// (JPX composition and fragment tables), and comments in JPEG 2000
// tile-part headers.
//
// Blocking file I/O and CPU work: call from the CLI or a worker thread, never
// from the daemon's io thread. Calls on different files may run on different
// threads at once. Files are untrusted: every size is bounded, and qpdf reads
// them without its recovery (a file it could read only by repairing it is
// refused, since a repaired reading may not be what other readers show).
#pragma once

#include "core/result.h"
#include "scrub/finding.h"

#include <filesystem>
#include <vector>

namespace tz::scrub::pdf {

// Lists the identifying metadata in the PDF `file`, in the order found:
// trailer entries, then objects by number, then earlier revisions. Keys name
// where each was found ("Info /Author", "catalog /Metadata",
// "page 2 /PieceInfo", "object 7 0 JPEG Exif.GPSInfo.GPSLatitude",
// "revision 1 of 2 Info /Author"); values are printable_value()s. The
// file identifier (/ID) is not listed: every PDF has one and nothing tells
// a derived one from a random one (scrub replaces it all the same), so an
// empty list means a copy scrub made, or a file as clean as one.
// Fails with errc::bad_media (not a PDF, truncated, damaged cross-reference
// table, any warning from qpdf while reading, a malformed JPEG or JPEG 2000
// image inside), errc::cannot_inspect (encrypted; holds an embedded file or
// an XFA form; an inline JPEG with metadata or JPEG 2000 metadata that scrub
// could not remove; a feature we cannot read such as an unknown stream
// filter on an image or a content stream), with `diag` (when not null)
// naming `file` and why.
[[nodiscard]] Result<std::vector<Finding>> inspect(const std::filesystem::path& file, Diag* diag = nullptr);

// Writes a copy of `in` without identifying metadata (the list above) to
// `out`, created or truncated; `in` is only read. The caller fsyncs and
// renames `out`. Pages, text, images and fonts stay as they are; the copy is
// not linearized and its /ID is deterministic (the same input gives the same
// bytes). The copy is read back with qpdf before returning: it must open
// without warnings, inspect() must find nothing in it, and it must have the
// same pages with the same content stream bytes.
// Fails as inspect() does, and also with errc::cannot_inspect for a
// digitally signed file, or errc::scrub_failed when `out` is `in`, when
// writing fails or when the copy read back is not clean. A refused input
// leaves `out` untouched; a failure once writing began removes `out`.
[[nodiscard]] Result<void> scrub(const std::filesystem::path& in, const std::filesystem::path& out,
                                 Diag* diag = nullptr);

}  // namespace tz::scrub::pdf
