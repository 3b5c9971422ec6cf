/*
 * host.h: everything a scheduling policy may use, and nothing more.
 *
 * Policy code (sched/policies/) is freestanding: besides <stdint.h>,
 * <stdbool.h> and <stddef.h> it sees only this header, so the same file
 * compiles into the Xen hypervisor (sched/xen/) and into the simulator
 * (sched/sim/).  Each host supplies "host_impl.h" on its include path with
 * the lock and timer layouts and the inline primitives below; the functions
 * declared here are defined once per host.
 *
 * Time is an integer count of nanoseconds (Xen's s_time_t) and is always
 * passed in: a policy never reads a clock, so a simulation with the same
 * seed produces the same decisions.
 */
#ifndef XENOS_HOST_H
#define XENOS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t sch_time_t;

#define SCH_NSEC(ns)    ((sch_time_t)(ns))
#define SCH_USEC(us)    ((sch_time_t)(us) * 1000)
#define SCH_MSEC(ms)    ((sch_time_t)(ms) * 1000000)
#define SCH_SEC(s)      ((sch_time_t)(s) * 1000000000)
#define SCH_TIME_MAX    INT64_MAX

/* Negative errno values, as Linux and Xen number them. */
#define SCH_ENOENT      2
#define SCH_ENOMEM      12
#define SCH_EBUSY       16
#define SCH_EINVAL      22
#define SCH_ERANGE      34
#define SCH_EOPNOTSUPP  95

/* ------------------------------------------------------------------ */
/* CPU masks: a fixed bitmap, enough for the hosts xenos targets.      */

#define SCH_MAX_CPUS    256
#define SCH_MASK_WORDS  (SCH_MAX_CPUS / 64)

struct sch_cpumask {
    uint64_t bits[SCH_MASK_WORDS];
};

static inline void sch_cpumask_clear_all(struct sch_cpumask *m)
{
    unsigned int i;

    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        m->bits[i] = 0;
}

static inline void sch_cpumask_set(struct sch_cpumask *m, unsigned int cpu)
{
    m->bits[cpu / 64] |= (uint64_t)1 << (cpu % 64);
}

static inline void sch_cpumask_clear(struct sch_cpumask *m, unsigned int cpu)
{
    m->bits[cpu / 64] &= ~((uint64_t)1 << (cpu % 64));
}

static inline bool sch_cpumask_test(const struct sch_cpumask *m,
                                    unsigned int cpu)
{
    return (m->bits[cpu / 64] >> (cpu % 64)) & 1;
}

static inline bool sch_cpumask_empty(const struct sch_cpumask *m)
{
    unsigned int i;

    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        if ( m->bits[i] )
            return false;
    return true;
}

static inline void sch_cpumask_and(struct sch_cpumask *d,
                                   const struct sch_cpumask *a,
                                   const struct sch_cpumask *b)
{
    unsigned int i;

    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        d->bits[i] = a->bits[i] & b->bits[i];
}

static inline bool sch_cpumask_intersects(const struct sch_cpumask *a,
                                          const struct sch_cpumask *b)
{
    unsigned int i;

    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        if ( a->bits[i] & b->bits[i] )
            return true;
    return false;
}

/*
 * First set bit at or after @from, or SCH_MAX_CPUS if none.  Walking a mask
 * from a rotating start point is how policies spread work without bias.
 */
static inline unsigned int sch_cpumask_next(const struct sch_cpumask *m,
                                            unsigned int from)
{
    unsigned int w = from / 64;
    uint64_t word;

    if ( from >= SCH_MAX_CPUS )
        return SCH_MAX_CPUS;
    word = m->bits[w] & (~(uint64_t)0 << (from % 64));
    for ( ;; )
    {
        if ( word )
            return w * 64 + (unsigned int)__builtin_ctzll(word);
        if ( ++w == SCH_MASK_WORDS )
            return SCH_MAX_CPUS;
        word = m->bits[w];
    }
}

/* Next set bit after @cpu, wrapping round; SCH_MAX_CPUS if the mask is empty. */
static inline unsigned int sch_cpumask_cycle(const struct sch_cpumask *m,
                                             unsigned int cpu)
{
    unsigned int n = sch_cpumask_next(m, cpu + 1);

    return n < SCH_MAX_CPUS ? n : sch_cpumask_next(m, 0);
}

#define sch_for_each_cpu(cpu, m)                                \
    for ( (cpu) = sch_cpumask_next((m), 0); (cpu) < SCH_MAX_CPUS; \
          (cpu) = sch_cpumask_next((m), (cpu) + 1) )

/* ------------------------------------------------------------------ */
/* Intrusive doubly linked lists (Xen's list.h, in a few lines).       */

struct sch_list {
    struct sch_list *next, *prev;
};

static inline void sch_list_init(struct sch_list *l)
{
    l->next = l->prev = l;
}

static inline bool sch_list_empty(const struct sch_list *l)
{
    return l->next == l;
}

static inline void sch__list_link(struct sch_list *n, struct sch_list *prev,
                                  struct sch_list *next)
{
    next->prev = n;
    n->next = next;
    n->prev = prev;
    prev->next = n;
}

