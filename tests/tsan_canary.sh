#!/usr/bin/env bash
# Passes only when ThreadSanitizer reports the race planted in tsan_canary
# (see tsan_canary.cpp) in its libtorrent callback. Runs it with the
# caller's TSAN_OPTIONS (scripts/test --tsan sets them: suppressions and
# all), except that the report goes to this script's stderr rather than to
# the run's log_path, where it would count as a failure.
#
#   tsan_canary.sh path/to/tsan_canary
set -uo pipefail
out=$(TSAN_OPTIONS="${TSAN_OPTIONS:-} log_path=stderr halt_on_error=1 exitcode=66" "$1" 2>&1)
rc=$?
if [[ $rc == 66 ]] && grep -q "WARNING: ThreadSanitizer: data race" <<< "$out" &&
   grep -q "on_alert_notify" <<< "$out"; then
  echo "tsan_canary: the planted race in the libtorrent callback was reported, as it must be"
  exit 0
fi
echo "$out"
echo "tsan_canary: exit $rc; TSan did not report the planted race in on_alert_notify." >&2
echo "tsan_canary: TSAN_OPTIONS or tests/tsan.supp hide races in our code on libtorrent's threads." >&2
exit 1
