# shellcheck shell=bash
# tests/lib/debian.sh: what the tests that build a Debian root share
# (tests/xen/run, the dom0 image; tests/pkg/run, the packaging test).
# Sourced by bash; the caller defines log and die.

# Install the Debian packages of $@ that are missing (as root), or die
# naming them.
deb_host_packages() {
    local p missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "missing Debian packages:$missing (run as root, or apt-get install them)"
    log "installing$missing"
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null ||
        die "apt-get install$missing"
}

# The Debian mirror and security URIs this machine's apt uses (deb822
# .sources files or one-line sources.list entries): "SUITE URI" lines.
apt_uris() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             {
                 types = uris = suites = ""
                 for (i = 1; i <= NF; i++) {
                     if ($i ~ /^Types:/) types = $i
                     if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs: */, "", uris) }
                     if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites: */, "", suites) }
                 }
                 if (types !~ /(: | )deb( |$)/) next
                 split(uris, u, " "); n = split(suites, s, " ")
                 for (j = 1; j <= n; j++) print s[j], u[1]
             }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { gsub(/\[[^]]*\]/, ""); print $3, $2 }' "$f"
    done
}

apt_uri() {             # $1: suite
    apt_uris | awk -v s="$1" '$1 == s && !uri { uri = $2 } END { print uri }'
}

# Hold the cache directory $1 (its lock file) until the caller exits; wait
# for another run that holds it, an hour at most.  $2: what we wait for.
lock_cache_dir() {
    mkdir -p "$1"
    exec 9>"$1/lock"
    if ! flock -n 9; then
        log "waiting for another $2 run (lock $1/lock)"
        flock -w 3600 9 || die "cache $1 stays locked for an hour"
    fi
}
