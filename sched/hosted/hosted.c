/*
 * hosted.c: the host services (xenos/host.h) that every user-space host
 * implements alike: memory from the C heap, a unit's move as a field
 * store, and a broken assertion on stderr.  Built into each such host's
 * policy library (xenos_sched_host() in sched/CMakeLists.txt); timers,
 * kicks and the log are the host's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/sched.h>

/* Xen's xzalloc_bytes gives cache-line aligned memory: a policy's per-unit
 * data then starts a line, and what it packs into one line stays in one,
 * in user space too. */
#define HOSTED_CACHE_LINE 64

void *sch_zalloc(const struct sch_sched *s, size_t size)
{
    size_t n = (size + HOSTED_CACHE_LINE - 1) &
               ~(size_t)(HOSTED_CACHE_LINE - 1);
    void *p;

    (void)s;
    p = aligned_alloc(HOSTED_CACHE_LINE, n ? n : HOSTED_CACHE_LINE);
    if ( p )
        memset(p, 0, n);
    return p;
}

void sch_free(const struct sch_sched *s, void *p)
{
    (void)s;
    free(p);
}

/* No hypervisor to tell: the unit's lock is found through u->res. */
void sch_unit_set_res(struct sch_unit *u, unsigned int cpu)
{
    u->res = cpu;
}

void sch_assert_failed(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}
