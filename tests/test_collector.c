/*
 * test_collector.c: the collector's promise, nothing lost and nothing
 * counted twice, on hand-made samples: baselines, reboots, counters that
 * go back, errors, vanishing domains, crashes between checkpoints, damaged
 * checkpoints and hostile names.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenos/acct.h>
#include <xenos/crc32c.h>

static char dir[] = "/tmp/xenos-collector-XXXXXX";
static char path[256];

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/xenos-collector-XXXXXX")));
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
}

static void teardown(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

struct dom_in {
    const char *uuid;
    uint32_t domid;
    uint64_t cpu_ns;
    int error;
    const char *name;
    bool dying;
};

/* A sample at @t_ns of @n domains, each with 2 vCPUs splitting its CPU. */
static void make_sample(struct acct_sample *s, uint64_t t_ns,
                        const struct dom_in *in, unsigned int n)
{
    unsigned int i;

    acct_sample_reset(s);
    s->time_ns = t_ns;
    for ( i = 0; i < n; i++ )
    {
        struct acct_domain *d = acct_sample_add(s);
        const char *name = in[i].name ? in[i].name : "dom";

        ck_assert_ptr_nonnull(d);
        snprintf(d->uuid, sizeof(d->uuid), "%s", in[i].uuid);
        d->domid = in[i].domid;
        d->name = acct_sample_str(s, name, strlen(name));
        d->cpu_ns = in[i].cpu_ns;
        d->error = in[i].error;
        d->state = in[i].dying ? ACCT_DOM_DYING : ACCT_DOM_RUNNING;
        d->nr_vcpus = d->online_vcpus = 2;
        d->vcpus = acct_sample_array(s, 2, sizeof(*d->vcpus));
        d->vcpus[0].cpu_ns = in[i].cpu_ns / 2;
        d->vcpus[1].cpu_ns = in[i].cpu_ns - in[i].cpu_ns / 2;
        d->mem_cur_bytes = 1 << 30;
        d->nr_vbds = 1;
        d->vbds = acct_sample_array(s, 1, sizeof(*d->vbds));
        d->vbds[0].rd_reqs = in[i].cpu_ns / 1000;
        d->vbds[0].rd_sectors = in[i].cpu_ns / 100;
    }
}

#define U1 "00000000-0000-0000-0000-000000000001"
#define U2 "00000000-0000-0000-0000-000000000002"
#define SEC 1000000000ull

static const char *tenant_by_name(void *ctx, const struct acct_domain *d)
{
    (void)ctx;
    return d->name && !strncmp(d->name, "acme", 4) ? "acme" : NULL;
}

/* What the collector holds, as the daemon and the exporters see it. */
#define SNAP(c) acct_snap((c), &(struct acct_snapshot){ 0 })

static uint64_t total_cpu(struct acct_collector *c, const char *uuid)
{
    const struct acct_dom *d = acct_collector_find(c, uuid);

    ck_assert_ptr_nonnull(d);
    return d->total.cpu_ns;
}

/* The first sample of a fresh start is a baseline; growth then counts. */
START_TEST(test_collector_baseline_then_growth)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a = { U1, 5, 100 * SEC, 0, NULL, false };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 10 * SEC, &a, 1);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(total_cpu(c, U1), 0);
    a.cpu_ns += 3 * SEC;
    make_sample(&s, 15 * SEC, &a, 1);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(total_cpu(c, U1), 3 * SEC);
    ck_assert_uint_eq(acct_collector_find(c, U1)->vcpu_total_ns[0] +
                      acct_collector_find(c, U1)->vcpu_total_ns[1],
                      3 * SEC);
    /* 1 GiB for 5 s */
    ck_assert_uint_eq(acct_collector_find(c, U1)->total.memory_byte_seconds,
                      5ull << 30);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* Each vCPU's CPU time over the last interval, from which xenosd counts
 * the vCPUs that want CPU: none on the baseline, the growth since the
 * last sample after, none for a domain a sample misses; a restart from
 * the checkpoint has none until its first interval, measured from the
 * checkpoint's counters. */
START_TEST(test_collector_vcpu_delta)
{
    struct acct_collector *c;
    struct acct_sample s;
    const struct acct_dom *rec;
    char err[256] = "";
    struct dom_in a[2] = { { U1, 5, 100 * SEC, 0, NULL, false },
                           { U2, 6, 10 * SEC, 0, NULL, false } };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 10 * SEC, a, 2);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    rec = acct_collector_find(c, U1);
    ck_assert_uint_eq(rec->nr_vcpus, 2);
    ck_assert_uint_eq(rec->vcpu_delta_ns[0], 0);
    ck_assert_uint_eq(rec->vcpu_delta_ns[1], 0);

    /* 50 + 50 s, then 51.5 + 51.5 s */
    a[0].cpu_ns += 3 * SEC;
    make_sample(&s, 15 * SEC, a, 2);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    rec = acct_collector_find(c, U1);
    ck_assert_uint_eq(rec->vcpu_delta_ns[0], 3 * SEC / 2);
    ck_assert_uint_eq(rec->vcpu_delta_ns[1], 3 * SEC / 2);
    ck_assert_uint_eq(rec->interval_ns, 5 * SEC);
    ck_assert_uint_eq(acct_collector_find(c, U2)->vcpu_delta_ns[0], 0);

    make_sample(&s, 20 * SEC, &a[1], 1);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    rec = acct_collector_find(c, U1);
    ck_assert_uint_eq(rec->vcpu_delta_ns[0], 0);
    ck_assert_uint_eq(rec->vcpu_delta_ns[1], 0);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);

    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    rec = acct_collector_find(c, U1);
    ck_assert_uint_eq(rec->nr_vcpus, 2);
    ck_assert_uint_eq(rec->vcpu_delta_ns[0], 0);
    ck_assert_uint_eq(rec->vcpu_delta_ns[1], 0);
    a[0].cpu_ns += 1 * SEC;
    make_sample(&s, 25 * SEC, a, 2);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    rec = acct_collector_find(c, U1);
    ck_assert_uint_eq(rec->vcpu_delta_ns[0], SEC / 2);
    ck_assert_uint_eq(rec->vcpu_delta_ns[1], SEC / 2);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A reboot (new domid, counters from zero) counts the new counters; a
 * domain created later counts in full. */
