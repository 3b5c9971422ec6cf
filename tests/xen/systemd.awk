# systemd.awk: the checks of xenosd.service under systemd in the
# real-hypervisor test (issue 15; dom0-test's systemd_check, in the boots
# tests/xen/run's SYSTEMD_SCHEDS names).  Loaded after evaluate.awk (its
# helpers: ok, bad, r, within, errors_zero, f1, fig), whose END calls systemd_eval()
# when the variable systemd is 1.
# Variables: sdcpumin (least percent of a pCPU each busy guest must have
# had between the two scrapes of /metrics).
# Figures: RESULT systemd FIGURE SUBJECT VALUE; "-" as SUBJECT but for
# cpu_pct (per guest).

function sd_is(what, key, want,    v) {
    v = r("systemd " key " -")
    if (v == want)
        ok("xenosd.service: " what ": " v)
    else
        bad("xenosd.service: " what ": '" v "', not " want)
}

function systemd_eval(    i, g, v, n, cpus, e, sec) {
    sd_is("PID 1", "pid1", "systemd")
    sd_is("the unit and the package's files as dpkg installed them (dpkg --verify)", "unit_as_installed", 1)
    sd_is("ordered after Debian's xen.service (xenstored)", "after_xen", 1)
    sd_is("systemctl start: exit code", "start_rc", 0)
    sd_is("Type", "type", "notify")
    sd_is("once started (Type=notify: after READY=1)", "active", "active/running")
    sd_is("watchdog armed", "watchdog_usec", "30s")
    sd_is("watchdog fed (WATCHDOG=1 between the two scrapes)", "watchdog_fed", 1)
    sd_is("runs the package's binary", "exe", "/usr/sbin/xenosd")
    # no_new_privs, seccomp filter mode, no capability, none to gain
    sd_is("sandbox in force", "sandbox",
          "CapEff=0000000000000000,CapBnd=0000000000000000,NoNewPrivs=1,Seccomp=2")
    sd_is("GET /metrics (first)", "metrics_first_rc", 0)
    sd_is("GET /metrics (second)", "metrics_second_rc", 0)
    n = split("alpha-1 alpha-2 beta-1 gamma-1", SG, " ")
    cpus = ""
    for (i = 1; i <= n; i++) {
        g = SG[i]
        v = r("systemd cpu_pct " g)
        within("xenosd.service: " g " sampled busy, % of a pCPU between the scrapes", v, sdcpumin, 200)
        cpus = cpus (i > 1 ? " / " : "") f1(v)
    }
    sd_is("xenosctl status through the control socket", "xenosctl_rc", 0)
    errors_zero("xenosd.service", "systemd", "sample|checkpoint")
    sd_is("no restart", "restarts", 0)
    sd_is("systemctl stop: exit code", "stop_rc", 0)
    sd_is("after the stop: ActiveState/Result", "stopped", "inactive/success")
    sd_is("exit status", "exit_status", 0)
    sd_is("xenosd's warnings and errors in the journal", "journal_warnings", 0)
    sd_is("xenosd's journal lines naming a denial (EPERM, EACCES, read-only, seccomp)", "journal_denials", 0)
    sd_is("the kernel's seccomp and audit denials", "kernel_denials", 0)
    # exposure below 5.0 is "OK" or better
    sec = r("systemd security -")
    split(sec, e, "_")
    if (e[1] != "" && e[1] + 0 < 5.0)
        ok("systemd-analyze security xenosd.service in dom0: " e[1] " " e[2])
    else
        bad("systemd-analyze security xenosd.service in dom0: '" sec "', not below 5.0")
    fig("d_startstop", R["systemd start_ms -"] " / " R["systemd stop_ms -"])
    fig("d_state", R["systemd active -"] ", " R["systemd watchdog_usec -"] ", " \
        (R["systemd watchdog_fed -"] == 1 ? "yes" : "no"))
    fig("d_sandbox", R["systemd sandbox -"])
    fig("d_cpu", cpus)
    fig("d_stop", R["systemd stopped -"] ", " R["systemd exit_status -"] "; " \
        R["systemd journal_warnings -"] ", " R["systemd journal_denials -"] "; " R["systemd kernel_denials -"])
    fig("d_security", e[1] " " e[2])
}
