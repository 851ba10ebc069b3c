// Protobuf set-up shared by the parsers of outside input (core's, and the
// control server's).
#pragma once

namespace tz::detail {

// Stops libprotobuf from writing its own error lines (e.g. "invalid UTF-8")
// to stderr: parsing input from peers must never let them write to our logs.
// Parse failures are still reported through return values. Idempotent.
void quiet_protobuf_logs();

}  // namespace tz::detail