START_TEST(test_collector_reboot_and_new_domain)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a[2] = { { U1, 5, 50 * SEC, 0, NULL, false },
                           { U2, 9, 7 * SEC, 0, NULL, false } };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 10 * SEC, a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    a[0].domid = 6;
    a[0].cpu_ns = 2 * SEC;          /* rebooted, ran 2 s since */
    make_sample(&s, 20 * SEC, a, 2);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 2 * SEC);
    ck_assert_uint_eq(total_cpu(c, U2), 7 * SEC);
    ck_assert_uint_eq(acct_collector_find(c, U1)->resets, 1);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A CPU counter that goes back under the same domid counts nothing, and
 * the nanoseconds it re-reports are not counted twice. */
START_TEST(test_collector_counter_backwards)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a = { U1, 5, 10 * SEC, 0, NULL, false };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 1 * SEC, &a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    a.cpu_ns = 12 * SEC;
    make_sample(&s, 2 * SEC, &a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    a.cpu_ns = 11 * SEC;            /* glitch */
    make_sample(&s, 3 * SEC, &a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 2 * SEC);
    ck_assert_uint_eq(SNAP(c)->errors[ACCT_ERR_COUNTER_BACK], 1);
    a.cpu_ns = 13 * SEC;
    make_sample(&s, 4 * SEC, &a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 3 * SEC);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

#define BOOT_A "aaaaaaaa-0000-4000-8000-000000000001"
#define BOOT_B "bbbbbbbb-0000-4000-8000-000000000002"

/* make_sample with the host's boot id and a creation time per domain. */
static void make_boot_sample(struct acct_sample *s, const char *boot,
                             uint64_t t_ns, const struct dom_in *in,
                             unsigned int n, uint64_t created_ns)
{
    uint32_t i;

    make_sample(s, t_ns, in, n);
    snprintf(s->boot_id, sizeof(s->boot_id), "%s", boot ? boot : "");
    for ( i = 0; i < s->nr_domains; i++ )
        s->domains[i].created_ns = created_ns;
}

/*
 * The host reboots: same uuids, same domids (Xen restarts them at 1),
 * counters from zero, a new boot id.  Each new life is billed from its
 * first sample, in full; the old lives keep what they had; nothing is
 * taken for a counter going back.  Case 0: xenosd lives through it (the
 * sim host restarting under it); case 1: xenosd restarts from its
 * checkpoint too (dom0 rebooted with the host); case 2: as 1, with a
 * backend that gives no boot id (only the host clock going back says it).
 */
START_TEST(test_collector_host_reboot_new_lives)
{
    bool restart = _i >= 1, no_id = _i == 2;
    struct acct_collector *c;
    struct acct_sample s;
    const struct acct_dom *rec;
    char err[256] = "";
    struct dom_in a[2] = { { U1, 1, 100 * SEC, 0, NULL, false },
                           { U2, 2, 40 * SEC, 0, NULL, false } };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_boot_sample(&s, no_id ? NULL : BOOT_A, 500 * SEC, a, 2, 0);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    a[0].cpu_ns += 5 * SEC;
    a[1].cpu_ns += 2 * SEC;
    make_boot_sample(&s, no_id ? NULL : BOOT_A, 505 * SEC, a, 2, 0);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(total_cpu(c, U1), 5 * SEC);
    ck_assert_uint_eq(total_cpu(c, U2), 2 * SEC);
    /* set by xenosd */
    ck_assert_int_eq(acct_collector_set_sched(c, U1, 256, 50), 0);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    if ( restart )
    {
        acct_collector_free(c);
        ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)),
                         0);
    }

    /* The new boot, 20 s in: the lives ran 3 s and 1 s so far. */
    a[0].cpu_ns = 3 * SEC;
    a[1].cpu_ns = 1 * SEC;
    make_boot_sample(&s, no_id ? NULL : BOOT_B, 20 * SEC, a, 2, 0);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(total_cpu(c, U1), 8 * SEC);
    ck_assert_uint_eq(total_cpu(c, U2), 3 * SEC);
    ck_assert_uint_eq(SNAP(c)->errors[ACCT_ERR_COUNTER_BACK], 0);
    ck_assert_uint_eq(SNAP(c)->host_reboots, 1);
    rec = acct_collector_find(c, U1);
    ck_assert_uint_eq(rec->resets, 1);
    ck_assert_uint_eq(rec->delta.cpu_ns, 3 * SEC);
    ck_assert_uint_eq(rec->vcpu_total_ns[0] + rec->vcpu_total_ns[1],
                      8 * SEC);
    /* its memory from the host's boot: 1 GiB for 20 s */
    ck_assert_uint_eq(rec->delta.memory_byte_seconds, 20ull << 30);
    /* the new life has the host's defaults: apply the policy again */
    ck_assert_uint_eq(rec->weight, 0);
    ck_assert_uint_eq(rec->cap_pct, 0);

    /* and from then on, growth as usual, in the new boot */
    a[0].cpu_ns += 2 * SEC;
    make_boot_sample(&s, no_id ? NULL : BOOT_B, 25 * SEC, a, 2, 0);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(total_cpu(c, U1), 10 * SEC);
    ck_assert_uint_eq(SNAP(c)->host_reboots, 1);
    ck_assert_uint_eq(acct_collector_find(c, U1)->resets, 1);

    /* and a restart of xenosd in the new boot counts nothing again */
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(total_cpu(c, U1), 10 * SEC);
    ck_assert_uint_eq(total_cpu(c, U2), 3 * SEC);
    ck_assert_uint_eq(SNAP(c)->host_reboots, 1);
    ck_assert_uint_eq(SNAP(c)->errors[ACCT_ERR_COUNTER_BACK], 0);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* Within one boot (same boot id, the clock going on), a counter that goes
 * back, even to near zero under the same domid and creation time, is a
 * glitch: counter_backwards, nothing counted, never a new life. */
