/*
 * test_cli.c: xenos-sim as a user runs it: the same scenario and seed give
 * byte-identical output, another seed another run, a bad scenario or an
 * unknown policy exit 2 with nothing on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "simtest.h"

#define SIM_BIN     XENOS_BINARY_DIR "/sched/sim/xenos-sim"
#define SCENARIOS   XENOS_SOURCE_DIR "/sched/sim/scenarios/"

struct run {
    char *out;          /* stdout, NUL-terminated */
    size_t len;
    int status;         /* exit status */
};

/* Run xenos-sim with @args (shell words), stderr to /dev/null. */
static void run_sim(const char *args, struct run *r)
{
    char cmd[1024];
    FILE *p;
    size_t cap = 1 << 16, n;
    int st;

    snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", SIM_BIN, args);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    r->out = malloc(cap);
    r->len = 0;
    ck_assert_ptr_nonnull(r->out);
    while ( (n = fread(r->out + r->len, 1, cap - r->len - 1, p)) > 0 )
    {
        r->len += n;
        if ( cap - r->len - 1 == 0 )
        {
            cap *= 2;
            r->out = realloc(r->out, cap);
            ck_assert_ptr_nonnull(r->out);
        }
    }
    r->out[r->len] = '\0';
    st = pclose(p);
    ck_assert(WIFEXITED(st));
    r->status = WEXITSTATUS(st);
}

static void run_free(struct run *r)
{
    free(r->out);
}

static const char *const policies[] = { "credit", "fcredit", "rr" };

/* Same scenario, same seed: the very same bytes, table and JSON. */
START_TEST(test_cli_byte_identical)
{
    struct st_scenario a_sc;
    struct run a, b, c, d;
    char args[512];

    /* The CLI must agree with the library on what the file says. */
    st_load(&a_sc, "many-tenants.yaml");
    ck_assert_uint_gt(a_sc.sc.nr_domains, 10);
    st_done(&a_sc);

    snprintf(args, sizeof(args), SCENARIOS "many-tenants.yaml --policy %s "
             "--duration-ms 2000 --json", policies[_i]);
    run_sim(args, &a);
    run_sim(args, &b);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(b.status, 0);
    ck_assert_uint_gt(a.len, 100);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert(memcmp(a.out, b.out, a.len) == 0);

    snprintf(args, sizeof(args), SCENARIOS "many-tenants.yaml --policy %s "
             "--duration-ms 2000", policies[_i]);
    run_sim(args, &c);
    run_sim(args, &d);
    ck_assert_int_eq(c.status, 0);
    ck_assert_str_eq(c.out, d.out);
    run_free(&a);
    run_free(&b);
    run_free(&c);
    run_free(&d);
}
END_TEST

START_TEST(test_cli_seed_changes_run)
{
    struct run a, b;

    run_sim(SCENARIOS "many-tenants.yaml --duration-ms 2000 --json "
            "--seed 1", &a);
    run_sim(SCENARIOS "many-tenants.yaml --duration-ms 2000 --json "
            "--seed 2", &b);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(b.status, 0);
    ck_assert(a.len != b.len || memcmp(a.out, b.out, a.len) != 0);
    run_free(&a);
    run_free(&b);
}
END_TEST

/* Bad input: exit 2, and no partial output on stdout. */
START_TEST(test_cli_bad_input_exits_2)
{
    static const char *const bad[] = {
        "/nonexistent/scenario.yaml",
        SCENARIOS "weights.yaml --policy no-such-policy",
        SCENARIOS "weights.yaml --duration-ms -5",
        "",
    };
    struct run r;

    run_sim(bad[_i], &r);
    ck_assert_int_eq(r.status, 2);
    ck_assert_uint_eq(r.len, 0);
    run_free(&r);
}
END_TEST

/* --list-policies: every registered policy, one per line. */
START_TEST(test_cli_list_policies)
{
    struct run r;
    unsigned int i;

    run_sim("--list-policies", &r);
    ck_assert_int_eq(r.status, 0);
    for ( i = 0; sch_policies[i]; i++ )
    {
        char line[64];

        snprintf(line, sizeof(line), "%s\n", sch_policies[i]->opt_name);
        ck_assert_msg(strstr(r.out, line), "%s missing", line);
    }
    run_free(&r);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("xenos-sim");

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_cli_byte_identical, 0, 3);
    tcase_add_test(tc, test_cli_seed_changes_run);
    tcase_add_loop_test(tc, test_cli_bad_input_exits_2, 0, 4);
    tcase_add_test(tc, test_cli_list_policies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(cli_suite());
}
