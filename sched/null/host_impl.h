/*
 * host_impl.h (null): a host with Xen's layouts and nothing behind them,
 * for the freestanding build of the policies (sched/CMakeLists.txt), which
 * must see a lock and a timer as the hypervisor lays them out, not as the
 * simulator does: a policy that fits a runqueue or a unit into cache lines
 * fits them around these.  Never linked: the lock calls are left
 * undefined, as Xen's out-of-line _spin_lock_irqsave() and friends, and
 * check-freestanding accepts them as host services (sch_*).
 *
 * The stand-ins have the size and alignment of Xen 4.17's (x86-64):
 * spinlock_t is a 32-bit ticket pair, a 16-bit recursion word and the
 * 16-bit lock debug word; struct timer is expiry, a two-pointer list
 * link, function, data, a 16-bit CPU and an 8-bit status.  struct sch_lock
 * and struct sch_timer are then laid out as sched/xen/host_impl.h lays
 * them out.
 */
#ifndef XENOS_NULL_HOST_IMPL_H
#define XENOS_NULL_HOST_IMPL_H

struct sch_null_spinlock {
    uint32_t tickets;
    uint16_t recurse;
    uint16_t debug;
};

struct sch_null_xen_timer {
    int64_t expires;
    void *link[2];
    void (*function)(void *);
    void *data;
    uint16_t cpu;
    uint8_t status;
};

struct sch_lock {
    struct sch_null_spinlock *xl;
    struct sch_null_spinlock own;
    unsigned long flags;
};

struct sch_timer {
    struct sch_null_xen_timer t;
    sch_timer_cb fn;
    void *data;
};

void sch_null_spin_lock_init(struct sch_null_spinlock *l);
unsigned long sch_null_spin_lock_irqsave(struct sch_null_spinlock *l);
bool sch_null_spin_trylock_irqsave(struct sch_null_spinlock *l,
                                   unsigned long *flags);
void sch_null_spin_unlock_irqrestore(struct sch_null_spinlock *l,
                                     unsigned long flags);
bool sch_null_spin_is_locked(const struct sch_null_spinlock *l);

static inline void sch_spin_lock_init(struct sch_lock *l)
{
    sch_null_spin_lock_init(&l->own);
    l->xl = &l->own;
}

static inline void sch_spin_lock(struct sch_lock *l)
{
    l->flags = sch_null_spin_lock_irqsave(l->xl);
}

static inline bool sch_spin_trylock(struct sch_lock *l)
{
    unsigned long flags;

    if ( !sch_null_spin_trylock_irqsave(l->xl, &flags) )
        return false;
    l->flags = flags;
    return true;
}

static inline void sch_spin_unlock(struct sch_lock *l)
{
    sch_null_spin_unlock_irqrestore(l->xl, l->flags);
}

#define SCH_ASSERT_LOCKED(l) SCH_ASSERT(sch_null_spin_is_locked((l)->xl))

#endif /* XENOS_NULL_HOST_IMPL_H */