START_TEST(test_collector_backwards_same_boot)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a = { U1, 3, 50 * SEC, 0, NULL, false };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_boot_sample(&s, BOOT_A, 10 * SEC, &a, 1, 2 * SEC);
    acct_collector_update(c, &s, NULL, NULL);
    a.cpu_ns = 52 * SEC;
    make_boot_sample(&s, BOOT_A, 11 * SEC, &a, 1, 2 * SEC);
    acct_collector_update(c, &s, NULL, NULL);
    a.cpu_ns = 1 * SEC;
    make_boot_sample(&s, BOOT_A, 12 * SEC, &a, 1, 2 * SEC);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 2 * SEC);
    ck_assert_uint_eq(SNAP(c)->errors[ACCT_ERR_COUNTER_BACK], 1);
    ck_assert_uint_eq(SNAP(c)->host_reboots, 0);
    ck_assert_uint_eq(acct_collector_find(c, U1)->resets, 0);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/*
 * After a host reboot, a domain that already rebooted in the new boot
 * shows a dying life with a domid below the one tracked from the old
 * boot: it is a life of the new boot, never seen, and counted whole; its
 * successor from zero.  Within one boot, creation times order lives even
 * where domids would not (a toolstack choosing random domids).
 */
START_TEST(test_collector_host_reboot_dying_counted)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a[2] = { { U1, 9, 50 * SEC, 0, NULL, false },
                           { U1, 0, 0, 0, NULL, true } };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_boot_sample(&s, BOOT_A, 100 * SEC, a, 1, 7 * SEC);
    acct_collector_update(c, &s, NULL, NULL);
    /* new boot: domid 1 ran 4 s and died; domid 2 has run 1 s */
    a[0] = (struct dom_in){ U1, 2, 1 * SEC, 0, NULL, false };
    a[1] = (struct dom_in){ U1, 1, 4 * SEC, 0, NULL, true };
    make_boot_sample(&s, BOOT_B, 10 * SEC, a, 2, 0);
    s.domains[0].created_ns = 6 * SEC;
    s.domains[1].created_ns = 1 * SEC;
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 5 * SEC);
    ck_assert_uint_eq(acct_collector_find(c, U1)->domid, 2);

    /* a reboot in this boot to a lower domid: creation time says new */
    a[0] = (struct dom_in){ U1, 1, 0, 0, NULL, true };
    a[0].cpu_ns = 3 * SEC;          /* domid 2 ran 2 s more, then ended */
    a[0].domid = 2;
    a[1] = (struct dom_in){ U1, 1, 1 * SEC, 0, NULL, false };
    make_boot_sample(&s, BOOT_B, 20 * SEC, a, 2, 0);
    s.domains[0].created_ns = 6 * SEC;
    s.domains[1].created_ns = 15 * SEC;
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 8 * SEC);
    ck_assert_uint_eq(SNAP(c)->errors[ACCT_ERR_COUNTER_BACK], 0);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/*
 * A checkpoint written before boot ids (no boot fields) and before the
 * counters were renamed still loads: the
 * boot is not known, nor when each life began.  Case 0: the host did not
 * reboot (its clock went on): the same lives, though the host now gives
 * their creation times, deltas from the checkpoint's counters, nothing
 * counted twice.  Case 1: it did (its clock went back): new lives from
 * zero.
 */
