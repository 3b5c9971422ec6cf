/*
 * test_prometheus.c: the Prometheus exporter as its consumers see it:
 * the text checked by promtool and read back line by line (escapes,
 * HELP/TYPE, exact values), the HTTP server over a plain socket (gzip,
 * /healthz, 404/405, a scrape that outlives an update, slow connections
 * that cannot lock scrapes out), and a real
 * Prometheus server scraping it and answering a PromQL rate() query.
 *
 * promtool and prometheus come from Debian's `prometheus` package
 * (scripts/install-deps); without them those tests fail loudly: a
 * skipped consumer check would hide exactly the bugs it exists for.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <xenos/acct.h>
#include <xenos/exp_prom.h>

/* The collector as the exporters see it (acct_snapshot). */
#define SNAP(c) acct_snap((c), &(struct acct_snapshot){ 0 })

#define SEC 1000000000ull
#define U1 "00000000-0000-0000-0000-000000000001"

static char dir[64];
static char path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/xenos-prom-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ------------------------------------------------------------------ */
/* A hand-made host                                                    */

struct dom_in {
    const char *name;
    const char *tenant;                 /* NULL: unassigned */
};

/* Hostile names: every byte the format cares about, and some it must
 * not care about. */
static const struct dom_in hostile[] = {
    { "acme-web", "acme" },
    { "q\"uote", "acme" },
    { "back\\slash\\", NULL },
    { "new\nline", "evil\"te\\nant\n" },
    { "bad\xff\xfe utf8 \xc3\x28", NULL },
    { "a{b=\"c\"},d=e", "acme" },
    { "\xc3\xbcmlaut-\xe6\x97\xa5\xe6\x9c\xac", "evil\"te\\nant\n" },
    { "tab\there\rcr", NULL },
    { "", NULL },
};
#define NR_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static const struct dom_in *cur_in;

/* The tenant of cur_in[] for the domain numbered by its uuid's tail. */
static const char *tenant_of(void *ctx, const struct acct_domain *d)
{
    (void)ctx;
    return cur_in[strtoul(d->uuid + 24, NULL, 10) - 1].tenant;
}

/*
 * Domain i (uuid ...i+1) at @t_ns: it has run (i + 1) * @k ns plus a
 * little, split over 2 vCPUs; 1 VBD, 1 VIF, memory by i.
 */
static void make_sample(struct acct_sample *s, uint64_t t_ns,
                        const struct dom_in *in, unsigned int n, uint64_t k,
                        unsigned int skip)
{
    unsigned int i;

    acct_sample_reset(s);
    s->time_ns = t_ns;
    for ( i = 0; i < n; i++ )
    {
        struct acct_domain *d;
        uint64_t cpu = (i + 1) * k + 1;

        if ( i == skip )
            continue;
        d = acct_sample_add(s);
        ck_assert_ptr_nonnull(d);
        snprintf(d->uuid, sizeof(d->uuid),
                 "00000000-0000-0000-0000-%012u", i + 1);
        d->domid = i + 1;
        d->name = acct_sample_str(s, in[i].name, strlen(in[i].name));
        d->cpu_ns = cpu;
        d->state = ACCT_DOM_RUNNING;
        d->nr_vcpus = d->online_vcpus = 2;
        d->vcpus = acct_sample_array(s, 2, sizeof(*d->vcpus));
        d->vcpus[0].cpu_ns = cpu / 2;
        d->vcpus[1].cpu_ns = cpu - cpu / 2;
        d->mem_cur_bytes = (uint64_t)(i + 1) << 30;
        d->mem_max_bytes = (uint64_t)(i + 2) << 30;
        d->mem_target_bytes = (uint64_t)(i + 1) << 30;
        d->nr_vbds = d->nr_vifs = 1;
        d->vbds = acct_sample_array(s, 1, sizeof(*d->vbds));
        d->vifs = acct_sample_array(s, 1, sizeof(*d->vifs));
        d->vbds[0].rd_reqs = cpu / 1000;
        d->vbds[0].rd_sectors = cpu / 100;
        d->vbds[0].wr_sectors = cpu / 200;
        d->vifs[0].rx_bytes = cpu / 10;
        d->vifs[0].tx_drop = cpu / SEC;
    }
}

/* Collector through @nsamples samples 5 s apart, cpu growing by
 * (i + 1) * 1.234567890 s per sample; domain @skip missing from the
 * last one (UINT32_MAX: none). */
