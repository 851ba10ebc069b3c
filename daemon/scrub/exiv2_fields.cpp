#include "scrub/exiv2_fields.h"

#include <exiv2/exiv2.hpp>

#include <algorithm>
#include <array>
#include <mutex>

namespace tz::scrub {

namespace {

std::mutex g_xmp_mutex;

void lock_xmp(void* /*data*/, bool lock) {
  if (lock) {
    g_xmp_mutex.lock();
  } else {
    g_xmp_mutex.unlock();
  }
}


bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

bool any_of(std::string_view s, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

void add_fields(std::vector<Finding>& out, std::size_t& others, const std::string& prefix, const std::string& key,
                const std::string& value) {
  const Category c = category_of_key(key);
  if (c == Category::other) {
    ++others;
    return;
  }
  out.push_back({c, prefix + key, printable_value(value)});
}

template <typename Data>
void add_all(std::vector<Finding>& out, std::size_t& others, const std::string& prefix, const Data& data) {
  for (const auto& d : data) {
    std::string value;
    try {
      value = d.toString();
    } catch (const std::exception&) {
      value = "(unreadable)";
    }
    add_fields(out, others, prefix, d.key(), value);
  }
}

void add_others(std::vector<Finding>& out, std::size_t others, const std::string& prefix) {
  if (others == 0) return;
  out.push_back({Category::other, prefix + "other fields", std::to_string(others) + " more fields"});
}

}  // namespace

void init_xmp_once() {
  static std::once_flag once;
  std::call_once(once, [] { Exiv2::XmpParser::initialize(lock_xmp, nullptr); });
}

Category category_of_key(std::string_view key) {
  const auto dot = key.rfind('.');
  const std::string_view tag = dot == std::string_view::npos ? key : key.substr(dot + 1);
  const bool xmp = key.starts_with("Xmp.");
  const bool iptc = key.starts_with("Iptc.");

  if (key.starts_with("Exif.GPSInfo.") || (xmp && tag.starts_with("GPS")) || contains(key, "Location")) {
    return Category::gps;
  }
  if (key.starts_with("Exif.Thumbnail.") || contains(key, "Thumbnail") || contains(key, "Preview")) {
    return Category::thumbnail;
  }
  if (contains(tag, "Serial") || contains(tag, "UniqueID") || contains(tag, "UniqueCameraModel") ||
      any_of(tag, {"Make", "Model", "LensMake", "LensModel", "LensSpecification", "HostComputer", "OwnerName"}) ||
      contains(tag, "BodySerial") || contains(tag, "InternalSerial")) {
    return tag == "OwnerName" ? Category::owner : Category::device;
  }
  if (any_of(tag, {"Artist", "Copyright", "CameraOwnerName", "XPAuthor", "Byline", "BylineTitle", "Credit", "Contact",
                   "CopyrightNotice", "Writer", "creator", "rights", "Owner", "AuthorsPosition", "CaptionWriter",
                   "Author", "Authors", "WebStatement", "UsageTerms"}) ||
      key.starts_with("Xmp.iptc.Creator") || key.starts_with("Xmp.plus.")) {
    return Category::owner;
  }
  if (any_of(tag, {"Software", "ProcessingSoftware", "CreatorTool", "Producer", "Program", "ProgramVersion", "Firmware",
                   "FirmwareVersion"}) ||
      key.starts_with("Xmp.xmpMM.History") || key.starts_with("Xmp.xmpMM.DerivedFrom")) {
    return Category::software;
  }
  if (contains(tag, "Date") || (contains(tag, "Time") && tag != "ExposureTime") || contains(tag, "SubSec") ||
      tag == "When") {
    return Category::time;
  }
  if (any_of(tag, {"ImageDescription", "UserComment", "XPComment", "XPTitle", "XPSubject", "XPKeywords", "Caption",
                   "Headline", "Keywords", "description", "title", "subject", "Title", "Subject", "ObjectName",
                   "Comment"})) {
    return Category::comment;
  }
  if (xmp) return Category::xmp;
  if (iptc) return Category::iptc;
  return Category::other;
}

std::vector<Finding> image_fields(std::span<const std::uint8_t> bytes, const std::string& prefix) {
  std::vector<Finding> out;
  std::size_t others = 0;
  init_xmp_once();
  try {
    auto image = Exiv2::ImageFactory::open(bytes.data(), static_cast<long>(bytes.size()));
    if (image.get() == nullptr) return out;
    image->readMetadata();
    add_all(out, others, prefix, image->exifData());
    add_all(out, others, prefix, image->iptcData());
    add_all(out, others, prefix, image->xmpData());
    if (!image->comment().empty())
      out.push_back({Category::comment, prefix + "Comment", printable_value(image->comment())});
  } catch (const std::exception&) {
    // Whatever was read before the failure stays reported.
  }
  add_others(out, others, prefix);
  return out;
}

std::vector<Finding> xmp_fields(std::string_view packet, const std::string& prefix) {
  std::vector<Finding> out;
  std::size_t others = 0;
  init_xmp_once();
  try {
    Exiv2::XmpData data;
    if (Exiv2::XmpParser::decode(data, std::string(packet)) != 0) return out;
    add_all(out, others, prefix, data);
  } catch (const std::exception&) {
  }
  add_others(out, others, prefix);
  return out;
}

}  // namespace tz::scrub