START_TEST(test_collector_old_checkpoint)
{
    static const char old[] =
        "xenos-checkpoint 1\n"
        "collector last_sample_ns=505000000000 intervals=2 e.sample=0 "
        "e.domain=0 e.set_sched=0 e.checkpoint=0 e.counter_backwards=0\n"
        "dom uuid=" U1 " domid=1 present=1 resets=0 seen=505000000000 "
        "mem_rem=0 name=dom tenant=%00 l.cpu_ns=105000000000 "
        "l.vbd_rd_reqs=0 l.vbd_wr_reqs=0 l.vbd_rd_sectors=0 "
        "l.vbd_wr_sectors=0 l.vif_rx_bytes=0 l.vif_tx_bytes=0 "
        "l.vif_rx_pkts=0 l.vif_tx_pkts=0 l.vif_rx_errs=0 l.vif_tx_errs=0 "
        "l.vif_rx_drop=0 l.vif_tx_drop=0 t.cpu_ns=5000000000 "
        "t.mem_byte_s=7 t.vbd_rd_reqs=11 t.vif_rx_drop=3 "
        "vl=52500000000,52500000000 vt=2500000000,2500000000\n"
        "tenant name=- t.cpu_ns=5000000000\n";
    bool rebooted = _i == 1;
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "", end[32];
    struct dom_in a = { U1, 1, 0, 0, NULL, false };
    FILE *f = fopen(path, "w");
    unsigned int crc;

    ck_assert_ptr_nonnull(f);
    fputs(old, f);
    crc = crc32c(0, old, strlen(old));
    snprintf(end, sizeof(end), "end crc32c=%08x\n", crc);
    fputs(end, f);
    ck_assert_int_eq(fclose(f), 0);

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    ck_assert_str_eq(SNAP(c)->boot_id, "");
    ck_assert_uint_eq(total_cpu(c, U1), 5 * SEC);
    /* counters under the names they had then (counters.def: WAS) */
    ck_assert_uint_eq(acct_collector_find(c, U1)->total.memory_byte_seconds,
                      7);
    ck_assert_uint_eq(acct_collector_find(c, U1)->total.vbd_read_ops, 11);
    ck_assert_uint_eq(acct_collector_find(c, U1)->total.vif_rx_drops, 3);
    a.cpu_ns = rebooted ? 3 * SEC : 108 * SEC;
    /* the host now says when each life began: not a new life for that */
    make_boot_sample(&s, BOOT_B, rebooted ? 20 * SEC : 510 * SEC, &a, 1,
                     rebooted ? 1 * SEC : 400 * SEC);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(total_cpu(c, U1), 8 * SEC);
    ck_assert_uint_eq(SNAP(c)->host_reboots, rebooted);
    ck_assert_uint_eq(SNAP(c)->errors[ACCT_ERR_COUNTER_BACK], 0);
    ck_assert_str_eq(SNAP(c)->boot_id, BOOT_B);
    /* the boot id now goes into the checkpoint, and comes back */
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    ck_assert_str_eq(SNAP(c)->boot_id, BOOT_B);
    ck_assert_uint_eq(SNAP(c)->host_reboots, rebooted);
    ck_assert_uint_eq(total_cpu(c, U1), 8 * SEC);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A domain that cannot be read is counted at its next good sample, and
 * does not blank the others. */
START_TEST(test_collector_domain_error_loses_nothing)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a[2] = { { U1, 5, 10 * SEC, 0, NULL, false },
                           { U2, 6, 10 * SEC, 0, NULL, false } };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 1 * SEC, a, 2);
    acct_collector_update(c, &s, NULL, NULL);
    a[0].cpu_ns += SEC;
    a[0].error = -EIO;
    a[1].cpu_ns += SEC;
    make_sample(&s, 2 * SEC, a, 2);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 0);
    ck_assert_uint_eq(total_cpu(c, U2), SEC);
    a[0].cpu_ns += SEC;
    a[0].error = 0;
    make_sample(&s, 3 * SEC, a, 2);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 2 * SEC);
    ck_assert_uint_eq(SNAP(c)->errors[ACCT_ERR_DOMAIN], 1);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* Crash after sampling but before checkpointing: the restarted collector
 * recounts from the checkpoint, once. */
START_TEST(test_collector_crash_between_checkpoints)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a = { U1, 5, 0, 0, "acme-1", false };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 1 * SEC, &a, 1);
    acct_collector_update(c, &s, tenant_by_name, NULL);
    a.cpu_ns = 4 * SEC;
    make_sample(&s, 5 * SEC, &a, 1);
    acct_collector_update(c, &s, tenant_by_name, NULL);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    a.cpu_ns = 6 * SEC;
    make_sample(&s, 7 * SEC, &a, 1);
    acct_collector_update(c, &s, tenant_by_name, NULL);  /* then dies */
    acct_collector_free(c);

    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    ck_assert_uint_eq(total_cpu(c, U1), 4 * SEC);
    a.cpu_ns = 9 * SEC;
    make_sample(&s, 10 * SEC, &a, 1);
    acct_collector_update(c, &s, tenant_by_name, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 9 * SEC);
    ck_assert_uint_eq(acct_collector_find_tenant(c, "acme")->total.cpu_ns,
                      9 * SEC);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* @s's only domain has the scheduler's counters @wait and @thr. */
