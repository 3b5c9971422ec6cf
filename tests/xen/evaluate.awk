# evaluate.awk: the checks of one boot of the real-hypervisor test.
#
# Input: the RESULT and INFO lines dom0-test printed (tests/xen/run has
# taken them off the console):
#   RESULT PHASE FIGURE SUBJECT VALUE
#   INFO KEY SUBJECT VALUE
# Variables: sched (credit2|credit|fcredit), mode (xenosd|direct), werr
# (weights: most points a guest may be off its entitlement), captol (caps:
# most points a tenant's use over the run, and over each span of it, may
# be off its cap), accttol
# (accounting: most percent xenosd's CPU may differ from Xen's), eq3err
# and eq3win (three equal guests on two pCPUs: most points, of the two
# pCPUs, a guest's share may be off 33.3, and most percent a 1 s window
# may be off, relative), eq3judged (1: hold this scheduler to eq3err and
# eq3win; 0: report only), terr (two tenants on two pCPUs: most points a
# tenant's share may be off 50), trtol and trbusy (the xentrace replay:
# most percent its count of bursts and its burst and sleep lengths may be
# off the recording's, most points its busy fraction may), conttol
# (contention: most points xenosd's waiting + throttled time, in percent
# of a guest's time, may be off what xenshare saw it not run, in the cap
# phase).
# Output: "ok WHAT" and "FAIL WHAT" lines, and "FIG KEY VALUE" lines for
# the table (spaces in VALUE written as '_').
function ok(msg)        { print "ok   " msg }
function bad(msg)       { print "FAIL " msg; nfail++ }
function abs(x)         { return x < 0 ? -x : x }
# a figure for the table; "-" when dom0 did not print it
function f1(x)          { return x == "nan" || x == "" ? "-" : sprintf("%.1f", x) }
function f2(x)          { return x == "nan" || x == "" ? "-" : sprintf("%.2f", x) }
function fig(k, v)      { gsub(/ /, "_", v); print "FIG", k, v }

# xenosd's error counters, the RESULT lines "PH errors_KIND - N": those
# whose KIND matches the regular expression judged must be 0, the others
# are reported.
function errors_zero(what, ph, judged,    k, p) {
    for (k in R)
        if (index(k, ph " errors_") == 1) {
            split(k, p, " ")
            if (p[2] ~ ("^errors_(" judged ")$"))
                within(what ": " p[2], R[k], 0, 0)
            else
                ok(what ": " p[2] " " R[k] " (reported, not judged)")
        }
}

# The figure, or a failure (and "nan") when dom0 did not print it.
# The guests' part of the time Xen accounted on pCPUs 1-2 in phase @ph
# (the rest was idle or another domain's): a scheduler that leaves a pCPU
# idle while a guest waits, or gives it away, falls short of it; judged
# 90 to 101 for every scheduler.  Their total by dom0's clock is judged
# the same only where @ours (fcredit): Xen's core drops a vCPU's time
# when it moves to a pCPU whose clock reads behind the one it left, and
# under QEMU the pCPUs' clocks are tens to hundreds of microseconds
# apart, so the more a scheduler moves the guests, the less of their
# time the stock core counts; fcredit's adapter mends those gaps, stock
# credit2 and credit keep them (docs/xen.md, "Where the guests' time
# goes").
function guests_part(ph, a, b, c) {
    return r(ph " xshare_pct " a) + r(ph " xshare_pct " b) + r(ph " xshare_pct " c)
}
function judge_total(ph, what, ours, a, b, c) {
    within(what ": guests' part of the time Xen accounted on pCPUs 1-2 (%)",
           guests_part(ph, a, b, c), 90, 101)
    if (ours)
        within(what ": guests' total by dom0's clock (% of pCPUs 1-2)", r(ph " total_pct -"), 90, 101)
    else
        print "info " what ": guests' total by dom0's clock " f1(r(ph " total_pct -")) \
              "% of pCPUs 1-2 (reported: the stock core drops time, docs/xen.md)"
}

