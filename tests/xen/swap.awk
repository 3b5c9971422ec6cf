# swap.awk: the checks of the live-swap boot of the real-hypervisor test
# (issue 17; dom0-test's swap_main).  Loaded after evaluate.awk (its
# helpers: ok, bad, r, within, judge_total, in_force, errors_zero, f1,
# f2, fig), whose END hands over to swap_eval() when sched is "swap".
# Variables: swaperr (most points a guest's share of pCPUs 1-2 may be off
# 33.3 in each stage), swapacctms (most ms xenosd's CPU total of a guest
# may differ from Xen's after the two moves), accttol (percent, against
# xl list's rounded figure).

function swap_eval(    i, j, k, g, st, stages, n, shares, xs, xd, xl, d, worst, mv, p, s, v, want) {
    split("alpha-1 alpha-2 beta-1", G, " ")
    if (I["boot xen_scheduler"] == "credit2")
        ok("xl info: xen_scheduler credit2 (Pool-0)")
    else
        bad("xl info: xen_scheduler '" I["boot xen_scheduler"] "', not credit2")

    # the parameter: an unknown name refused, fcredit taken and read back
    if (r("swap set_param_unknown_rc -") != 0)
        ok("xl set-parameters sched_credit_pool=nosuch refused")
    else
        bad("xl set-parameters sched_credit_pool=nosuch was taken")
    within("xl set-parameters sched_credit_pool=fcredit: exit code", r("swap set_param_rc -"), 0, 0)
    if (r("swap param_readback -") == "fcredit")
        ok("hypfs /params/sched_credit_pool reads fcredit")
    else
        bad("hypfs /params/sched_credit_pool reads '" R["swap param_readback -"] "'")
    # the pools' schedulers once the new one exists: Pool-0 credit2, the
    # other fcredit
    n = 0
    for (k in R)
        if (k ~ /^swap pool_sched_during /) {
            split(k, p, " ")
            if (p[3] == 0)
                want = "credit2"
            else {
                want = "fcredit"
                n++
            }
            if (R[k] == want)
                ok("cpupool " p[3] " runs " want)
            else
                bad("cpupool " p[3] " runs '" R[k] "', not " want)
        }
    if (n != 1)
        bad("Xen's dump shows " n " pools besides Pool-0, not 1")
    fig("s_pool", n == 1 ? "fcredit" : "-")

    # each stage: the guests where they should be, equal weights in force
    # as xenosd set them (in the new pool too: it starts from its own
    # defaults), shares of pCPUs 1-2 within swaperr of 33.3
    split("before during after", stages, " ")
    for (i = 1; i <= 3; i++) {
        st = stages[i]
        for (j = 1; j <= 3; j++) {
            g = G[j]
            want = st == "during" ? "xenos" : "Pool-0"
            if (r("swap pool_" st " " g) == want)
                ok("swap " st ": " g " in " want)
            else
                bad("swap " st ": " g " in '" R["swap pool_" st " " g] "', not " want)
        }
        in_force("swap_" st, "alpha-1", "alpha-2", "beta-1", 128)
        shares = ""
        for (j = 1; j <= 3; j++)
            shares = shares (j > 1 ? " / " : "") f1(r("swap_" st " xshare_pct " G[j]))
        within("swap " st ": each guest's share of pCPUs 1-2 (" shares ") vs 33.3, worst error (points)",
               r("swap_" st " xshare_err_pts_max -"), 0, swaperr)
        judge_total("swap_" st, "swap " st, st == "during", G[1], G[2], G[3])
        within("swap " st ": readings slower than 4 ms kept", r("swap_" st " slow -"),
               0, r("swap_" st " samples -") * 0.05)
        fig("s_shares_" st, shares)
        fig("s_err_" st, f2(r("swap_" st " xshare_err_pts_max -")))
        fig("s_win1s_" st, f1(r("swap_" st " xwin1s_relerr_pct_max -")))
    }

    # how long each move took: every one judged, so that a reading that
    # failed (nan: dom0's date once aborted mid-boot) shows as such
    split("in out", mv, " ")
    for (i = 1; i <= 2; i++) {
        s = ""
        for (j = 1; j <= 3; j++) {
            v = r("swap move_ms_" mv[i] " " G[j])
            s = s (j > 1 ? " / " : "") v
            within("swap: xl cpupool-migrate " mv[i] ", " G[j] " (ms)", v, 1, 60000)
        }
        fig("s_move_" mv[i], s)
    }
    fig("s_create", r("swap pool_create_ms -"))

    # accounting across the moves: the guests paused, xenosd's totals
    # (counted from the guests' creation, through both moves) against
    # Xen's counters; a gap or a double count of one 1 s interval would
    # be hundreds of ms
    worst = 0
    for (j = 1; j <= 3; j++) {
        g = G[j]
        xs = r("acct xenstat_cpu_ns " g)
        xd = r("acct xenosd_cpu_ns " g)
        xl = r("acct xl_cpu_s " g) * 1e9
        if (xs == "nan" || xd == "nan" || xs <= 0) {
            bad("swap accounting: " g " has no CPU figures")
            continue
        }
        d = abs(xd - xs) / 1e6
        if (d > worst) worst = d
        within("swap accounting: " g " xenosd " xd " ns vs Xen " xs " ns, difference (ms)", d, 0, swapacctms)
        within("swap accounting: " g " xenosd vs xl list " xl / 1e9 " s (%)", abs(xd - xl) / xl * 100, 0, accttol)
    }
    fig("s_acct", sprintf("%.1f", worst))
    fig("s_cpu", f1(r("acct xenstat_cpu_ns alpha-1") / 1e9) " / " f1(r("acct xenstat_cpu_ns alpha-2") / 1e9) \
        " / " f1(r("acct xenstat_cpu_ns beta-1") / 1e9))

    within("xenosd: exit code", r("xenosd exit_code -"), 0, 0)
    errors_zero("xenosd", "xenosd", "sample|checkpoint")
    fig("s_set_sched_err", R["xenosd errors_set_sched -"])
}