static void with_contention(struct acct_sample *s, uint64_t wait,
                            uint64_t thr)
{
    s->domains[0].sched_stats = true;
    s->domains[0].wait_ns = wait;
    s->domains[0].throttled_ns = thr;
}

/*
 * Waiting and throttled time: deltas of the host's counters like the
 * CPU's, kept across a crash by the checkpoint (the restart counts from
 * the checkpoint's raw counters, not from zero: no interval twice), and a
 * sample without them (a host that cannot count) grows nothing and marks
 * the domain and its tenant unavailable until they are back.
 */
START_TEST(test_collector_contention_counted_once)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a = { U1, 5, 0, 0, "acme-1", false };
    const struct acct_dom *d;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 1 * SEC, &a, 1);
    with_contention(&s, 50 * SEC, 70 * SEC);    /* since creation */
    acct_collector_update(c, &s, tenant_by_name, NULL);
    a.cpu_ns = 1 * SEC;
    make_sample(&s, 5 * SEC, &a, 1);
    with_contention(&s, 51 * SEC, 72 * SEC);
    acct_collector_update(c, &s, tenant_by_name, NULL);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    a.cpu_ns = 2 * SEC;
    make_sample(&s, 7 * SEC, &a, 1);
    with_contention(&s, 52 * SEC, 73 * SEC);
    acct_collector_update(c, &s, tenant_by_name, NULL);  /* then dies */
    acct_collector_free(c);

    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    a.cpu_ns = 3 * SEC;
    make_sample(&s, 10 * SEC, &a, 1);
    with_contention(&s, 54 * SEC, 75 * SEC);
    acct_collector_update(c, &s, tenant_by_name, NULL);
    d = acct_collector_find(c, U1);
    ck_assert(d->sched_stats);
    ck_assert_uint_eq(d->total.wait_ns, 4 * SEC);
    ck_assert_uint_eq(d->total.throttled_ns, 5 * SEC);
    ck_assert(acct_collector_find_tenant(c, "acme")->sched_stats);
    ck_assert_uint_eq(acct_collector_find_tenant(c, "acme")->total.wait_ns,
                      4 * SEC);

    /* the host stops counting: unavailable, nothing grows... */
    a.cpu_ns = 4 * SEC;
    make_sample(&s, 11 * SEC, &a, 1);
    acct_collector_update(c, &s, tenant_by_name, NULL);
    d = acct_collector_find(c, U1);
    ck_assert(!d->sched_stats);
    ck_assert(!acct_collector_find_tenant(c, "acme")->sched_stats);
    ck_assert_uint_eq(d->delta.wait_ns, 0);
    ck_assert_uint_eq(d->total.wait_ns, 4 * SEC);
    /* ...and counts again from where it was when they come back */
    make_sample(&s, 12 * SEC, &a, 1);
    with_contention(&s, 56 * SEC, 75 * SEC);
    acct_collector_update(c, &s, tenant_by_name, NULL);
    d = acct_collector_find(c, U1);
    ck_assert(d->sched_stats);
    ck_assert_uint_eq(d->total.wait_ns, 6 * SEC);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/*
 * The peak window of an interval, from the hypervisor's histogram: the
 * bound of the highest bucket that grew, against the cap the windows were
 * counted under, at most all vCPUs; none on the baseline, none for an
 * interval in which no window closed, and after a restart from the
 * checkpoint only what grew since it.
 */
START_TEST(test_collector_peak_window)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a = { U1, 5, 0, 0, "acme-1", false };
    uint64_t w[ACCT_NR_WINDOWS] = { 0 };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
#define SAMPLE(t)                                                       \
    do {                                                                \
        make_sample(&s, (t) * SEC, &a, 1);                              \
        with_contention(&s, 0, 0);                                      \
        s.domains[0].sched_cap_pct = 30;                                \
        memcpy(s.domains[0].windows, w, sizeof(w));                     \
        acct_collector_update(c, &s, tenant_by_name, NULL);             \
    } while ( 0 )
    w[ACCT_NR_WINDOWS - 1] = 7;         /* before we looked: not ours */
    SAMPLE(1);
    ck_assert_uint_eq(acct_collector_find(c, U1)->peak_window_pct, 0);
    w[5] += 10;                         /* <= 100% of the cap */
    w[0] += 3;
    SAMPLE(2);
    ck_assert_uint_eq(acct_collector_find(c, U1)->peak_window_pct, 30);
    w[7] += 1;                          /* <= 105%: 31.5, rounded up */
    w[5] += 9;
    SAMPLE(3);
    ck_assert_uint_eq(acct_collector_find(c, U1)->peak_window_pct, 32);
    SAMPLE(4);                          /* no window closed */
    ck_assert_uint_eq(acct_collector_find(c, U1)->peak_window_pct, 0);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);

    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    w[1] += 1;                          /* since the checkpoint: 50% */
    SAMPLE(5);
    ck_assert_uint_eq(acct_collector_find(c, U1)->peak_window_pct, 15);
    w[ACCT_NR_WINDOWS - 1] += 1;        /* above 150%: all vCPUs' 200 */
    w[2] += 10;
    SAMPLE(6);
    ck_assert_uint_eq(acct_collector_find(c, U1)->peak_window_pct, 200);
    ck_assert_uint_eq(acct_window_peak_pct(2, 30, 2), 23);  /* 75% of 30 */
    ck_assert_uint_eq(acct_window_peak_pct(5, 0, 1), 100);