/* Insert @n right after @pos (at the head when @pos is the list). */
static inline void sch_list_add(struct sch_list *n, struct sch_list *pos)
{
    sch__list_link(n, pos, pos->next);
}

/* Insert @n right before @pos (at the tail when @pos is the list). */
static inline void sch_list_add_tail(struct sch_list *n, struct sch_list *pos)
{
    sch__list_link(n, pos->prev, pos);
}

/* Unlink @n and leave it empty, so sch_list_empty() tells "not on a list". */
static inline void sch_list_del_init(struct sch_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    sch_list_init(n);
}

#define sch_container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define sch_list_entry(ptr, type, member) sch_container_of(ptr, type, member)

#define sch_list_for_each(pos, head) \
    for ( (pos) = (head)->next; (pos) != (head); (pos) = (pos)->next )

/* Safe against removal of @pos. */
#define sch_list_for_each_safe(pos, n, head)                 \
    for ( (pos) = (head)->next, (n) = (pos)->next; (pos) != (head); \
          (pos) = (n), (n) = (pos)->next )

/* ------------------------------------------------------------------ */
/* Host services.                                                      */

struct sch_sched;

/*
 * Timer callback.  @now is the time the timer fired at, so a callback never
 * needs a clock.  Called with no scheduler lock held.  Mark it SCH_HOOK.
 */
typedef void (*sch_timer_cb)(void *data, sch_time_t now);

struct sch_timer;   /* layout in host_impl.h */

/* Zeroed memory, or NULL when out of memory.  Never called with a lock held
 * that a timer callback could want. */
void *sch_zalloc(const struct sch_sched *s, size_t size);
void sch_free(const struct sch_sched *s, void *p);

/*
 * Per-CPU timers (Xen's init_timer/set_timer/stop_timer/kill_timer).  A
 * timer fires on @cpu.  Setting an active timer moves it; stopping an
 * inactive one is harmless.  kill is stop plus "never again", used before
 * the memory holding the timer is freed.
 */
void sch_timer_init(const struct sch_sched *s, struct sch_timer *t,
                    sch_timer_cb fn, void *data, unsigned int cpu);
void sch_timer_set(struct sch_timer *t, sch_time_t expires);
void sch_timer_stop(struct sch_timer *t);
void sch_timer_kill(struct sch_timer *t);

/*
 * Ask @cpu to run do_schedule soon (Xen: raise SCHEDULE_SOFTIRQ, an IPI when
 * remote).  Kicks coalesce: kicking a CPU twice before it schedules is one
 * reschedule.
 */
void sch_kick(const struct sch_sched *s, unsigned int cpu);

/* printf-style log line (Xen's printk); only %s %d %u %ld %lu %lld %llu %x %%. */
void sch_printk(const struct sch_sched *s, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

/* Called by SCH_ASSERT on a broken invariant; does not return. */
void sch_assert_failed(const char *expr, const char *file, int line)
    __attribute__((__noreturn__));

#define SCH_ASSERT(p) \
    ((p) ? (void)0 : sch_assert_failed(#p, __FILE__, __LINE__))

#define SCH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define sch_likely(x)     __builtin_expect(!!(x), 1)
#define sch_unlikely(x)   __builtin_expect(!!(x), 0)

/*
 * The host's half, "host_impl.h", which each host keeps in a directory of
 * its own and puts on the include path of the policies it builds: nothing
 * in sched/ depends on any one host's layout.  It defines
 * - struct sch_lock and struct sch_timer;
 * - the inline lock primitives sch_spin_lock_init(), sch_spin_lock(),
 *   sch_spin_unlock() and sch_spin_trylock().  A policy initialises every
 *   lock it owns (zeroed memory is not an unlocked lock everywhere: Xen's
 *   spinlocks carry debug state).  Locks are IRQ-safe where the host has
 *   interrupts: a wake can come from an interrupt handler;
 * - SCH_ASSERT_LOCKED(lock): fails unless @lock is held (by this CPU, where
 *   the host can tell).  A policy states with it each lock its caller must
 *   hold, at the entry of every hook run under a schedule lock and of every
 *   helper whose comment says "lock of ... held": so a host that forgets a
 *   lock, or a policy that calls a helper without one, fails a test rather
 *   than races on a real host.  Xen checks it in debug builds only, as its
 *   own ASSERT(spin_is_locked());
 * - optionally SCH_HOOK (below).
 * The hosts: the simulator (sched/sim/), Xen (sched/xen/), bench_decide's
 * (bench/), and sched/null/, which has Xen's layouts with nothing behind
 * them, for the freestanding build.
 */
#include "host_impl.h"

#ifndef SCH_ASSERT_LOCKED
#error "host_impl.h defines no SCH_ASSERT_LOCKED"
#endif

/*
 * SCH_HOOK marks every policy function a host calls through a pointer: the
 * hooks of struct sch_ops and timer callbacks.  It is Xen's cf_check, so
 * with CET-IBT the hypervisor's indirect calls land only on marked
 * functions (they alone start with ENDBR64); nothing in a host without it.
 */
#ifndef SCH_HOOK
#define SCH_HOOK
#endif

#endif /* XENOS_HOST_H */