function r(key) {
    if (key in R)
        return R[key]
    if (!(key in missing)) {
        missing[key] = 1
        bad("missing figure '" key "'")
    }
    return "nan"
}

function within(what, v, lo, hi) {
    if (v != "nan" && v + 0 >= lo && v + 0 <= hi)
        ok(what ": " v " in " lo ".." hi)
    else
        bad(what ": " v " not in " lo ".." hi)
}

# within(), or only reported when !judge
function within_if(judge, what, v, lo, hi) {
    if (judge)
        within(what, v, lo, hi)
    else
        print "info " what ": " v " (target " lo ".." hi ", reported, not judged)"
}

# The parameters of phase ph in force on guests g1 g2 g3: xl's weight
# equal to want (if given) and, with xenosd, to what xenosd says it set;
# no caps.  Returns "w1 / w2 / w3" (xl's weights).
function in_force(ph, g1, g2, g3, want,    gs, n, i, g, w, xw, out) {
    n = split(g1 " " g2 " " g3, gs, " ")
    out = ""
    for (i = 1; i <= n; i++) {
        g = gs[i]
        w = r(ph " weight_start " g)
        if (want != "" && w != want)
            bad(ph ": " g " has weight " w ", not " want)
        if (mode == "xenosd") {
            xw = r(ph " xenosd_weight_start " g)
            if (w == xw)
                ok(ph ": " g " weight " w " in force, as xenosd set it")
            else
                bad(ph ": " g " weight " w " in force, xenosd set " xw)
        }
        if (r(ph " cap_start " g) != 0)
            bad(ph ": " g " capped (" R[ph " cap_start " g] "), should not be")
        out = out (i > 1 ? " / " : "") (w == "nan" ? "-" : w)
    }
    return out
}

$1 == "RESULT" { R[$2 " " $3 " " $4] = $5 }
$1 == "INFO"   { v = $4; for (i = 5; i <= NF; i++) v = v " " $i; I[$2 " " $3] = v }

# The xentrace replay (tests/xen/run's xentrace_replay): the simulator's
# figures against the recording's, "RESULT xentrace FIGURE rec|sim V".
# Its own END block, run before the one below (which exits); not for the
# swap boot, which records no trace (dom0-test's swap_main).
function xt_rel(what, k,    a, b, e) {
    a = r("xentrace " k " rec"); b = r("xentrace " k " sim")
    if (a == "nan" || b == "nan" || a + 0 <= 0) {
        bad("xentrace replay: " what ": recording " a ", replay " b)
        return
    }
    e = 100 * (b - a) / a
    if (abs(e) <= trtol + 0)
        ok(sprintf("xentrace replay: %s %s, recording %s: %+.2f%% (limit %s%%)", what, b, a, e, trtol))
    else
        bad(sprintf("xentrace replay: %s %s, recording %s: %+.2f%% (limit %s%%)", what, b, a, e, trtol))
}
function xt_us(k, w,    v) { v = R["xentrace " k " " w]; return v == "" ? "-" : sprintf("%.0f", v / 1000) }
function xt_3(p, w) { return xt_us(p "_mean", w) " / " xt_us(p "_p50", w) " / " xt_us(p "_p90", w) }
END {
    if (sched != "swap")
        xt_eval()
}
function xt_eval(    xb, yb) {
    xt_rel("run bursts", "bursts")
    xt_rel("burst mean", "bursts_ns_mean")
    xt_rel("burst p50", "bursts_ns_p50")
    xt_rel("burst p90", "bursts_ns_p90")
    xt_rel("sleep mean", "sleeps_ns_mean")
    xt_rel("sleep p50", "sleeps_ns_p50")
    xt_rel("sleep p90", "sleeps_ns_p90")
    xb = r("xentrace busy rec"); yb = r("xentrace busy sim")
    within("xentrace replay: busy fraction (points off the recording's " f2(100 * xb) ")",
           sprintf("%.2f", 100 * (yb - xb)), -trbusy, trbusy)
    fig("x_bursts", R["xentrace bursts rec"] " / " R["xentrace bursts sim"] \
        " (" I["xentrace replay_policy"] ", TSC " I["xentrace tsc_khz"] " kHz)")
    fig("x_burst", xt_3("bursts_ns", "rec") "  /  " xt_3("bursts_ns", "sim"))
    fig("x_sleep", xt_3("sleeps_ns", "rec") "  /  " xt_3("sleeps_ns", "sim"))
    fig("x_busy", f2(100 * xb) " / " f2(100 * yb))
}

