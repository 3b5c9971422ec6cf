/*
 * tpol.h: tenant policy: which domains belong to which tenant, and the
 * engine that turns each tenant's CPU weight and cap into per-domain
 * weights and caps every interval.
 *
 * A policy is a YAML file (docs/tenant-policy.md):
 *
 *     defaults: {weight: 256, cap_pct: 0}
 *     tenants:
 *       - name: acme
 *         weight: 512
 *         cap_pct: 100
 *         match: {names: ["acme-*"], uuids: ["6f1c..."], key: acme}
 *
 * A domain belongs to the first tenant, in file order, that lists its
 * uuid; failing that, to the first whose key equals the host's tenant key
 * for it (xenstore vm-data/tenant); failing that, to the first with a
 * name glob that matches its name.  Otherwise it is unassigned (shown as
 * TPOL_UNASSIGNED_NAME) and gets the defaults.
 *
 * A loaded policy is immutable: every function taking a const struct tpol
 * may be called from several threads at once.  A reload (SIGHUP) loads a
 * new object and swaps it in only when the load succeeded.
 */
#ifndef XENOS_TPOL_H
#define XENOS_TPOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tpol;

#define TPOL_UNASSIGNED         (-1)
#define TPOL_UNASSIGNED_NAME    "-"     /* how displays show "no tenant" */

#define TPOL_WEIGHT_MIN         1
#define TPOL_WEIGHT_MAX         65535
#define TPOL_WEIGHT_DEFAULT     256
#define TPOL_CAP_PCT_MAX        (100 * 1024)    /* 1024 pCPUs */

/*
 * A vCPU "wants CPU" (is active) over an interval when it ran at least
 * this percentage of it (tpol_count_active).  Far above what an idle
 * guest's vCPU uses (timer ticks: well under 0.5%), far below what a
 * busy vCPU gets unless the host runs some 50 busy vCPUs of equal weight
 * per pCPU.  docs/tenant-policy.md says why 2 and why the count does not
 * feed back on itself.
 */
#define TPOL_ACTIVE_PCT         2

/* A tenant as the policy file sets it. */
struct tpol_tenant {
    const char *name;                   /* unique, non-empty, not "-" */
    uint32_t weight;                    /* the tenant's as a whole */
    uint32_t cap_pct;                   /* the tenant's, 0 = none */
};

/* One domain, as tpol_apply() needs it. */
struct tpol_input {
    const char *uuid;                   /* any case; NULL: none */
    const char *name;                   /* untrusted; NULL: none */
    const char *tenant_key;             /* host's tenant key; NULL: none */
    uint32_t online_vcpus;              /* 0 is taken as 1 */
    /*
     * vCPUs that wanted CPU over the last interval (tpol_count_active);
     * more than online_vcpus is taken as online_vcpus.  With nothing
     * measured yet (a first sample), pass online_vcpus: the engine then
     * assumes all want CPU, which never makes a tenant weigh more than
     * its weight.
     */
    uint32_t active_vcpus;
    double demand_pct;                  /* CPU used last interval, percent
                                         * of one pCPU; NaN or < 0 is 0 */
    uint32_t cap_pct_now;               /* cap in force now, 0 = none */
};

/*
 * How many of the @n vCPUs whose CPU time over an interval of
 * @interval_ns is in @vcpu_ns[] wanted CPU in it: ran at least
 * TPOL_ACTIVE_PCT percent of @interval_ns.  0 when @interval_ns is 0
 * (nothing measured: see tpol_input.active_vcpus).
 */
uint32_t tpol_count_active(const uint64_t *vcpu_ns, uint32_t n,
                           uint64_t interval_ns);

/* What tpol_apply() decided for one domain. */
struct tpol_output {
    int tenant;                         /* index, or TPOL_UNASSIGNED */
    const char *tenant_name;            /* in the policy; NULL: unassigned */
    uint32_t weight;                    /* 1..65535, per vCPU */
    uint32_t cap_pct;                   /* 0 = none */
    /*
     * The tenant has more domains than its cap has percent, so each got
     * a cap of 1 (the least a cap can be without meaning "none") and
     * together they may exceed the tenant's cap.  Worth a log line.
     */
    bool cap_over;
};