#undef SAMPLE
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/*
 * Windows under a cap and over it, counted from the histogram's growth:
 * a capped domain's windows are capped ones, and those above 102% of the
 * cap (ACCT_WINDOW_OVER_CAP_PCT) are over it; an uncapped domain's
 * (judged against one pCPU) are neither.  They add up per tenant, as
 * counters do, and a restart from the checkpoint neither loses nor
 * recounts them.
 */
START_TEST(test_collector_window_counts)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a[2] = { { U1, 5, 0, 0, "acme-1", false },
                           { U2, 6, 0, 0, "acme-2", false } };
    uint64_t w[2][ACCT_NR_WINDOWS] = { { 0 } };
    uint32_t cap[2] = { 30, 0 };
    const struct acct_tenant *t;
    const struct acct_dom *d1, *d2;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
#define SAMPLE(at)                                                      \
    do {                                                                \
        unsigned int i_;                                                \
        make_sample(&s, (at) * SEC, a, 2);                              \
        for ( i_ = 0; i_ < 2; i_++ )                                    \
        {                                                               \
            s.domains[i_].sched_stats = true;                           \
            s.domains[i_].sched_cap_pct = cap[i_];                      \
            memcpy(s.domains[i_].windows, w[i_], sizeof(w[i_]));        \
        }                                                               \
        ck_assert_int_eq(acct_collector_update(c, &s, tenant_by_name,   \
                                               NULL), 0);               \
        d1 = acct_collector_find(c, U1);                                \
        d2 = acct_collector_find(c, U2);                                \
        t = acct_collector_find_tenant(c, "acme");                      \
    } while ( 0 )
#define CK_WIN(u, capped, over)                                         \
    do {                                                                \
        ck_assert_uint_eq((u).capped_windows, (capped));                \
        ck_assert_uint_eq((u).over_cap_windows, (over));                \
    } while ( 0 )
    w[0][ACCT_NR_WINDOWS - 1] = 50;     /* before we looked: not ours */
    SAMPLE(1);
    CK_WIN(d1->total, 0, 0);
    /* acme-1 at cap 30: 8 at most 100%, 1 at most 102% (held), 1 at most
     * 105% (over); acme-2 uncapped, 10 above one pCPU: not capped */
    w[0][5] += 8;
    w[0][6] += 1;
    w[0][7] += 1;
    w[1][ACCT_NR_WINDOWS - 1] += 10;
    SAMPLE(2);
    CK_WIN(d1->delta, 10, 1);
    CK_WIN(d2->delta, 0, 0);
    CK_WIN(t->delta, 10, 1);
    /* acme-2 capped at 50 now: 8 at most 98%, 2 at most 125% (over);
     * acme-1: 9 at most 100%, 1 above 150% (over) */
    cap[1] = 50;
    w[1][4] += 8;
    w[1][9] += 2;
    w[0][5] += 9;
    w[0][ACCT_NR_WINDOWS - 1] += 1;
    SAMPLE(3);
    CK_WIN(d1->delta, 10, 1);
    CK_WIN(d2->delta, 10, 2);
    CK_WIN(t->delta, 20, 3);
    CK_WIN(t->total, 30, 4);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);

    /* restarted: the checkpoint's totals, and only what grew since */
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    w[1][10] += 1;                      /* at most 150% of 50: over */
    SAMPLE(4);
    CK_WIN(d1->total, 20, 2);
    CK_WIN(d2->total, 11, 3);
    CK_WIN(t->total, 31, 5);
#undef CK_WIN
#undef SAMPLE
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A reboot between samples: the dying life's tail is counted, then its
 * successor from zero, and the dying life seen again (a later sample, or
 * after a restart) is not counted twice. */
START_TEST(test_collector_dying_tail_counted_once)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a[2] = { { U1, 5, 10 * SEC, 0, NULL, false },
                           { U1, 5, 0, 0, NULL, true } };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 1 * SEC, a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    /* ran 3 s more, rebooted, the new life ran 1 s; alive listed first */
    a[0] = (struct dom_in){ U1, 7, 1 * SEC, 0, NULL, false };
    a[1] = (struct dom_in){ U1, 5, 13 * SEC, 0, NULL, true };
    make_sample(&s, 5 * SEC, a, 2);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 4 * SEC);
    ck_assert(acct_collector_find(c, U1)->present);
    a[0].cpu_ns = 2 * SEC;
    make_sample(&s, 6 * SEC, a, 2);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 5 * SEC);
    acct_collector_free(c);

    /* A crash right after the first checkpoint: the restart sees the
     * same dying life and counts the same 5 s, once. */
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 5 * SEC);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A domain destroyed between samples: its tail is counted, and it is
 * no longer present. */
