/*
 * host_impl.h: the Xen hypervisor's half of host.h.
 *
 * A policy's locks are Xen spinlocks taken with interrupts off: Xen may
 * wake a vCPU from an interrupt handler (an event arrives), and that wake
 * takes scheduler locks, so a lock held with interrupts on could deadlock
 * against its own CPU.  The holder keeps the saved interrupt state in the
 * lock itself: only the holder touches it, and it keeps the host API to a
 * plain lock/unlock pair.
 *
 * A pCPU's schedule lock (sch_resource.lock) is the same structure with
 * @xl pointing at Xen's lock for that pCPU, the one Xen takes before
 * calling a hook, so a policy and Xen's core exclude each other.
 */
#ifndef XENOS_XEN_HOST_IMPL_H
#define XENOS_XEN_HOST_IMPL_H

#include <xen/lib.h>
#include <xen/spinlock.h>
#include <xen/timer.h>
#include <asm/system.h>

struct sch_lock {
    spinlock_t *xl;             /* the lock taken: &own or a schedule lock */
    spinlock_t own;
    unsigned long flags;        /* the holder's saved interrupt state */
};

static inline void sch_spin_lock_init(struct sch_lock *l)
{
    spin_lock_init(&l->own);
    l->xl = &l->own;
}

static inline void sch_spin_lock(struct sch_lock *l)
{
    unsigned long flags;

    spin_lock_irqsave(l->xl, flags);
    l->flags = flags;
}

static inline bool sch_spin_trylock(struct sch_lock *l)
{
    unsigned long flags;

    local_irq_save(flags);
    if ( !spin_trylock(l->xl) )
    {
        local_irq_restore(flags);
        return false;
    }
    l->flags = flags;
    return true;
}

static inline void sch_spin_unlock(struct sch_lock *l)
{
    spin_unlock_irqrestore(l->xl, l->flags);
}

/*
 * As Xen's own schedulers check their locks: ASSERT, so in a debug build
 * only, and spin_is_locked(), which tells "held" from "free", not "held
 * by this CPU" (but for recursive locks).
 */
#define SCH_ASSERT_LOCKED(l) ASSERT(spin_is_locked((l)->xl))

/*
 * A policy's hooks and timer callbacks are called through pointers (by
 * this adapter and by xs_timer_fn): with CET-IBT (CONFIG_XEN_IBT) such a
 * call must land on a cf_check function, the only ones given an ENDBR64.
 */
#define SCH_HOOK cf_check

/* Xen's timers call fn(data); ours also pass the time they fired at. */
struct sch_timer {
    struct timer t;
    sch_timer_cb fn;
    void *data;
};

#endif /* XENOS_XEN_HOST_IMPL_H */