END {
    # xenosd and xenosctl came from the xenos package, installed in dom0
    if (I["boot xenos_package"] != "")
        ok("dom0: xenos " I["boot xenos_package"] " installed with dpkg -i; xenosd run as its unit says: " \
           I["boot xenosd_exec"])
    else
        bad("dom0: the xenos package was not installed")
    fig("pkg", I["boot xenos_package"] == "" ? "-" : I["boot xenos_package"])
    if (systemd == 1)                           # tests/xen/systemd.awk
        systemd_eval()
    if (sched == "swap") {                      # tests/xen/swap.awk
        swap_eval()
        exit nfail > 0
    }
    split("alpha-1 alpha-2 beta-1", G, " ")
    W["alpha-1"] = 128; W["alpha-2"] = 128; W["beta-1"] = 512
    T["alpha-1"] = "alpha"; T["alpha-2"] = "alpha"; T["beta-1"] = "beta"
    CAP["alpha"] = 50; CAP["beta"] = 25

    # the scheduler Xen runs (fcredit reports itself as credit)
    want = sched == "credit2" ? "credit2" : "credit"
    if (I["boot xen_scheduler"] == want)
        ok("xl info: xen_scheduler " want)
    else
        bad("xl info: xen_scheduler '" I["boot xen_scheduler"] "', not " want)

    # tenants: alpha and gamma by name glob, beta by the xenstore tenant key
    T["gamma-1"] = "gamma"
    if (mode == "xenosd")
        for (i = 1; i <= 4; i++) {
            g = i <= 3 ? G[i] : "gamma-1"
            if (I["tenant " g] == T[g])
                ok("xenosd: " g " in tenant " T[g])
            else
                bad("xenosd: " g " in tenant '" I["tenant " g] "', not " T[g])
        }

    # weights
    shares = ""
    for (i = 1; i <= 3; i++) {
        g = G[i]
        if (r("weights weight_start " g) != W[g])
            bad("weights: " g " has weight " R["weights weight_start " g] ", not " W[g])
        e = r("weights share_err_pts " g)
        within("weights: " g " share " f1(R["weights share_pct " g]) " vs " \
               f1(R["weights entitled_pct " g]) ", error (points)", e, 0, werr)
        shares = shares (i > 1 ? " / " : "") f1(R["weights share_pct " g])
    }
    within("weights: guests' total (points of pCPU 1)", r("weights total_pct -"), 90, 101)
    fig("w_err_max", f1(r("weights share_err_pts_max -")))
    fig("w_shares", shares)
    fig("w_win1s", f1(r("weights win1s_relerr_pct_max -")))
    fig("t_p99", f1(r("weights window_p99_ms -")) " / " f1(r("cap window_p99_ms -")) " / " \
        f1(r("eq3 window_p99_ms -")) " / " f1(r("tenants window_p99_ms -")))
    # readings that stayed slow (the host starved QEMU): the windows
    # around them are uncertain by more than 2%
    split("weights cap eq3 tenants", PH, " ")
    for (i = 1; i <= 4; i++) {
        ph = PH[i]
        within(ph ": readings slower than 4 ms kept", r(ph " slow -"), 0, r(ph " samples -") * 0.05)
    }

    # three equal guests on pCPUs 1-2, in percent of the two (eq3)
    in_force("eq3", "alpha-1", "alpha-2", "beta-1", 128)
    shares = ""
    # Judged: each guest's share of the time Xen accounted on pCPUs 1-2
    # (to the guests, to any other domain there, or to idle), over the run
    # and over each 1 s window: that is the time the scheduler divided.
    # By dom0's clock (pCPU 0's) the guests' pCPUs are now and then
    # accounted less than the second that passed, with nothing idle and
    # nothing else there, under credit2 as under fcredit (docs/xen.md);
    # those shares, and that clock, are reported.
    for (i = 1; i <= 3; i++) {
        g = G[i]
        print "info eq3: " g " share " f1(R["eq3 xshare_pct " g]) " vs " \
              f1(R["eq3 entitled_pct " g]) " (% of pCPUs 1-2's accounted time); " \
              f1(R["eq3 share_pct " g]) " by dom0's clock"
        shares = shares (i > 1 ? " / " : "") f1(R["eq3 xshare_pct " g])
    }
    print "info eq3: worst 1 s window by dom0's clock, relative error (% of pCPUs 1-2): " \
          r("eq3 win1s_relerr_pct_max -")
    print "info eq3: pCPUs 1-2's accounted time, % of dom0's clock: over the run " \
          f1(r("eq3 pcpu_clock_pct -")) ", least 1 s window " f1(r("eq3 pcpu_clock_win1s_min_pct -"))
    within_if(eq3judged, "eq3: each guest's share of pCPUs 1-2 vs 33.3, worst error (points)",
              r("eq3 xshare_err_pts_max -"), 0, eq3err)
    within_if(eq3judged, "eq3: worst 1 s window of a guest's share of pCPUs 1-2, relative error (%)",
              r("eq3 xwin1s_relerr_pct_max -"), 0, eq3win)
    judge_total("eq3", "eq3", sched == "fcredit", "alpha-1", "alpha-2", "beta-1")
    fig("e_shares", shares)
    fig("e_xerr", f2(r("eq3 xshare_err_pts_max -")))
    fig("e_xwin1s", f1(r("eq3 xwin1s_relerr_pct_max -")))
    fig("e_clock", f1(r("eq3 pcpu_clock_pct -")) " / " f1(r("eq3 pcpu_clock_win1s_min_pct -")))
    fig("e_err_max", f1(r("eq3 share_err_pts_max -")))
    fig("e_win1s", f1(r("eq3 win1s_relerr_pct_max -")))
    fig("e_total_min", f1(r("eq3 total_win1s_min_pct -")) " at " \
        f1(r("eq3 total_win1s_min_at_s -")) " s; idle " \
        f1(r("eq3 total_win1s_min_idle_pct -")) ", dom0 " \
        f1(r("eq3 total_win1s_min_dom0_pct -")) ", others " \
        f1(r("eq3 total_win1s_min_rest_pct -")) "; host accounted " \
        f1(r("eq3 total_win1s_min_accounted_pct -")))
    # What fcredit's switches cost in Xen's count (sched/xen/adapter.c,
    # struct xs_clock; fcredit only): switches and moves a second, how
    # often a vCPU came to a pCPU whose clock was behind its stamp and by
    # how much in all, beside the guests' shortfall by dom0's clock.
    if ("eq3 sched_span_ms -" in R && R["eq3 sched_span_ms -"] > 0) {
        span = R["eq3 sched_span_ms -"] / 1000
        short = (100 - R["eq3 total_pct -"]) * 2 * phase_s * 10
        fig("e_drop", f1(R["eq3 sched_switches -"] / span) " / " \
            f1(R["eq3 sched_moves -"] / span) " a second over " f1(span) " s; behind " \
            R["eq3 clock_behind -"] " times, " f1(R["eq3 clock_behind_ns -"] / 1e6) " ms (" \
            f1(R["eq3 clock_behind_ns -"] / 1e6 / span) " ms a second); shortfall " \
            f1(short) " ms (" f1(short / phase_s) " ms a second)")
    }
    # How far apart the pCPUs' clocks were (dom0-test's clock_skew_end):
    # reported, never judged; a boot from before it has none.
    if ("eq3 skew_samples -" in R)
        fig("e_skew", R["eq3 skew_samples -"] " samples: " \
            f1(R["eq3 skew_stime_ns_p50 -"] / 1000) " / " f1(R["eq3 skew_stime_ns_max -"] / 1000) \
            " us; TSC " R["eq3 skew_cycles_p50 -"] " / " R["eq3 skew_cycles_max -"] " cycles")

    # two tenants of equal weight on pCPUs 1-2: alpha (two 1-vCPU guests)
    # against gamma (one 2-vCPU guest)
    if (r("tenants vcpus gamma-1") != 2)
        bad("tenants: gamma-1 has " R["tenants vcpus gamma-1"] " vCPUs, not 2")
    w = in_force("tenants", "alpha-1", "alpha-2", "gamma-1", "")
    fig("t_weights", w)
    for (i = 1; i <= 2; i++) {
        t = i == 1 ? "alpha" : "gamma"
        within("tenants: tenant " t " share " f1(R["tenants xtenant_share_pct " t]) " vs " \
               f1(R["tenants tenant_entitled_pct " t]) " (% of pCPUs 1-2's accounted time; " \
               f1(R["tenants tenant_share_pct " t]) " by dom0's clock), error (points)",
               r("tenants xtenant_err_pts " t), 0, terr)
    }
    judge_total("tenants", "tenants", sched == "fcredit", "alpha-1", "alpha-2", "gamma-1")
    fig("t_shares", f1(r("tenants xtenant_share_pct alpha")) " / " f1(r("tenants xtenant_share_pct gamma")))
    fig("t_gshares", f1(r("tenants xshare_pct alpha-1")) " / " f1(r("tenants xshare_pct alpha-2")) \
        " / " f1(r("tenants xshare_pct gamma-1")))
    fig("t_err", f1(r("tenants xtenant_err_pts_max -")))
    fig("t_win1s", f1(r("tenants xtenant_win1s_relerr_pct_max -")))

    # caps
    cerr = 0; cerr_t = "-"
    for (t in CAP) {
        for (i = 1; i <= 3; i++)
            if (T[G[i]] == t && r("cap cap_start " G[i]) + 0 <= 0)
                bad("cap: " G[i] " not capped at the start of the phase")
        used = r("cap used_pct " t)
        within("cap: tenant " t " (cap " CAP[t] ") use over the run", used,
               CAP[t] - captol, CAP[t] + captol)
        lo = r("cap span_used_min_pct " t); hi = r("cap span_used_max_pct " t)
        within("cap: tenant " t " least use over a span", lo,
               CAP[t] - captol, CAP[t] + captol)
        within("cap: tenant " t " most use over a span", hi,
               CAP[t] - captol, CAP[t] + captol)
        fig("c_span_" t, f1(lo) " / " f1(hi))
        p99 = r("cap win_p99_pct " t)
        fig("c_used_" t, f1(used))
        fig("c_p99max_" t, f1(p99) " / " f1(r("cap win_max_pct " t)))
        v = f1(r("cap win_over2_pct " t))
        fig("c_over_" t, v (v == "-" ? "" : "%"))
        if (p99 != "nan")
            have_p99 = 1
        if (p99 != "nan" && p99 - CAP[t] > cerr) {
            cerr = p99 - CAP[t]
            cerr_t = t
        }
    }
    fig("c_err", !have_p99 ? "-" : f1(cerr) (cerr_t != "-" ? " (" cerr_t ")" : ""))

    # contention in the cap phase: xenosd's waiting and throttled time
    # from the hypervisor (fcredit), or none at all (stock schedulers)
    if (mode == "xenosd") {
        cw = ""; ct = ""; cn = ""
        for (i = 1; i <= 3; i++) {
            g = G[i]
            have = r("cap xenosd_sched_stats " g)
            if (sched != "fcredit") {
                within("contention: " g " counters unavailable under " sched, have, 0, 0)
                continue
            }
            within("contention: " g " counters available", have, 1, 1)
            if (have != 1)
                continue
            dc = r("cap xenosd_cpu_ns_end " g) - r("cap xenosd_cpu_ns_start " g)
            dw = r("cap xenosd_wait_ns_end " g) - r("cap xenosd_wait_ns_start " g)
            dt = r("cap xenosd_throttled_ns_end " g) - r("cap xenosd_throttled_ns_start " g)
            all = dc + dw + dt
            if (all <= 0) {
                bad("contention: " g " no time counted by xenosd")
                continue
            }
            nr = r("cap notrun_pct " g)
            x = 100 * (dw + dt) / all
            within("contention: " g " xenosd waiting + throttled " sprintf("%.1f", x) \
                   "% vs not running " nr "% (xenshare), difference", abs(x - nr), 0, conttol)
            cw = cw (i > 1 ? " / " : "") sprintf("%.1f", 100 * dw / all)
            ct = ct (i > 1 ? " / " : "") sprintf("%.1f", 100 * dt / all)
            cn = cn (i > 1 ? " / " : "") f1(nr)
        }
        fig("k_wait", cw == "" ? "-" : cw)
        fig("k_thr", ct == "" ? "-" : ct)
        fig("k_notrun", cn == "" ? "-" : cn)
    }

    # accounting: the paused guests' totals
    worst = 0; memok = "yes"
    for (i = 1; i <= 3; i++) {
        g = G[i]
        xs = r("acct xenstat_cpu_ns " g)
        xl = r("acct xl_cpu_s " g) * 1e9
        xm = r("acct xl_mem_mib " g)
        if (mode != "xenosd")
            continue
        xd = r("acct xenosd_cpu_ns " g)
        if (xs == "nan" || xd == "nan" || xs <= 0 || xl <= 0) {
            bad("accounting: " g " has no CPU figures")
            continue
        }
        worst_ok = 1
        d1 = abs(xd - xs) / xs * 100
        d2 = abs(xd - xl) / xl * 100
        if (d1 > worst) worst = d1
        if (d2 > worst) worst = d2
        within("accounting: " g " xenosd " xd " ns vs libxenstat " xs " (%)", d1, 0, accttol)
        within("accounting: " g " xenosd vs xl list " xl / 1e9 " s (%)", d2, 0, accttol)
        mb = r("acct xenosd_mem_bytes " g)
        if (int(mb / 1048576) == xm + 0 && mb == r("acct xenstat_mem_bytes " g) + 0)
            ok("accounting: " g " memory " mb " bytes = xl list's " xm " MiB")
        else {
            bad("accounting: " g " memory " mb " bytes, xl list " xm " MiB, libxenstat " \
                R["acct xenstat_mem_bytes " g])
            memok = "no"
        }
    }
    if (mode == "xenosd") {
        fig("a_cpu", worst_ok ? sprintf("%.2f", worst) : "-")
        fig("a_mem", worst_ok ? memok : "-")
        within("xenosd: exit code", r("xenosd exit_code -"), 0, 0)
        # xenos-usage reconcile after the stop: every domain's growth on
        # Xen's counters within its bound, no counter below the
        # checkpoint's reading, and ledger = checkpoint per domain and per
        # tenant (a domain that changes tenant inside a ledger interval,
        # as beta-1 does when the tenants phase's policy is loaded, is
        # billed to each in turn: docs/usage-format.md).
        for (i = 1; i <= 5; i++) {
            split("checkpoint_counters_domain checkpoint_counters_tenant " \
                  "checkpoint_reading_counter_domain ledger_checkpoint_domain " \
                  "ledger_checkpoint_tenant", rk, " ")
            within("reconcile: differences " rk[i],
                   r("reconcile differences_" rk[i] " -"), 0, 0)
        }
        print "info reconcile: exit code " r("reconcile exit_code -")
        within("reconcile: domains and tenants that grew within the bound",
               r("reconcile within_bound -"), 1, 1e9)
        g = r("reconcile grown_ns -")
        fig("rc_grown", g == "nan" ? "-" : f2(g / 1e9))
        n = r("xenosd policy_reloads_sent -")
        within("xenosd: policy reloads", r("xenosd policy_reloads -"), n, n)
        errors_zero("xenosd", "xenosd", "sample|set_sched|checkpoint")
    } else {
        fig("a_cpu", "-")
        fig("a_mem", "-")
        fig("rc_grown", "-")
    }
    exit nfail > 0
}
