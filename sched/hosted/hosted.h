/*
 * hosted.h: for implementers of a host in user space (the simulator,
 * bench_decide's host), included by their host_impl.h.  What such a host
 * shares: a lock for a host that runs the policy on one thread, and the
 * services of hosted.c (the C heap, stderr, abort).
 *
 * On one thread a lock cannot be contended, so it is a flag: taking a lock
 * twice, releasing one not held, and a policy that finds a lock its caller
 * should hold free (SCH_ASSERT_LOCKED) all fail an assertion, which a test
 * catches; Xen would deadlock or race instead.
 */
#ifndef XENOS_HOSTED_H
#define XENOS_HOSTED_H

struct sch_lock {
    bool held;
};

static inline void sch_spin_lock_init(struct sch_lock *l)
{
    l->held = false;
}

static inline void sch_spin_lock(struct sch_lock *l)
{
    SCH_ASSERT(!l->held);
    l->held = true;
}

static inline bool sch_spin_trylock(struct sch_lock *l)
{
    if ( l->held )
        return false;
    l->held = true;
    return true;
}

static inline void sch_spin_unlock(struct sch_lock *l)
{
    SCH_ASSERT(l->held);
    l->held = false;
}

/* A host may define its own first (bench/host_impl.h compiles it out). */
#ifndef SCH_ASSERT_LOCKED
#define SCH_ASSERT_LOCKED(l) SCH_ASSERT((l)->held)
#endif

#endif /* XENOS_HOSTED_H */
