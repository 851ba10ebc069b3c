// Default sanitizer options of the libFuzzer binaries (TZ_FUZZ builds only).
// UBSan is compiled recoverable so that known, reported bugs can be listed in
// ubsan_pending.supp (one line each, next to a reproducer in pending/) and
// fuzzing can go on past them; every other report still stops the run
// (halt_on_error) and is saved as a crasher. UBSAN_OPTIONS overrides these.
#ifndef TZ_FUZZ_UBSAN_SUPPRESSIONS
#error "TZ_FUZZ_UBSAN_SUPPRESSIONS must name the suppressions file"
#endif

extern "C" const char* __ubsan_default_options();

extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" TZ_FUZZ_UBSAN_SUPPRESSIONS;
}
