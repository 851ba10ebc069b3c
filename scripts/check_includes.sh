#!/usr/bin/env bash
# Fails when a module includes a header it may not (docs/architecture.md):
# libtorrent only in daemon/swarm, SQLite only in daemon/catalog, libarchive
# only in daemon/bundle, libqpdf and libexiv2 only in daemon/scrub, core
# includes nothing of ours but core, and swarm and gateway nothing but core
# and themselves.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bad=0
check() {  # pattern, allowed dir, what
  local hits
  hits=$(grep -rlE "$1" daemon --include='*.h' --include='*.cpp' | grep -v "^$2/" || true)
  if [[ -n "$hits" ]]; then
    echo "check_includes: $3 outside $2:" $hits >&2
    bad=1
  fi
}
check '#include <libtorrent/' daemon/swarm "libtorrent"
check '#include <sqlite3.h>' daemon/catalog "sqlite"
check '#include <archive(_entry)?.h>' daemon/bundle "libarchive"
check '#include <qpdf/' daemon/scrub "libqpdf"
check '#include <exiv2/' daemon/scrub "libexiv2"
hits=$(grep -rhoE '#include "[a-z_]+/' daemon/core | sort -u | grep -vE '"(core|tamizdat)/' || true)
if [[ -n "$hits" ]]; then echo "check_includes: core includes other modules: $hits" >&2; bad=1; fi
hits=$(grep -rhoE '#include "[a-z_]+/' daemon/swarm | sort -u | grep -vE '"(core|swarm)/' || true)
if [[ -n "$hits" ]]; then echo "check_includes: swarm includes more than core: $hits" >&2; bad=1; fi
hits=$(grep -rhoE '#include "[a-z_]+/' daemon/gateway | sort -u | grep -vE '"(core|gateway)/' || true)
if [[ -n "$hits" ]]; then echo "check_includes: gateway includes more than core: $hits" >&2; bad=1; fi
exit $bad