START_TEST(test_collector_destroyed_between_samples)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a = { U1, 5, 10 * SEC, 0, NULL, false };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 1 * SEC, &a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    a.cpu_ns = 12 * SEC;
    a.dying = true;
    make_sample(&s, 2 * SEC, &a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_uint_eq(total_cpu(c, U1), 2 * SEC);
    ck_assert(!acct_collector_find(c, U1)->present);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A vanished domain keeps its totals, and is no longer present. */
START_TEST(test_collector_vanished_domain)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in a[2] = { { U1, 5, 0, 0, NULL, false }, { U2, 6, 0, 0, NULL, false } };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 1 * SEC, a, 2);
    acct_collector_update(c, &s, NULL, NULL);
    a[0].cpu_ns = a[1].cpu_ns = SEC;
    make_sample(&s, 2 * SEC, a, 2);
    acct_collector_update(c, &s, NULL, NULL);
    make_sample(&s, 3 * SEC, &a[1], 1);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert(!acct_collector_find(c, U1)->present);
    ck_assert_uint_eq(total_cpu(c, U1), SEC);
    ck_assert_uint_eq(acct_collector_find_tenant(c, NULL)->total.cpu_ns,
                      2 * SEC);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* Hostile names survive a checkpoint byte for byte. */
START_TEST(test_collector_checkpoint_hostile_names)
{
    static const char *const names[] = {
        "quote\"back\\slash", "new\nline tab\t", "héllo wörld ☃",
        "100%=done", "", "%00",
    };
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    char uuid[ACCT_UUID_LEN + 1];
    unsigned int i;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    acct_sample_reset(&s);
    s.time_ns = SEC;
    for ( i = 0; i < 6; i++ )
    {
        struct acct_domain *d = acct_sample_add(&s);

        snprintf(d->uuid, sizeof(d->uuid),
                 "00000000-0000-0000-0000-0000000000%02u", i);
        d->domid = i + 1;
        d->name = acct_sample_str(&s, names[i], strlen(names[i]));
    }
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    for ( i = 0; i < 6; i++ )
    {
        snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-0000000000%02u",
                 i);
        ck_assert_str_eq(acct_collector_find(c, uuid)->name, names[i]);
    }
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A damaged checkpoint (truncated, a byte flipped, empty) is refused,
 * moved aside, and the collector starts afresh. */
