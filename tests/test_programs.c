/*
 * test_programs.c: every program answers the same way (common/cli.h):
 * `--version` one line "PROG (xenos) VERSION" on stdout, exit 0;
 * `--help` its usage on stdout, exit 0; an unknown option, or an option
 * without its value, one line naming it and "Try 'PROG --help'." on
 * stderr, nothing on stdout, exit 2.  Run as a user would: the built
 * binaries, by their full path.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenos/cli.h>

#include "simtest.h"

static const struct prog {
    const char *name;
    const char *path;
    const char *needs_value;        /* an option that takes a value */
} progs[] = {
    { "xenosd", XENOS_BINARY_DIR "/xenosd/xenosd", "--state-dir" },
    { "xenosctl", XENOS_BINARY_DIR "/xenosd/xenosctl", "--state-dir" },
    { "xenos-sim", XENOS_BINARY_DIR "/sched/sim/xenos-sim", "--policy" },
    { "xenos-simhost", XENOS_BINARY_DIR "/sched/sim/xenos-simhost",
      "--socket" },
#ifdef XENOS_HAVE_EXP_USAGE
    { "xenos-usage", XENOS_BINARY_DIR "/exporter/xenos-usage", "--format" },
#endif
};
#define NR_PROGS    ((int)(sizeof(progs) / sizeof(progs[0])))

struct out {
    char out[8192], err[8192];      /* stdout, stderr */
    int status;                     /* exit status */
};

static void slurp(FILE *f, char *buf, size_t len)
{
    size_t n;

    rewind(f);
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    ck_assert_msg(feof(f), "more output than %zu bytes", len - 1);
    fclose(f);
}

/* Run @p with the one argument @arg, stdin /dev/null. */
static void run(const struct prog *p, const char *arg, struct out *o)
{
    FILE *out = tmpfile(), *err = tmpfile();
    pid_t pid;
    int st;

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(err);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        int null = open("/dev/null", O_RDONLY);

        if ( null < 0 || dup2(null, 0) < 0 || dup2(fileno(out), 1) < 0 ||
             dup2(fileno(err), 2) < 0 )
            _exit(126);
        execl(p->path, p->path, arg, (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "%s %s: killed by signal %d", p->name, arg,
                  WTERMSIG(st));
    o->status = WEXITSTATUS(st);
    slurp(out, o->out, sizeof(o->out));
    slurp(err, o->err, sizeof(o->err));
}

START_TEST(test_programs_version)
{
    const struct prog *p = &progs[_i];
    static struct out o;
    char want[256];

    run(p, "--version", &o);
    snprintf(want, sizeof(want), "%s (xenos) %s\n", p->name,
             cli_version_string);
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_eq(o.out, want);
    ck_assert_str_eq(o.err, "");
    /* The project's version, then the git describe where there was one */
    ck_assert_msg(strchr("0123456789", cli_version_string[0]) &&
                  strchr(cli_version_string, '.'), "version '%s'",
                  cli_version_string);
}
END_TEST

START_TEST(test_programs_help)
{
    const struct prog *p = &progs[_i];
    static struct out o;
    char want[64];

    run(p, "--help", &o);
    snprintf(want, sizeof(want), "usage: %s ", p->name);
    ck_assert_int_eq(o.status, 0);
    ck_assert_msg(!strncmp(o.out, want, strlen(want)), "%s --help: %s",
                  p->name, o.out);
    ck_assert_msg(strstr(o.out, "--version"), "%s --help names no "
                  "--version", p->name);
    ck_assert_str_eq(o.err, "");
}
END_TEST

/* The same two lines from each, naming the program, not its path. */
static void check_bad(const struct prog *p, const char *arg,
                      const char *what)
{
    static struct out o;
    char want[256];

    run(p, arg, &o);
    snprintf(want, sizeof(want), "%s: %s\nTry '%s --help'.\n", p->name,
             what, p->name);
    ck_assert_int_eq(o.status, CLI_EXIT_USAGE);
    ck_assert_str_eq(o.err, want);
    ck_assert_str_eq(o.out, "");
}

START_TEST(test_programs_unknown_option)
{
    check_bad(&progs[_i], "--no-such-option",
              "unknown option '--no-such-option'");
}
END_TEST

START_TEST(test_programs_unknown_short_option)
{
    check_bad(&progs[_i], "-Z", "unknown option '-Z'");
}
END_TEST

START_TEST(test_programs_option_needs_value)
{
    char what[128];

    snprintf(what, sizeof(what), "option '%s' needs a value",
             progs[_i].needs_value);
    check_bad(&progs[_i], progs[_i].needs_value, what);
}
END_TEST

START_TEST(test_programs_option_takes_no_value)
{
    check_bad(&progs[_i], "--help=yes", "option '--help' takes no value");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("programs");
    TCase *tc = tcase_create("cli");

    tcase_add_loop_test(tc, test_programs_version, 0, NR_PROGS);
    tcase_add_loop_test(tc, test_programs_help, 0, NR_PROGS);
    tcase_add_loop_test(tc, test_programs_unknown_option, 0, NR_PROGS);
    tcase_add_loop_test(tc, test_programs_unknown_short_option, 0,
                        NR_PROGS);
    tcase_add_loop_test(tc, test_programs_option_needs_value, 0, NR_PROGS);
    tcase_add_loop_test(tc, test_programs_option_takes_no_value, 0,
                        NR_PROGS);
    suite_add_tcase(s, tc);
    return st_main(s);
}