/*
 * Load the policy file @path.  Returns 0 and sets *@out to a new policy
 * the caller owns (tpol_free).  On error returns a negative errno, leaves
 * *@out untouched, allocates nothing, and writes one line to @err (cut
 * short if @errlen is small; @err may be NULL when @errlen is 0):
 *   -ENOENT, -EACCES, ...  "FILE: cannot read: <strerror>"
 *   -EINVAL                "FILE:LINE: FIELD: reason" (syntax, unknown or
 *                          missing keys, bad numbers, duplicate tenant
 *                          names, a tenant without a match rule, a bad
 *                          uuid or glob) or "FILE: empty file, ..."
 *   -ENOMEM                "FILE: out of memory"
 * So a reload can keep the old policy on any error: nothing changes
 * until the caller swaps the pointers.
 */
int tpol_load(const char *path, struct tpol **out, char *err,
              size_t errlen);

/* Free a policy from tpol_load().  @p may be NULL.  Names returned by the
 * functions below point into @p and die with it. */
void tpol_free(struct tpol *p);

/* Number of tenants, in file order: indexes 0..n-1. */
unsigned int tpol_nr_tenants(const struct tpol *p);

/* Tenant @idx (< tpol_nr_tenants()), owned by @p; NULL if out of range. */
const struct tpol_tenant *tpol_tenant(const struct tpol *p,
                                      unsigned int idx);

/* The weight and cap unassigned domains get (defaults:). */
void tpol_defaults(const struct tpol *p, uint32_t *weight,
                   uint32_t *cap_pct);

/*
 * The index of the tenant a domain with @uuid (any case), host tenant key
 * @key and @name belongs to, or TPOL_UNASSIGNED.  Each of the three may
 * be NULL (it then matches nothing).  Names are compared byte for byte,
 * globs character by character in UTF-8 whatever the locale.
 */
int tpol_match(const struct tpol *p, const char *uuid, const char *key,
               const char *name);

/*
 * The name of the tenant a domain with @uuid, host tenant key @key and
 * @name belongs to (tpol_match), owned by @p, or NULL when it is
 * unassigned.
 */
const char *tpol_tenant_of(const struct tpol *p, const char *uuid,
                           const char *key, const char *name);

/*
 * The engine: one call per interval with every domain of the host.  For
 * each @in[i] writes @out[i]: its tenant, and the weight and cap to set.
 *
 *   - Unassigned domains get the defaults as they are.
 *   - A domain's weight counts once per vCPU that wants CPU, as in Xen's
 *     credit and credit2 and every xenos scheduler.  So every domain of
 *     a tenant of weight W gets the same weight, W / A, A the tenant's
 *     active vCPUs (its online ones when none is active): the tenant
 *     weighs W whatever the sizes of its domains.  Rounded so that the
 *     tenant's active vCPUs add up to exactly W where the domain sizes
 *     allow, else within half the vCPUs of its largest active domain;
 *     each weight within 1 of W / A, and at least 1 (so a tenant with
 *     more active vCPUs than W weighs its number of active vCPUs).
 *   - A tenant's cap C (when not 0) is split by recent demand: every
 *     domain gets at least a small floor (never 0, which means "no
 *     cap"), a domain using nearly all of its current cap is taken to
 *     want more, and the caps add up to at most C, unless the tenant has
 *     more domains than C (see cap_over).  A busy domain next to idle
 *     ones gets nearly all of C within an interval or two.
 *   - An uncapped tenant's domains get cap 0.
 * docs/tenant-policy.md gives the algorithm and its constants.
 *
 * Deterministic: the same policy and input give the same output.  Domains
 * of a tenant are taken in input order where order matters (rounding).
 * Returns 0; -EINVAL if @p, @in or @out is NULL while @n > 0, or @n is
 * beyond what the engine counts (UINT32_MAX); -ENOMEM (@out then
 * undefined).  Allocates scratch space per call, frees it before return.
 */
int tpol_apply(const struct tpol *p, const struct tpol_input *in, size_t n,
               struct tpol_output *out);

#endif /* XENOS_TPOL_H */