static struct acct_collector *build(struct acct_sample *s,
                                    const struct dom_in *in, unsigned int n,
                                    unsigned int nsamples, unsigned int skip)
{
    struct acct_collector *c;
    char err[256] = "";
    unsigned int j;

    cur_in = in;
    acct_sample_init(s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    for ( j = 0; j < nsamples; j++ )
    {
        make_sample(s, (10 + 5 * j) * SEC, in, n, 1234567890ull * j,
                    j + 1 == nsamples ? skip : UINT32_MAX);
        ck_assert_int_eq(acct_collector_update(c, s, tenant_of,
                                               NULL), 0);
    }
    /* What xenosd's tenant policy would have set (no sample yet: no
     * tenant; U1 may be gone). */
    acct_collector_set_tenant_sched(c, "acme", 512, 250);
    acct_collector_set_sched(c, U1, 256, 50);
    /* No domain failed: 7 errors, as the daemon would count them. */
    for ( j = 0; j < 7; j++ )
        acct_collector_count_error(c, ACCT_ERR_DOMAIN);
    return c;
}

static const struct exp_health health[] = {
    { "prometheus", 0 }, { "usage", 4 },
};

static const struct exp_info info = {
    .host = "host\"1\n", .backend = "sim", .interval_ms = 5000,
    .sample_unix_ns = 1700000000123456789ull,
    .sample_duration_ns = 1500000, .intervals = 3,
    .exporters = health, .nr_exporters = 2,
};

/* The rendering, NUL-terminated. */
static char *render(const struct acct_collector *c)
{
    struct txt_buf b;
    char *s;

    txt_buf_init(&b);
    ck_assert_int_eq(exp_prom_render(&b, SNAP(c), &info), 0);
    s = malloc(b.len + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, b.p, b.len);
    s[b.len] = '\0';
    txt_buf_free(&b);
    return s;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *p;

    for ( p = text; (p = strstr(p, line)); p++ )
        if ( (p == text || p[-1] == '\n') && p[n] == '\n' )
            return true;
    return false;
}

#define ck_assert_line(text, line) \
    ck_assert_msg(has_line(text, line), "missing line: %s", line)

/* promtool's verdict: its exit status, its output in @out. */
static int promtool(const char *text, char *out, size_t outlen)
{
    char file[160], cmd[400];
    FILE *f;
    size_t n;
    int st;

    ck_assert_msg(!system("command -v promtool >/dev/null"),
                  "promtool not found: install Debian's prometheus "
                  "package (scripts/install-deps)");
    snprintf(file, sizeof(file), "%s/metrics.txt", dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", file);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(out, 1, outlen - 1, f);
    out[n] = '\0';
    st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* promtool passes @text with nothing to say. */
static void assert_promtool(const char *text)
{
    char out[4096];

    ck_assert_msg(promtool(text, out, sizeof(out)) == 0 && !out[0],
                  "promtool check metrics: %s", out);
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */

/* promtool (the format's reference checker and linter) accepts the text
 * with hostile names, and the text of a collector with nothing yet. */
START_TEST(test_prom_render_promtool)
{
    struct acct_collector *c;
    struct acct_sample s;
    char *text;

    c = build(&s, hostile, NR_HOSTILE, _i ? 0 : 3, UINT32_MAX);
    text = render(c);
    assert_promtool(text);
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* Every hostile name comes out escaped exactly as the spec says: \\, \"
 * and \n; invalid UTF-8 as U+FFFD; everything else as it is. */
START_TEST(test_prom_render_escapes)
{
    struct acct_collector *c;
    struct acct_sample s;
    char *text;

    c = build(&s, hostile, NR_HOSTILE, 2, UINT32_MAX);
    text = render(c);
#define ONLINE(n, labels) \
    ck_assert_line(text, "xenos_domain_online_vcpus{uuid=\"00000000-0000-" \
                   "0000-0000-00000000000" #n "\"," labels "} 2")
    ONLINE(2, "name=\"q\\\"uote\",tenant=\"acme\"");
    ONLINE(3, "name=\"back\\\\slash\\\\\",tenant=\"-\"");
    ONLINE(4, "name=\"new\\nline\",tenant=\"evil\\\"te\\\\nant\\n\"");
    ONLINE(5, "name=\"bad\xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd(\","
           "tenant=\"-\"");
    ONLINE(6, "name=\"a{b=\\\"c\\\"},d=e\",tenant=\"acme\"");
    ONLINE(7, "name=\"\xc3\xbcmlaut-\xe6\x97\xa5\xe6\x9c\xac\","
           "tenant=\"evil\\\"te\\\\nant\\n\"");
    ONLINE(8, "name=\"tab\there\rcr\",tenant=\"-\"");
    ONLINE(9, "name=\"\",tenant=\"-\"");
#undef ONLINE
    ck_assert_line(text, "xenos_tenant_domains{tenant=\"evil\\\"te\\\\nant"
                   "\\n\"} 2");
    ck_assert_line(text, "xenos_info{host=\"host\\\"1\\n\",backend=\"sim\"}"
                   " 1");
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* Every family has one HELP and one TYPE before its samples, and its
 * samples are all together. */
START_TEST(test_prom_render_help_type)
{
    struct acct_collector *c;
    struct acct_sample s;
    char *text, *line, *save = NULL;
    char fam[128] = "", seen[8192] = " ";
    unsigned int nfam = 0, nsamples = 0;
    bool help = false, type = false;

    c = build(&s, hostile, NR_HOSTILE, 2, UINT32_MAX);
    text = render(c);
    for ( line = strtok_r(text, "\n", &save); line;
          line = strtok_r(NULL, "\n", &save) )
    {
        char name[128], key[140];

        if ( !strncmp(line, "# HELP ", 7) )
        {
            sscanf(line + 7, "%127s", name);
            snprintf(key, sizeof(key), " %s ", name);
            ck_assert_msg(!strstr(seen, key), "family %s twice", name);
            ck_assert_uint_lt(strlen(seen) + strlen(key), sizeof(seen));
            strcat(seen, key + 1);
            strcpy(fam, name);
            help = true;
            type = false;
            nfam++;
            continue;
        }
        if ( !strncmp(line, "# TYPE ", 7) )
        {
            sscanf(line + 7, "%127s", name);
            ck_assert_str_eq(name, fam);
            ck_assert_msg(help && !type, "TYPE of %s not after HELP", name);
            type = true;
            continue;
        }
        ck_assert_msg(line[0] != '#', "stray comment: %s", line);
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(line, "{ "),
                 line);
        ck_assert_msg(help && type && !strcmp(name, fam),
                      "sample outside its family: %s", line);
        nsamples++;
    }
    ck_assert_uint_ge(nfam, 40);
    ck_assert_uint_ge(nsamples, NR_HOSTILE * 30);
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* Values: seconds from ns exactly, bytes from sectors, levels, sums,
 * ratios, health. */
START_TEST(test_prom_render_values)
{
    struct acct_collector *c;
    struct acct_sample s;
    char *text;

#define L1 "{uuid=\"" U1 "\",name=\"acme-web\",tenant=\"acme\""
    c = build(&s, hostile, NR_HOSTILE, 3, UINT32_MAX);
    text = render(c);
    /* domain 1 grew 2 x 1.234567890 s */
    ck_assert_line(text, "xenos_domain_cpu_seconds_total" L1 "} 2.469135780");
    ck_assert_line(text, "xenos_domain_vcpu_cpu_seconds_total" L1
                   ",vcpu=\"0\"} 1.234567890");
    ck_assert_line(text, "xenos_domain_vcpu_cpu_seconds_total" L1
                   ",vcpu=\"1\"} 1.234567890");
    ck_assert_line(text, "xenos_domain_memory_bytes" L1
                   ",kind=\"current\"} 1073741824");
    ck_assert_line(text, "xenos_domain_memory_bytes" L1
                   ",kind=\"max\"} 2147483648");
    /* (2469135781 / 100 - 1 / 100) sectors of 512 bytes */
    ck_assert_line(text, "xenos_domain_vbd_read_bytes_total" L1
                   "} 12641974784");
    ck_assert_line(text, "xenos_domain_vif_rx_bytes_total" L1 "} 246913578");
    ck_assert_line(text, "xenos_domain_vif_tx_drops_total" L1 "} 2");
    ck_assert_line(text, "xenos_domain_weight" L1 "} 256");
    ck_assert_line(text, "xenos_domain_cap_ratio" L1 "} 0.50");
    ck_assert_line(text, "xenos_domain_info" L1 "} 1");
    ck_assert_line(text, "xenos_domain_domid" L1 "} 1");
    ck_assert_line(text, "xenos_domain_state" L1 ",state=\"running\"} 1");
    ck_assert_line(text, "xenos_domain_state" L1 ",state=\"dying\"} 0");
    /* acme: domains 1, 2, 6 -> (1 + 2 + 6) x 2.469135780 s */
    ck_assert_line(text, "xenos_tenant_cpu_seconds_total{tenant=\"acme\"} "
                   "22.222222020");
    ck_assert_line(text, "xenos_tenant_domains{tenant=\"acme\"} 3");
    ck_assert_line(text, "xenos_tenant_memory_bytes{tenant=\"acme\","
                   "kind=\"current\"} 9663676416");
    ck_assert_line(text, "xenos_tenant_cap_ratio{tenant=\"acme\"} 2.50");
    /* last interval: 9 x 1.23456789 s in 5 s, over a cap of 2.5 pCPUs */
    ck_assert_line(text, "xenos_tenant_cap_use_ratio{tenant=\"acme\"} "
                   "0.888888881");
    ck_assert_ptr_null(strstr(text,
                              "xenos_tenant_cap_use_ratio{tenant=\"-\""));
    ck_assert_line(text, "xenos_errors_total{kind=\"domain\"} 7");
    ck_assert_line(text, "xenos_errors_total{kind=\"counter_backwards\"} 0");
    ck_assert_line(text, "xenos_intervals_total 3");
    ck_assert_line(text, "xenos_exporter_failed_intervals"
                   "{exporter=\"usage\"} 4");
    ck_assert_line(text, "xenos_exporter_failed_intervals"
                   "{exporter=\"prometheus\"} 0");
    ck_assert_line(text, "xenos_last_sample_timestamp_seconds "
                   "1700000000.123456789");
    ck_assert_line(text, "xenos_sample_duration_seconds 0.001500000");
    ck_assert_line(text, "xenos_sample_interval_seconds 5.000000000");
    ck_assert_line(text, "xenos_domains 9");
#undef L1
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A domain gone from the last sample has no series any more; its
 * tenant's totals keep what it used. */
START_TEST(test_prom_render_vanished_domain)
{
    struct acct_collector *c;
    struct acct_sample s;
    char *text;

    c = build(&s, hostile, NR_HOSTILE, 3, 0);
    text = render(c);
    ck_assert_ptr_null(strstr(text, U1));
    ck_assert_ptr_null(strstr(text, "acme-web"));
    ck_assert_line(text, "xenos_domains 8");
    /* acme keeps domain 1's first interval: (1 + 2 x 2 + 6 x 2) x 1.23.. */
    ck_assert_line(text, "xenos_tenant_cpu_seconds_total{tenant=\"acme\"} "
                   "20.987654130");
    ck_assert_line(text, "xenos_tenant_domains{tenant=\"acme\"} 2");
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/*
 * Conformance (issue 16): a domain whose scheduler counts has its peak
 * window of the last interval and its windows under and over its cap, and
 * its tenant the sums of those windows; a domain on a stock scheduler
 * (and a tenant with none that counts) has no such series, not 0, while
 * the families keep HELP and TYPE.  promtool still passes.
 */
START_TEST(test_prom_render_conformance)
{
    static const struct dom_in in[2] = {
        { "acme-web", "acme" }, { "stock", NULL },
    };
    struct acct_collector *c;
    struct acct_sample s;
    uint64_t w[ACCT_NR_WINDOWS] = { 0 };
    char err[256] = "", *text;
    unsigned int j;

    cur_in = in;
    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    for ( j = 0; j < 2; j++ )
    {
        make_sample(&s, (10 + 5 * j) * SEC, in, 2, 1234567890ull * j,
                    UINT32_MAX);
        /* acme-web at cap 30, 2 vCPUs: in the interval 40 windows at
         * most 100% of the cap and 10 at most 105% (31.5% of a pCPU,
         * rounded up: 0.32), those 10 over the cap */
        s.domains[0].sched_stats = true;
        s.domains[0].sched_cap_pct = 30;
        memcpy(s.domains[0].windows, w, sizeof(w));
        ck_assert_int_eq(acct_collector_update(c, &s, tenant_of, NULL), 0);
        w[5] += 40;
        w[7] += 10;
    }
    text = render(c);
#define LA "{uuid=\"" U1 "\",name=\"acme-web\",tenant=\"acme\"}"
    ck_assert_line(text, "xenos_domain_peak_window_ratio" LA " 0.32");
    ck_assert_line(text, "xenos_domain_capped_windows_total" LA " 50");
    ck_assert_line(text, "xenos_domain_over_cap_windows_total" LA " 10");
    ck_assert_line(text, "xenos_tenant_capped_windows_total"
                   "{tenant=\"acme\"} 50");
    ck_assert_line(text, "xenos_tenant_over_cap_windows_total"
                   "{tenant=\"acme\"} 10");
#undef LA
    ck_assert_line(text, "# TYPE xenos_domain_peak_window_ratio gauge");
    ck_assert_line(text, "# TYPE xenos_tenant_over_cap_windows_total "
                   "counter");
    /* the stock domain and its tenant "-": no conformance series */
    ck_assert_ptr_null(strstr(text, "xenos_domain_peak_window_ratio{uuid="
                                    "\"00000000-0000-0000-0000-000000000002"));
    ck_assert_ptr_null(strstr(text, "xenos_domain_over_cap_windows_total"
                                    "{uuid=\"00000000-0000-0000-0000-"
                                    "000000000002"));
    ck_assert_ptr_null(strstr(text, "xenos_tenant_capped_windows_total"
                                    "{tenant=\"-\"}"));
    ck_assert_line(text, "xenos_domain_online_vcpus{uuid=\"00000000-0000-"
                   "0000-0000-000000000002\",name=\"stock\",tenant=\"-\"}"
                   " 2");
    assert_promtool(text);
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* The series names (all before the value) of every line of @text that
 * mentions @uuid, in order, NUL-terminated; the caller frees. */
static char *series_of(const char *text, const char *uuid)
{
    struct txt_buf b;
    const char *l, *e, *v;
    char *out;

    txt_buf_init(&b);
    for ( l = text; *l; l = *e ? e + 1 : e )
    {
        e = strchr(l, '\n');
        e = e ? e : l + strlen(l);
        v = memchr(l, '}', (size_t)(e - l));
        if ( *l != '#' && v && strstr(l, uuid) && strstr(l, uuid) < e )
        {
            txt_put(&b, l, (size_t)(v + 1 - l));
            txt_putc(&b, '\n');
        }
    }
    txt_putc(&b, '\0');
    ck_assert(!b.oom);
    out = strdup(b.p);
    txt_buf_free(&b);
    return out;
}

/*
 * A domain's series stay the same through its life: a state change and a
 * reboot (new domid) change values, never a label, so Prometheus keeps
 * one series each (before, domid and state were labels of
 * xenos_domain_info and every change started a new series).
 */
START_TEST(test_prom_render_series_stay_put)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct acct_domain *d;
    char *text, *before, *after;

    c = build(&s, hostile, 2, 2, UINT32_MAX);
    text = render(c);
    before = series_of(text, U1);
    ck_assert_line(text, "xenos_domain_state{uuid=\"" U1 "\",name=\"acme-web\","
                   "tenant=\"acme\",state=\"running\"} 1");
    free(text);

    /* domain 1 blocks, then reboots under domid 7 */
    make_sample(&s, 20 * SEC, hostile, 2, 1234567890ull * 2, UINT32_MAX);
    s.domains[0].state = ACCT_DOM_BLOCKED;
    ck_assert_int_eq(acct_collector_update(c, &s, tenant_of, NULL), 0);
    make_sample(&s, 25 * SEC, hostile, 2, 1, UINT32_MAX);
    d = &s.domains[0];
    d->domid = 7;
    d->state = ACCT_DOM_PAUSED;
    ck_assert_int_eq(acct_collector_update(c, &s, tenant_of, NULL), 0);
    text = render(c);
    after = series_of(text, U1);
    ck_assert_str_eq(after, before);
    ck_assert_line(text, "xenos_domain_domid{uuid=\"" U1 "\",name=\"acme-web\","
                   "tenant=\"acme\"} 7");
    ck_assert_line(text, "xenos_domain_state{uuid=\"" U1 "\",name=\"acme-web\","
                   "tenant=\"acme\",state=\"paused\"} 1");
    ck_assert_line(text, "xenos_domain_state{uuid=\"" U1 "\",name=\"acme-web\","
                   "tenant=\"acme\",state=\"running\"} 0");
    ck_assert_uint_eq(acct_collector_find(c, U1)->resets, 1);
    free(before);
    free(after);
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

struct resp {
    int status;
    char *head;                         /* NUL-terminated */
    char *body;
    size_t len;
};

static void resp_free(struct resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static int connect_port(uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);

    while ( n )
    {
        ssize_t w = write(fd, s, n);

        ck_assert_int_gt(w, 0);
        s += w;
        n -= (size_t)w;
    }
}

/* Everything until EOF (bounded: 10 s without data fails). */
static char *read_all(int fd, size_t *lenp)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);

    ck_assert_ptr_nonnull(buf);
    for ( ;; )
    {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t n;

        ck_assert_msg(poll(&p, 1, 10000) == 1, "server did not answer");
        if ( len == cap )
        {
            buf = realloc(buf, cap *= 2);
            ck_assert_ptr_nonnull(buf);
        }
        n = read(fd, buf + len, cap - len);
        ck_assert_int_ge(n, 0);
        if ( !n )
            break;
        len += (size_t)n;
    }
    close(fd);
    *lenp = len;
    return buf;
}

static void parse_resp(const char *buf, size_t len, struct resp *r)
{
    char line[32] = "";
    const char *eoh;

    memcpy(line, buf, len < sizeof(line) - 1 ? len : sizeof(line) - 1);
    ck_assert_int_eq(sscanf(line, "HTTP/1.%*d %d", &r->status), 1);
    eoh = memmem(buf, len, "\r\n\r\n", 4);
    ck_assert_ptr_nonnull(eoh);
    r->head = strndup(buf, (size_t)(eoh - buf) + 2);
    r->len = len - (size_t)(eoh + 4 - buf);
    r->body = malloc(r->len + 1);
    ck_assert_ptr_nonnull(r->body);
    memcpy(r->body, eoh + 4, r->len);
    r->body[r->len] = '\0';
}

static void read_resp(int fd, struct resp *r)
{
    size_t len;
    char *buf = read_all(fd, &len);

    parse_resp(buf, len, r);
    free(buf);
}

/* @method @target with @extra header lines ("" or "K: V\r\n..."). */
static void http(uint16_t port, const char *method, const char *target,
                 const char *extra, struct resp *r)
{
    char req[2048];
    int fd = connect_port(port);

    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Connection: close\r\n%s\r\n", method, target, extra);
    send_all(fd, req);
    read_resp(fd, r);
}

static bool head_has(const struct resp *r, const char *line)
{
    const char *p;

    for ( p = r->head; (p = strcasestr(p, line)); p++ )
        if ( p[-1] == '\n' && p[strlen(line)] == '\r' )
            return true;
    return false;
}

static char *gunzip(const char *gz, size_t len, size_t *outlen)
{
    z_stream zs;
    size_t cap = len * 16 + 1024;
    char *out = malloc(cap);

    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)gz;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
    *outlen = zs.total_out;
    inflateEnd(&zs);
    return out;
}

static struct exp_prom *start(void)
{
    struct exp_prom *p = NULL;
    char err[256] = "";

    ck_assert_msg(exp_prom_start(&p, "127.0.0.1:0", err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_ne(exp_prom_port(p), 0);
    return p;
}

/* /metrics as rendered, plain and gzip; /healthz; / (a page linking
 * /metrics); 404; 405; 503 before the first sample. */
START_TEST(test_prom_http_endpoints)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_prom *p = start();
    uint16_t port = exp_prom_port(p);
    struct resp r = { 0 };
    char *text, *plain;
    size_t plain_len;

    http(port, "GET", "/metrics", "", &r);
    ck_assert_int_eq(r.status, 503);
    resp_free(&r);
    http(port, "GET", "/healthz", "", &r);
    ck_assert_int_eq(r.status, 503);
    resp_free(&r);

    c = build(&s, hostile, NR_HOSTILE, 3, UINT32_MAX);
    text = render(c);
    ck_assert_int_eq(exp_prom_update(p, SNAP(c), &info), 0);

    http(port, "GET", "/metrics", "", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(head_has(&r, "Content-Type: text/plain; version=0.0.4; "
                       "charset=utf-8"));
    ck_assert(!strcasestr(r.head, "Content-Encoding"));
    ck_assert_uint_eq(r.len, strlen(text));
    ck_assert(!memcmp(r.body, text, r.len));
    resp_free(&r);

    /* What Prometheus sends. */
    http(port, "GET", "/metrics", "Accept-Encoding: gzip\r\n", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(head_has(&r, "Content-Encoding: gzip"));
    ck_assert_uint_lt(r.len, strlen(text) / 2);
    plain = gunzip(r.body, r.len, &plain_len);
    ck_assert_uint_eq(plain_len, strlen(text));
    ck_assert(!memcmp(plain, text, plain_len));
    free(plain);
    resp_free(&r);

    http(port, "GET", "/metrics", "Accept-Encoding: br, gzip;q=0\r\n", &r);
    ck_assert(!strcasestr(r.head, "Content-Encoding"));
    resp_free(&r);

    http(port, "HEAD", "/metrics", "", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    resp_free(&r);

    http(port, "GET", "/healthz", "", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ok\n");
    resp_free(&r);
    http(port, "GET", "/", "", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(head_has(&r, "Content-Type: text/html; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(r.body, "<a href=\"/metrics\">"));
    resp_free(&r);
    http(port, "GET", "/metricsx", "", &r);
    ck_assert_int_eq(r.status, 404);
    resp_free(&r);
    http(port, "POST", "/metrics", "Content-Length: 0\r\n", &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert(head_has(&r, "Allow: GET, HEAD"));
    resp_free(&r);

    exp_prom_stop(p);
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A scrape that started before an update gets the old text whole, even
 * though the update freed nothing it was still sending. */
START_TEST(test_prom_http_scrape_outlives_update)
{
    enum { N = 2000 };
    static struct dom_in many[N];
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_prom *p = start();
    struct resp r = { 0 };
    char *text, first[4096], *rest, *all;
    size_t rest_len;
    struct exp_info later = info;
    unsigned int i;
    ssize_t got;
    int fd;

    for ( i = 0; i < N; i++ )
        many[i] = (struct dom_in){ "some-domain-name", "acme" };
    c = build(&s, many, N, 2, UINT32_MAX);
    text = render(c);
    ck_assert_uint_gt(strlen(text), 4u << 20);   /* beyond socket buffers */
    ck_assert_int_eq(exp_prom_update(p, SNAP(c), &info), 0);

    fd = connect_port(exp_prom_port(p));
    send_all(fd, "GET /metrics HTTP/1.0\r\n\r\n");
    got = read(fd, first, sizeof(first));
    ck_assert_int_gt(got, 0);
    /* Two updates: the page being sent is no longer the current one. */
    later.intervals = 99;
    ck_assert_int_eq(exp_prom_update(p, SNAP(c), &later), 0);
    ck_assert_int_eq(exp_prom_update(p, SNAP(c), &later), 0);
    rest = read_all(fd, &rest_len);
    all = malloc((size_t)got + rest_len);
    ck_assert_ptr_nonnull(all);
    memcpy(all, first, (size_t)got);
    memcpy(all + got, rest, rest_len);
    parse_resp(all, (size_t)got + rest_len, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, strlen(text));
    ck_assert(!memcmp(r.body, text, r.len));
    free(all);
    free(rest);
    resp_free(&r);
    http(exp_prom_port(p), "GET", "/metrics", "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\nxenos_intervals_total 99\n"));
    resp_free(&r);
    exp_prom_stop(p);
    free(text);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* /healthz goes 503 when updates stop bringing new samples. */
START_TEST(test_prom_http_healthz_stale)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_prom *p = start();
    struct exp_info i2 = info;
    struct resp r = { 0 };

    c = build(&s, hostile, 2, 2, UINT32_MAX);
    i2.interval_ms = 100;               /* stale after max(0.3 s, 1 s) */
    ck_assert_int_eq(exp_prom_update(p, SNAP(c), &i2), 0);
    http(exp_prom_port(p), "GET", "/healthz", "", &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    usleep(1200 * 1000);
    /* an update after failed samples: same sample time */
    ck_assert_int_eq(exp_prom_update(p, SNAP(c), &i2), 0);
    http(exp_prom_port(p), "GET", "/healthz", "", &r);
    ck_assert_int_eq(r.status, 503);
    resp_free(&r);
    i2.sample_unix_ns += SEC;
    ck_assert_int_eq(exp_prom_update(p, SNAP(c), &i2), 0);
    http(exp_prom_port(p), "GET", "/healthz", "", &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    exp_prom_stop(p);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A GET of @target: its status, or -1 when no whole answer came within
 * @ms. */
static int http_within(uint16_t port, const char *target, int ms)
{
    char req[256], buf[1 << 16];
    size_t len = 0;
    int fd = connect_port(port), status = -1;

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Connection: close\r\n\r\n", target);
    send_all(fd, req);
    for ( ;; )
    {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t n;

        if ( poll(&p, 1, ms) != 1 )
            break;
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if ( n <= 0 )
        {
            buf[len] = '\0';
            if ( n == 0 && sscanf(buf, "HTTP/1.%*d %d", &status) != 1 )
                status = -1;
            break;
        }
        len += (size_t)n;
        if ( len == sizeof(buf) - 1 )
            break;
    }
    close(fd);
    return status;
}

/*
 * 300 connections that send half a request and then nothing (or a byte
 * now and then): /metrics and /healthz are still answered at once, every
 * time.  (libmicrohttpd alone stops accepting at its limit of 128.)
 */
START_TEST(test_prom_http_slow_connections_no_lockout)
{
    enum { N = 300 };
    static int slow[N];
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_prom *p = start();
    uint16_t port = exp_prom_port(p);
    unsigned int i, k;

    c = build(&s, hostile, 2, 2, UINT32_MAX);
    ck_assert_int_eq(exp_prom_update(p, SNAP(c), &info), 0);
    for ( i = 0; i < N; i++ )
    {
        slow[i] = connect_port(port);
        send_all(slow[i], "GET /metrics HTTP/1.1\r\nX-Slow: a");
    }
    for ( k = 0; k < 10; k++ )
    {
        /* the slow ones send a byte (those still connected) */
        for ( i = 0; i < N; i++ )
        {
            ssize_t w = send(slow[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);

            (void)w;
        }
        ck_assert_int_eq(http_within(port, "/metrics", 2000), 200);
        ck_assert_int_eq(http_within(port, "/healthz", 2000), 200);
        usleep(100 * 1000);
    }
    for ( i = 0; i < N; i++ )
        close(slow[i]);
    exp_prom_stop(p);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* Bad listen addresses and a taken port are errors with a reason. */
START_TEST(test_prom_start_errors)
{
    static const char *const bad[] = {
        "127.0.0.1", "127.0.0.1:", ":9410", "127.0.0.1:65536",
        "127.0.0.1:http", "[::1", "no.such.host.invalid:1",
    };
    struct exp_prom *p = start(), *q = NULL;
    char err[256], addr[64];
    unsigned int i;

    for ( i = 0; i < sizeof(bad) / sizeof(bad[0]); i++ )
    {
        err[0] = '\0';
        ck_assert_int_eq(exp_prom_start(&q, bad[i], err, sizeof(err)),
                         -EINVAL);
        ck_assert_msg(err[0], "no reason for %s", bad[i]);
    }
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", exp_prom_port(p));
    err[0] = '\0';
    ck_assert_int_eq(exp_prom_start(&q, addr, err, sizeof(err)),
                     -EADDRINUSE);
    ck_assert_ptr_nonnull(strstr(err, addr));
    exp_prom_stop(p);
    exp_prom_stop(NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A real Prometheus                                                   */

static uint16_t free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* Try a GET; false when nothing listens yet. */
static bool try_http(uint16_t port, const char *target, struct resp *r)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char req[1024];

    if ( connect(fd, (struct sockaddr *)&sa, sizeof(sa)) )
    {
        close(fd);
        return false;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Connection: close\r\n\r\n", target);
    send_all(fd, req);
    read_resp(fd, r);
    return true;
}

/*
 * Prometheus scrapes us every second while acme's domains burn exactly 2
 * CPU-seconds per second of wall time (1 and 1: domains 1 and 2); the
 * PromQL answer for acme's CPU rate must be 2.  The hostile names travel
 * through Prometheus and come back in its JSON.
 */
START_TEST(test_prom_real_prometheus)
{
    static const char query[] = "/api/v1/query?query=sum%28rate%28"
        "xenos_tenant_cpu_seconds_total%7Btenant%3D%22acme%22%7D%5B5s%5D"
        "%29%29";
    static const char names_query[] = "/api/v1/query?query="
        "xenos_domain_online_vcpus%7Bname%3D%22q%5C%22uote%22%7D";
    static const struct dom_in two[] = { { "acme-web", "acme" },
                                         { "q\"uote", "acme" } };
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_prom *p = start();
    struct exp_info i2 = info;
    char cfg[160], tsdb[160], listen[64], err[256] = "";
    uint16_t pport = free_port();
    uint64_t t0, deadline, last_q = 0, first_seen = 0;
    double rate = -1;
    bool names_ok = false;
    struct resp r = { 0 };
    pid_t pid;
    FILE *f;
    int st;

    ck_assert_msg(!system("command -v prometheus >/dev/null"),
                  "\n\n*** prometheus not found: install Debian's "
                  "prometheus package (scripts/install-deps) ***\n");
    snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", dir);
    snprintf(tsdb, sizeof(tsdb), "%s/tsdb", dir);
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", pport);
    f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: xenos\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%u']\n", exp_prom_port(p));
    ck_assert_int_eq(fclose(f), 0);

    cur_in = two;
    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        char a1[200], a2[200], a3[100];

        /* Gone with the test, whatever way the test ends. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        snprintf(a1, sizeof(a1), "--config.file=%s", cfg);
        snprintf(a2, sizeof(a2), "--storage.tsdb.path=%s", tsdb);
        snprintf(a3, sizeof(a3), "--web.listen-address=%s", listen);
        if ( !freopen("/dev/null", "w", stdout) ||
             !freopen("/dev/null", "w", stderr) )
            _exit(126);
        execlp("prometheus", "prometheus", a1, a2, a3, (char *)NULL);
        _exit(127);
    }

    t0 = now_ns();
    deadline = t0 + 30 * SEC;
    while ( now_ns() < deadline && (rate < 0 || !names_ok) )
    {
        uint64_t t = now_ns();
        struct acct_domain *d;
        unsigned int i;

        /* Sample every 100 ms: each domain has run exactly as long as
         * the wall clock since t0. */
        acct_sample_reset(&s);
        s.time_ns = t;
        for ( i = 0; i < 2; i++ )
        {
            d = acct_sample_add(&s);
            snprintf(d->uuid, sizeof(d->uuid),
                     "00000000-0000-0000-0000-%012u", i + 1);
            d->domid = i + 1;
            d->name = acct_sample_str(&s, two[i].name, strlen(two[i].name));
            d->cpu_ns = t - t0;
            d->nr_vcpus = d->online_vcpus = 1;
            d->vcpus = acct_sample_array(&s, 1, sizeof(*d->vcpus));
            d->vcpus[0].cpu_ns = t - t0;
        }
        ck_assert_int_eq(acct_collector_update(c, &s, tenant_of,
                                               NULL), 0);
        i2.sample_unix_ns = (uint64_t)time(NULL) * SEC;
        i2.intervals = SNAP(c)->intervals;
        ck_assert_int_eq(exp_prom_update(p, SNAP(c), &i2), 0);
        usleep(100 * 1000);
        if ( now_ns() - last_q < SEC / 2 || now_ns() - t0 < 4 * SEC )
            continue;
        last_q = now_ns();
        if ( rate < 0 && try_http(pport, query, &r) )
        {
            const char *v = strstr(r.body, "\"value\":[");
            double x;

            /* rate() is low while the series is younger than its window
             * (extrapolation stops at the first sample): wait until the
             * 5 s window is full of samples. */
            if ( r.status == 200 && v &&
                 sscanf(v, "\"value\":[%*f,\"%lf\"", &x) == 1 && x > 0 )
            {
                if ( !first_seen )
                    first_seen = now_ns();
                else if ( now_ns() - first_seen > 6 * SEC )
                    rate = x;
            }
            resp_free(&r);
        }
        if ( !names_ok && try_http(pport, names_query, &r) )
        {
            names_ok = r.status == 200 &&
                       strstr(r.body, "\"name\":\"q\\\"uote\"") &&
                       strstr(r.body, "\"tenant\":\"acme\"");
            resp_free(&r);
        }
    }
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    exp_prom_stop(p);
    acct_collector_free(c);
    acct_sample_free(&s);
    ck_assert_msg(rate > 0, "Prometheus gave no rate within 30 s");
    ck_assert_msg(rate > 1.8 && rate < 2.2, "acme's CPU rate %f, not 2",
                  rate);
    ck_assert_msg(names_ok, "the hostile name did not come back from "
                  "Prometheus");
}
END_TEST

static Suite *prom_suite(void)
{
    Suite *s = suite_create("prometheus");
    TCase *tc = tcase_create("render");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_prom_render_promtool, 0, 2);
    tcase_add_test(tc, test_prom_render_escapes);
    tcase_add_test(tc, test_prom_render_help_type);
    tcase_add_test(tc, test_prom_render_values);
    tcase_add_test(tc, test_prom_render_vanished_domain);
    tcase_add_test(tc, test_prom_render_conformance);
    tcase_add_test(tc, test_prom_render_series_stay_put);
    suite_add_tcase(s, tc);

    tc = tcase_create("http");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_prom_http_endpoints);
    tcase_add_test(tc, test_prom_http_scrape_outlives_update);
    tcase_add_test(tc, test_prom_http_healthz_stale);
    tcase_add_test(tc, test_prom_http_slow_connections_no_lockout);
    tcase_add_test(tc, test_prom_start_errors);
    tcase_add_test(tc, test_prom_real_prometheus);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(prom_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
