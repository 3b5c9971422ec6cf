#!/bin/sh
# top_tty.sh BUILD_DIR SOURCE_DIR: `xenosctl top` in a real terminal
# emulator (tmux, detached, on a socket of its own) against xenosd on the
# simulated demo host (sched/sim/scenarios/demo-host.yaml, 33 domains of
# eight tenants), at 80x24 and at 200x60:
#   - no line wider than the terminal, the title, the host summary and the
#     column header (once) at the top, a state per domain;
#   - a sort key reorders the tenants (name, then CPU), f folds them all;
#   - a resize is followed (columns come back at 200, go at 80);
#   - xenosd killed: "reconnecting..."; started again: data again;
#   - q quits, exit status 0.
# Every wait polls the screen for what it expects, up to WAIT_S seconds.
# Exit 77 (ctest: skipped) when tmux is missing.  With TOP_CAPTURE_DIR
# set, the first screens at 80x24 and 200x60 are kept there
# (docs/top-80x24.txt, docs/top-200x60.txt come from it).
set -eu

B=$1
S=$2
WAIT_S=${WAIT_S:-60}

if ! command -v tmux >/dev/null 2>&1; then
    echo "top_tty: SKIP: tmux is not installed (scripts/install-deps installs it)"
    exit 77
fi

T=$(mktemp -d /tmp/xenos-toptty-XXXXXX)
chmod 700 "$T"
mkdir -m 700 "$T/st"
XD_PID=
tm() { tmux -S "$T/tmux.sock" "$@"; }

