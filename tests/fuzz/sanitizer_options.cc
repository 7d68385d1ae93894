// Default sanitizer options of the libFuzzer targets. The top-level build
// compiles UBSan in its recoverable mode, where a finding only prints;
// halting makes every finding a crash that libFuzzer saves as an input.
// (UBSAN_OPTIONS in the environment still overrides these.)
extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}
