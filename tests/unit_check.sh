#!/bin/sh
# unit_check: xenosd/systemd/xenosd.service and, when xenos-usage has
# ship, exporter/systemd/xenos-ship.service, as systemd reads them.
#   systemd-analyze verify: in a root of its own (the system's units, the
#     unit in /etc/systemd/system, the built xenosd at /usr/sbin/xenosd),
#     so that the check of ExecStart's binary passes without installing
#     anything; --man=no, since the man page comes with the package.
#   systemd-analyze security --offline: the exposure figure, which must
#     stay "OK" or better (at most 4.9; docs/xenosd.md has the figure).
# Skipped (77) where systemd-analyze is missing.
# Usage: unit_check.sh SOURCE_DIR BINARY_DIR
set -eu
src=$1 bin=$2
units=$src/xenosd/systemd/xenosd.service
if "$bin/exporter/xenos-usage" ship --schema >/dev/null 2>&1; then
    units="$units $src/exporter/systemd/xenos-ship.service"
fi
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze"; exit 77; }

root=$(mktemp -d /tmp/xenos-unit-XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" \
         "$root/usr/sbin" "$root/usr/bin" "$root/bin"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp $units "$root/etc/systemd/system/"
cp "$bin/xenosd/xenosd" "$root/usr/sbin/xenosd"
cp "$bin/exporter/xenos-usage" "$root/usr/bin/xenos-usage" 2>/dev/null || :
# ExecReload's /bin/kill: a stand-in will do, verify only checks it runs
printf '#!/bin/sh\n' > "$root/bin/kill"
chmod +x "$root/bin/kill"

for unit in $units; do
    name=$(basename "$unit")
    out=$(systemd-analyze verify --man=no --root="$root" "$name" 2>&1) || {
        echo "$out"; echo "unit_check: $name: systemd-analyze verify failed"
        exit 1; }
    [ -z "$out" ] || {
        echo "$out"; echo "unit_check: $name: verify complained"; exit 1; }
    echo "unit_check: $name: systemd-analyze verify: clean"

    # --threshold is the exposure times ten: 49 is 4.9, the top of "OK".
    sec=$(systemd-analyze security --offline=yes --threshold=49 "$unit" 2>&1) || {
        echo "$sec"; echo "unit_check: $name: exposure above 4.9"; exit 1; }
    echo "$name: $(echo "$sec" | grep 'Overall exposure level')"
done
