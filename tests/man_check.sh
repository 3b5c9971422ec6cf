#!/bin/sh
# man_check (ctest): the man pages in docs/man/ are true to the programs.
#
#   tests/man_check.sh SOURCE_DIR PAGE=PROGRAM...
#
# For each PAGE (a file of docs/man/) and the PROGRAM it describes (a
# built binary): every long option PROGRAM --help names is in the page,
# and every long option the page names is in PROGRAM --help (--help and
# --version aside: every program answers them, issue 15, and a help text
# may leave them out).  xenosd.conf.5 is checked against xenosd: each key it documents
# and each key of the installed xenosd/xenosd.conf is a long option of
# xenosd.  Then every page must format without a warning from man(1), as
# lintian formats it.  Exit 0 all true, 1 otherwise, with what differs.
set -u
src=$1
shift
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

prefix() {              # $1: what each line of stdin is
    while IFS= read -r l; do printf 'man_check: %s: %s\n' "$1" "$l"; done
}

opts_of_help() {        # $1: program
    "$1" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}
# roff: "\-\-opt" is --opt; font escapes (\fB) go first
opts_of_page() {        # $1: page
    sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$1" | grep -v '^\.\\"' |
        grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

for pair in "$@"; do
    page=$src/docs/man/${pair%%=*}
    prog=${pair#*=}
    name=${pair%%=*}
    if [ ! -f "$page" ]; then
        echo "man_check: $page: missing"; fail=1; continue
    fi
    opts_of_help "$prog" > "$tmp/help"
    if [ ! -s "$tmp/help" ]; then
        echo "man_check: $prog --help names no option"; fail=1; continue
    fi
    case $name in
    xenosd.conf.5)
        # the keys documented (".BI "key = ") and those of the shipped file
        { sed -n 's/^\.BI "\([a-z\\-]*\) = .*/\1/p' "$page" | sed 's/\\-/-/g'
          sed -n 's/^#\{0,1\}\([a-z][a-z-]*\) = .*/\1/p' "$src/xenosd/xenosd.conf"
        } | sort -u | sed 's/^/--/' > "$tmp/page"
        comm -23 "$tmp/page" "$tmp/help" |
            prefix "$name: key not an option of $prog" > "$tmp/diff"
        ;;
    *)
        opts_of_page "$page" > "$tmp/page"
        { comm -23 "$tmp/help" "$tmp/page" | prefix "$name: not in the page"
          comm -13 "$tmp/help" "$tmp/page" | grep -vxe --help -e --version |
              prefix "$name: not in $prog --help"
        } > "$tmp/diff"
        ;;
    esac
    if [ -s "$tmp/diff" ]; then
        cat "$tmp/diff"; fail=1
    fi
    # lintian's way (groff-mandoc-warnings): man --warnings, errors to stderr
    if command -v man > /dev/null; then
        LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
            man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>"$tmp/warn" > /dev/null
        if [ -s "$tmp/warn" ]; then
            prefix "$name" < "$tmp/warn"; fail=1
        fi
    fi
done
[ $fail = 0 ] && echo "man_check: $# pages true to their programs"
exit $fail