START_TEST(test_collector_damaged_checkpoint)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "", aside[300];
    struct dom_in a = { U1, 5, 10 * SEC, 0, NULL, false };
    FILE *f;
    long len;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, SEC, &a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);

    f = fopen(path, "r+");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    switch ( _i )
    {
    case 0:
        ck_assert_int_eq(ftruncate(fileno(f), len / 2), 0);
        break;
    case 1:
        fseek(f, len / 3, SEEK_SET);
        fputc('#', f);
        break;
    case 2:
        ck_assert_int_eq(ftruncate(fileno(f), 0), 0);
        break;
    }
    fclose(f);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)),
                     -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_uint_eq(SNAP(c)->nr_doms, 0);
    snprintf(aside, sizeof(aside), "%s.corrupt", path);
    ck_assert_int_eq(access(aside, F_OK), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* A dom line that gives name, tenant and vCPU lists twice (the fuzzer's
 * find): the last of each counts, and the first ones' memory is not lost
 * (LeakSanitizer in the sanitizer build failed here). */
START_TEST(test_collector_checkpoint_key_twice)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "", *buf, *dom, *end, *out;
    struct dom_in a = { U1, 5, 10 * SEC, 0, "last", false };
    FILE *f;
    size_t n;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, SEC, &a, 1);
    acct_collector_update(c, &s, NULL, NULL);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);

    buf = calloc(1, 1 << 16);
    out = calloc(1, 1 << 16);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    ck_assert_uint_gt(n, 0);
    dom = strstr(buf, "\ndom ");
    end = strstr(buf, "\nend crc32c=");
    ck_assert(dom && end);
    /* the same file with "name=first tenant=t vl=1 vt=1 " put in front
     * of the dom line's own keys, and its CRC made right again */
    memcpy(out, buf, (size_t)(dom + 5 - buf));
    strcat(out, "name=first tenant=t vl=1,2,3 vt=1,2,3 ");
    strncat(out, dom + 5, (size_t)(end + 1 - (dom + 5)));
    sprintf(out + strlen(out), "end crc32c=%08x\n",
            crc32c(0, out, strlen(out)));
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(out, f);
    fclose(f);

    ck_assert_msg(acct_collector_alloc(&c, path, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_str_eq(acct_collector_find(c, U1)->name, "last");
    ck_assert_ptr_null(acct_collector_find(c, U1)->tenant);
    ck_assert_uint_eq(acct_collector_find(c, U1)->nr_vcpus, 2);
    acct_collector_free(c);
    acct_sample_free(&s);
    free(buf);
    free(out);
}
END_TEST

/*
 * A domain moved to another cpupool (xl cpupool-migrate) keeps its life
 * and counters, counted once across the move, but the new pool's
 * scheduler has its own weight and cap: xenosd must set them again.
 */
START_TEST(test_collector_pool_move)
{
    struct acct_collector *c;
    struct acct_sample s;
    const struct acct_dom *rec;
    char err[256];
    struct dom_in a[1] = { { U1, 1, 100 * SEC, 0, NULL, false } };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    make_sample(&s, 500 * SEC, a, 1);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    a[0].cpu_ns += 4 * SEC;
    make_sample(&s, 505 * SEC, a, 1);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_int_eq(acct_collector_set_sched(c, U1, 128, 0), 0);
    /* the same pool: what xenosd set stands */
    a[0].cpu_ns += 4 * SEC;
    make_sample(&s, 510 * SEC, a, 1);
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(acct_collector_find(c, U1)->weight, 128);
    /* moved to pool 3 */
    a[0].cpu_ns += 3 * SEC;
    make_sample(&s, 515 * SEC, a, 1);
    s.domains[0].sched_group = 3;
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    rec = acct_collector_find(c, U1);
    ck_assert_uint_eq(rec->weight, 0);
    ck_assert_uint_eq(rec->sched_group, 3);
    ck_assert_uint_eq(rec->resets, 0);
    ck_assert_uint_eq(rec->delta.cpu_ns, 3 * SEC);
    ck_assert_uint_eq(total_cpu(c, U1), 11 * SEC);
    ck_assert_int_eq(acct_collector_set_sched(c, U1, 128, 0), 0);
    a[0].cpu_ns += 2 * SEC;
    make_sample(&s, 520 * SEC, a, 1);
    s.domains[0].sched_group = 3;
    ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
    ck_assert_uint_eq(acct_collector_find(c, U1)->weight, 128);
    ck_assert_uint_eq(total_cpu(c, U1), 13 * SEC);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/*
 * A move to another cpupool gives the domain a new scheduler instance,
 * whose contention counters and window histogram start again at zero
 * (sched/xen/adapter.c): what it waits and is throttled there counts from
 * the move, not only once it has passed the old pool's totals, and its
 * windows there show in the peak.
 */
START_TEST(test_collector_pool_move_contention)
{
    struct acct_collector *c;
    struct acct_sample s;
    const struct acct_dom *d;
    char err[256];
    struct dom_in a = { U1, 5, 0, 0, "acme-1", false };
    uint64_t w[ACCT_NR_WINDOWS] = { 0 };

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
#define SAMPLE(t, group, wait, thr)                                     \
    do {                                                                \
        make_sample(&s, (t) * SEC, &a, 1);                              \
        with_contention(&s, (wait) * SEC, (thr) * SEC);                 \
        s.domains[0].sched_group = (group);                             \
        s.domains[0].sched_cap_pct = 30;                                \
        memcpy(s.domains[0].windows, w, sizeof(w));                     \
        ck_assert_int_eq(acct_collector_update(c, &s, tenant_by_name,   \
                                               NULL), 0);               \
    } while ( 0 )
    w[5] = 50;
    SAMPLE(1, 1, 10, 20);
    SAMPLE(5, 1, 12, 21);
    d = acct_collector_find(c, U1);
    ck_assert_uint_eq(d->total.wait_ns, 2 * SEC);
    ck_assert_uint_eq(d->total.throttled_ns, 1 * SEC);
    /* moved to pool 2: its counters there began at the move */
    w[5] = 2;
    SAMPLE(10, 2, 3, 0);
    d = acct_collector_find(c, U1);
    ck_assert_uint_eq(d->delta.wait_ns, 3 * SEC);
    ck_assert_uint_eq(d->total.wait_ns, 5 * SEC);
    ck_assert_uint_eq(d->total.throttled_ns, 1 * SEC);
    ck_assert_uint_eq(d->peak_window_pct, 30);
    SAMPLE(15, 2, 4, 1);
    d = acct_collector_find(c, U1);
    ck_assert_uint_eq(d->total.wait_ns, 6 * SEC);
    ck_assert_uint_eq(d->total.throttled_ns, 2 * SEC);
    ck_assert_uint_eq(acct_collector_find_tenant(c, "acme")->total.wait_ns,
                      6 * SEC);
#undef SAMPLE
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

static Suite *collector_suite(void)
{
    Suite *s = suite_create("collector");
    TCase *tc = tcase_create("usage");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_collector_baseline_then_growth);
    tcase_add_test(tc, test_collector_vcpu_delta);
    tcase_add_test(tc, test_collector_reboot_and_new_domain);
    tcase_add_test(tc, test_collector_counter_backwards);
    tcase_add_loop_test(tc, test_collector_host_reboot_new_lives, 0, 3);
    tcase_add_test(tc, test_collector_backwards_same_boot);
    tcase_add_test(tc, test_collector_host_reboot_dying_counted);
    tcase_add_loop_test(tc, test_collector_old_checkpoint, 0, 2);
    tcase_add_test(tc, test_collector_domain_error_loses_nothing);
    tcase_add_test(tc, test_collector_crash_between_checkpoints);
    tcase_add_test(tc, test_collector_contention_counted_once);
    tcase_add_test(tc, test_collector_peak_window);
    tcase_add_test(tc, test_collector_window_counts);
    tcase_add_test(tc, test_collector_vanished_domain);
    tcase_add_test(tc, test_collector_dying_tail_counted_once);
    tcase_add_test(tc, test_collector_destroyed_between_samples);
    tcase_add_test(tc, test_collector_checkpoint_hostile_names);
    tcase_add_loop_test(tc, test_collector_damaged_checkpoint, 0, 3);
    tcase_add_test(tc, test_collector_checkpoint_key_twice);
    tcase_add_test(tc, test_collector_pool_move);
    tcase_add_test(tc, test_collector_pool_move_contention);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(collector_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