cleanup() {
    [ -n "$XD_PID" ] && kill "$XD_PID" 2>/dev/null && wait "$XD_PID" || true
    tm kill-server 2>/dev/null || true
    # the simulated host exits once its socket is gone
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

fail() {
    echo "top_tty: FAIL: $*"
    echo "--- screen ($(tm display -p -t top '#{pane_width}x#{pane_height}' 2>&1)):"
    cat -n "$T/screen" 2>/dev/null || true
    echo "--- xenosd.log:"
    tail -n 20 "$T/xenosd.log" 2>/dev/null || true
    exit 1
}

start_xenosd() {
    "$B/xenosd/xenosd" --backend sim \
        --scenario "$S/sched/sim/scenarios/demo-host.yaml" \
        --policy-file "$S/policies/examples/tenants.yaml" \
        --simhost "$B/sched/sim/xenos-simhost" --interval-ms 500 \
        --listen 127.0.0.1:0 --state-dir "$T/st" 2>>"$T/xenosd.log" &
    XD_PID=$!
}

stop_xenosd() {
    kill "$XD_PID"
    wait "$XD_PID" || true
    XD_PID=
}

snap() { tm capture-pane -p -t top >"$T/screen" 2>/dev/null || : >"$T/screen"; }

# wait_screen MATCH WHAT GREP-ARGS...: until grep on the screen succeeds
# (MATCH 0) or fails (MATCH 1)
wait_screen() {
    want=$1
    what=$2
    shift 2
    i=0
    while :; do
        snap
        got=0
        grep -q "$@" "$T/screen" || got=1
        [ $got != "$want" ] || return 0
        i=$((i + 1))
        [ $i -le $((WAIT_S * 10)) ] || fail "waited in vain for $what"
        sleep 0.1
    done
}
wait_for() { wait_screen 0 "$@"; }
wait_gone() { wait_screen 1 "$@"; }

# screen_bad W: why the screen is not what every screen must be at width
# W (nothing when it is)
screen_bad() {
    w=$1
    long=$(awk -v w="$w" 'length($0) > w' "$T/screen")
    if [ -n "$long" ]; then echo "lines wider than $w: $long"
    elif ! head -n 1 "$T/screen" | grep -q '^xenos top - backend sim'; then
        echo "no title on the first line"
    elif ! sed -n 2p "$T/screen" |
            grep -q 'pCPUs, busy .*domains, .*tenants, .*capped now'; then
        echo "no host summary on the second line"
    elif ! sed -n 3p "$T/screen" | grep -q '^NAME  *STATE'; then
        echo "no column header on the third line"
    elif [ "$(grep -c '^NAME ' "$T/screen")" != 1 ]; then
        echo "column header repeated"
    elif ! grep -Eq ' (running|blocked) ' "$T/screen"; then
        echo "no domain state"
    fi
}

# check_screen W: until the screen is what it must be (a screen caught
# half-drawn is looked at again)
check_screen() {
    i=0
    while :; do
        snap
        why=$(screen_bad "$1")
        [ -n "$why" ] || { [ $i = 0 ] || echo "top_tty: ($i looks)"; return 0; }
        i=$((i + 1))
        [ $i -le $((WAIT_S * 10)) ] || fail "$why"
        sleep 0.1
    done
}

# tenant rows ("v NAME" or "> NAME"), their names, in screen order
tenants() { snap; sed -n 's/^[v>] \([^ ]*\) .*/\1/p' "$T/screen"; }

# the CPU% figures of the tenant rows, in screen order
tenant_cpu() {
    snap
    awk 'NR == 3 { e = index($0, "CPU%") + 3 }
         NR > 3 && /^[v>] / { print substr($0, e - 7, 8) + 0 }' "$T/screen"
}

# run_top W H: xenosctl top in a new session "top" of W x H
run_top() {
    tm new-session -d -s top -x "$1" -y "$2" \
        "'$B/xenosd/xenosctl' --state-dir '$T/st' top --delay 1; echo \$? >'$T/rc'"
    wait_for "host summary" 'pCPUs'
    wait_for "domain rows" -E '^  [a-z]+-(web|db|batch|cron) '
}

quit_top() {
    rm -f "$T/rc"
    tm send-keys -t top q
    i=0
    while [ ! -s "$T/rc" ]; do
        i=$((i + 1))
        [ $i -le $((WAIT_S * 10)) ] || fail "q did not end xenosctl top"
        sleep 0.1
    done
    [ "$(cat "$T/rc")" = 0 ] || fail "xenosctl top exited $(cat "$T/rc")"
}

start_xenosd

# 80x24: columns dropped, keys, a resize to 200x60 and back, reconnecting
run_top 80 24
check_screen 80
keep() { [ -z "${TOP_CAPTURE_DIR:-}" ] || cp "$T/screen" "$TOP_CAPTURE_DIR/$1"; }
keep top-80x24.txt
grep -q 'MAXMEM' "$T/screen" && fail "MAXMEM kept at 80 columns"
grep -q 'CPU%' "$T/screen" || fail "CPU% dropped at 80 columns"
tm send-keys -t top f
wait_gone "no domain row after f" -E '^  [a-z]+-(web|db|batch|cron) '
tm send-keys -t top n
wait_for "sort name" 'sort name'
tenants >"$T/names"
[ "$(wc -l <"$T/names")" -ge 3 ] || fail "fewer than 3 tenants"
sort -c "$T/names" || fail "tenants not in name order"
tm send-keys -t top c
wait_for "sort CPU" 'sort CPU'
tenant_cpu >"$T/cpu"
sort -c -r -n "$T/cpu" || fail "tenants not in CPU order: $(tr '\n' ' ' <"$T/cpu")"
tm send-keys -t top f
wait_for "domain rows after f" -E '^  [a-z]+-(web|db|batch|cron) '
tm resize-window -t top -x 200 -y 60
wait_for "MAXMEM at 200 columns" 'MAXMEM'
check_screen 200
tm resize-window -t top -x 80 -y 24
wait_gone "MAXMEM gone at 80 columns" 'MAXMEM'
check_screen 80
stop_xenosd
wait_for "reconnecting" 'reconnecting'
start_xenosd
wait_gone "reconnecting gone" 'reconnecting'
wait_for "host summary after restart" 'pCPUs'
check_screen 80
quit_top

# 200x60: every column, the same frame
run_top 200 60
check_screen 200
keep top-200x60.txt
for c in STATE ID VCPUS WEIGHT 'CAP%' DOMS 'CPU%' 'WAIT%' 'THR%' 'PEAK%' OVER \
         'MEM(MiB)' MAXMEM 'DISK(KiB/s)' 'NET(KiB/s)'; do
    sed -n 3p "$T/screen" | grep -qF "$c" || fail "column $c missing at 200"
done
quit_top
echo "top_tty: ok"
