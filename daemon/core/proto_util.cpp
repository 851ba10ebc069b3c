#include "core/proto_util.h"

#include <google/protobuf/stubs/logging.h>

#include <mutex>

namespace tz::detail {

void quiet_protobuf_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  });
}

}  // namespace tz::detail
