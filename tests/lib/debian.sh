# shellcheck shell=bash
# tests/lib/debian.sh: what the tests that build a Debian root share
# (tests/xen/run, the dom0 image; tests/pkg/run, the packaging test), and
# the build of our Debian packages both install.
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

# The tree $1 as git sees it (tracked files and new ones not ignored), as
# it is in the working tree, copied to $2: what a commit would hold,
# without build trees.
deb_copy_tree() {       # $1: the tree, $2: destination
    mkdir -p "$2"
    if git -C "$1" rev-parse --git-dir > /dev/null 2>&1; then
        (cd "$1" && git ls-files -z --cached --others --exclude-standard |
             while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
             tar --null -T - -cf -) | tar -xf - -C "$2"
    else
        tar -C "$1" --exclude='./build*' -cf - . | tar -xf - -C "$2"
    fi
}

# Build our Debian packages from the tree $1 in $2: dpkg-buildpackage
# -us -uc -b in a copy of the tree, the test suites left to `make test`;
# it writes the packages beside the copy, in $2.  Packages $2 holds from
# the same tree (its files' hash in $2/tree.sha256) are kept, so that a
# run that changed nothing builds nothing.  Sets DEB_CHANGES (the
# .changes file) and DEB_FILES (the .deb of each package named in
# $3...).  Needs dpkg-dev, debhelper, fakeroot and the Build-Depends.
deb_build_packages() {  # $1: tree, $2: work dir, $3...: packages
    local top=$1 work=$2 src=$2/xenos t0=$SECONDS p key new=$2.new
    shift 2
    rm -rf "$new"
    deb_copy_tree "$top" "$new"
    key=$(cd "$new" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum)
    if [ "$(cat "$work/tree.sha256" 2>/dev/null)" = "$key" ] && deb_found "$work" "$@"; then
        rm -rf "$new"
        log "packages of this very tree kept: ${DEB_FILES[*]##*/}"
        return 0
    fi
    rm -rf "$work"
    mkdir -p "$work"
    mv "$new" "$src"
    log "dpkg-buildpackage -us -uc -b (log: $work/build.log)"
    (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
         dpkg-buildpackage -us -uc -b -Pnocheck) > "$work/build.log" 2>&1 ||
        { tail -30 "$work/build.log" >&2; die "dpkg-buildpackage (log: $work/build.log)"; }
    deb_found "$work" "$@" || die "dpkg-buildpackage made no .changes or no .deb of one of: $*"
    echo "$key" > "$work/tree.sha256"
    log "built ${DEB_FILES[*]##*/} in $((SECONDS - t0)) s"
}

# The .changes and the .deb of each of $2... in $1: DEB_CHANGES and
# DEB_FILES, or status 1.
deb_found() {           # $1: dir, $2...: packages
    local dir=$1 p f
    shift
    f=("$dir"/xenos_*.changes)
    [ -f "${f[0]}" ] || return 1
    # shellcheck disable=SC2034 # for the caller
    DEB_CHANGES=${f[0]}
    DEB_FILES=()
    for p in "$@"; do
        f=("$dir/${p}_"*.deb)
        [ -f "${f[0]}" ] || return 1
        DEB_FILES+=("${f[0]}")
    done
}

# The packages the .deb files $@ depend on, one a line: the first of each
# set of alternatives, without versions, not those among $@ themselves.
deb_depends() {         # $@: .deb files
    local d
    for d in "$@"; do
        dpkg-deb -f "$d" Depends
    done | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' |
        grep -v '^$' | grep -vxF -f <(for d in "$@"; do dpkg-deb -f "$d" Package; done) |
        sort -u
}
