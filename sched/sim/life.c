/*
 * life.c: the simulated domains' lifecycle and re-pins, the events that
 * change which domains and vCPUs the policy has and where they may run.
 *
 * Lifecycle: a domain's creation, reboots and end (migration or
 * destruction) are SIM_K_LIFE events of its own.  Domains created at time
 * 0 are set up by sim_alloc itself (setup.c), hook by hook in the order
 * the engine has always used, so a scenario without lifecycle keys runs
 * exactly as it did before they existed.  Destroying a domain plays Xen's
 * part: its vCPUs are paused (sleep), each one still on a pCPU is switched
 * out there and then (do_schedule, context_saved), and only then are they
 * removed and their policy data freed.  The host-side counters (I/O,
 * network) are derived from the workloads, so they are as deterministic
 * as the rest.
 *
 * Re-pins: the domains' run-time affinity changes, sorted by time, are
 * served by one SIM_K_PIN event, queued only if there are any.  A vCPU
 * whose pCPU is no longer allowed is moved as Xen moves it (vcpu_migrate),
 * which is the one path on which the host calls pick_resource and
 * migrate.
 *
 * A new incarnation's vCPUs take their workload's first step in sim.c
 * (sim__dom_start), with the workloads.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "evq.h"

/* ------------------------------------------------------------------ */
/* Domain lifecycle                                                   */

/* The hard affinity in force for @d's uuid: the last re-pin's, if any. */
static const struct sch_cpumask *dom_affinity(const struct sim_dom *d)
{
    return d->pin_last < 0 ? &d->spec->affinity
                           : &d->spec->repin[d->pin_last].affinity;
}

/*
 * Policy data for a new incarnation of @d with the next domid, its vCPUs
 * placed round robin over the pCPUs they may use, as Xen places new
 * vCPUs.  On failure (-ENOMEM) nothing of the incarnation is left and no
 * domid is used up.
 */
int sim__dom_alloc(struct sim *sim, struct sim_dom *d)
{
    const struct sch_ops *ops = sim->s.ops;
    const struct sim_domain_spec *spec = d->spec;
    unsigned int j;

    d->dom.id = sim->next_domid;
    /* Counters per incarnation, as Xen's are per domain. */
    sch_stats_dom_init(&d->dom, sim->now);
    if ( ops->alloc_domdata &&
         !(d->dom.priv = ops->alloc_domdata(&sim->s, &d->dom)) )
        return -ENOMEM;
    for ( j = 0; j < spec->vcpus; j++ )
    {
        struct sch_unit *u = &d->vcpus[j].unit;
        struct sch_cpumask aff;

        sch_cpumask_and(&aff, dom_affinity(d), &sim->s.cpus);
        u->hard_affinity = aff;
        u->soft_affinity = aff;
        sim->next_cpu = sch_cpumask_cycle(&aff, sim->next_cpu);
        u->res = sim->next_cpu;
        if ( ops->alloc_udata &&
             !(u->priv = ops->alloc_udata(&sim->s, u, d->dom.priv)) )
            goto out_free;
    }
    sim->next_domid++;
    return 0;

 out_free:
    while ( j-- > 0 )
    {
        if ( ops->free_udata )
            ops->free_udata(&sim->s, d->vcpus[j].unit.priv);
        d->vcpus[j].unit.priv = NULL;
    }
    if ( d->dom.priv && ops->free_domdata )
        ops->free_domdata(&sim->s, d->dom.priv);
    d->dom.priv = NULL;
    return -ENOMEM;
}

/* The weight and cap in force for @d's uuid, to the policy: 0 or
 * -EINVAL if it refuses them. */
int sim__dom_adjust(struct sim *sim, struct sim_dom *d)
{
    const struct sch_ops *ops = sim->s.ops;
    struct sch_dom_params p = {
        .cmd = SCH_PARAM_PUT,
        .weight = d->weight,
        .cap_pct = d->cap_pct,
    };

    if ( !ops->adjust )
        return 0;       /* e.g. rr: weight and cap mean nothing to it */
    return ops->adjust(&sim->s, &d->dom, &p, sim->now) ? -EINVAL : 0;
}
static void dom_create(struct sim *sim, struct sim_dom *d)
{
    int rc = sim__dom_alloc(sim, d);

    if ( rc )
    {
        /* A host out of memory fails the domain, not itself. */
        fprintf(sim->log, "sim: domain %u not created at %lld ns: %s\n",
                (unsigned int)(d - sim->doms), (long long)sim->now,
                strerror(-rc));
        d->life = SIM_LIFE_GONE;
        return;
    }
    if ( sim__dom_adjust(sim, d) )
        fprintf(sim->log, "sim: policy %s rejects weight %u cap %u of "
                "domain %u: it keeps the policy's defaults\n",
                sim->s.ops->opt_name, d->weight, d->cap_pct,
                (unsigned int)(d - sim->doms));
    sim__dom_start(sim, d);
}

/* The pCPU running @u, which must be running. */
static unsigned int running_cpu(struct sim *sim, const struct sch_unit *u)
{
    unsigned int cpu;

    for ( cpu = 0; cpu < sim->s.nr_cpus; cpu++ )
        if ( sim->res[cpu].curr == u )
            return cpu;
    SCH_ASSERT(0);
    return 0;
}

/*
 * End @d's incarnation now (@how: reboot, migrate, destroy), as Xen
 * destroys a domain: every vCPU paused first (so none is picked again),
 * each one on a pCPU switched out by a decision of its pCPU, then all
 * removed from the policy and the policy's data freed.  Its time is
 * charged up to now, so the incarnation's counters are final.
 */
static void dom_destroy(struct sim *sim, struct sim_dom *d,
                        enum sim_dom_end how)
{
    const struct sch_ops *ops = sim->s.ops;
    unsigned int j, n = d->spec->vcpus;

    if ( d->life != SIM_LIFE_ALIVE )
        return;
    for ( j = 0; j < n; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];

        sim__ev_cancel(sim, &v->wall);
        if ( v->unit.runnable )
        {
            struct sch_lock *lock = sim__unit_lock(sim, &v->unit);

            v->unit.runnable = false;
            sch_spin_lock(lock);
            if ( ops->sleep )
                ops->sleep(&sim->s, &v->unit, sim->now);
            sch_stats_sync(&sim->s, &v->unit, sim->now);
            sch_spin_unlock(lock);
        }
    }
    for ( j = 0; j < n; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];

        if ( v->unit.is_running )
            sim__on_cpu(sim, running_cpu(sim, &v->unit));
        SCH_ASSERT(!v->unit.is_running);
        sim__ev_cancel(sim, &v->work);
    }
    for ( j = 0; j < n; j++ )
    {
        struct sch_unit *u = &d->vcpus[j].unit;
        struct sch_lock *lock = sim__unit_lock(sim, u);

        if ( ops->remove_unit )
        {
            sch_spin_lock(lock);
            ops->remove_unit(&sim->s, u);
            sch_spin_unlock(lock);
        }
        if ( ops->free_udata )
            ops->free_udata(&sim->s, u->priv);
        u->priv = NULL;
    }
    if ( ops->free_domdata && d->dom.priv )
        ops->free_domdata(&sim->s, d->dom.priv);
    d->dom.priv = NULL;

    SCH_ASSERT(d->nr_inc > 0);
    d->inc[d->nr_inc - 1].ended_ns = sim->now;
    d->inc[d->nr_inc - 1].end = how;
    d->inc[d->nr_inc - 1].cpu_ns = (uint64_t)(d->cpu_ns - d->boot_cpu_ns);
    d->inc[d->nr_inc - 1].vbd = sim__dom_vbd(d);
    d->inc[d->nr_inc - 1].vif = d->vif;
    d->life = SIM_LIFE_GONE;
}

/* Queue @d's next lifecycle step, if it has one. */
void sim__life_next(struct sim *sim, struct sim_dom *d)
{
    const struct sim_domain_spec *spec = d->spec;
    sch_time_t t;

    if ( d->step == 0 )
        t = spec->start_ns;
    else if ( d->step <= spec->nr_reboots )
        t = spec->reboot_ns[d->step - 1];
    else if ( d->step == spec->nr_reboots + 1 && spec->end != SIM_END_NONE )
        t = spec->end_ns;
    else
        return;
    /* A spec built in C may have its times out of order: never go back. */
    sim__ev_set(sim, &d->ev, t > sim->now ? t : sim->now);
}

/* SIM_K_LIFE: @d's next step is due. */
void sim__on_life(struct sim *sim, struct sim_dom *d)
{
    const struct sim_domain_spec *spec = d->spec;
    unsigned int step = d->step++;

    if ( step == 0 )
        dom_create(sim, d);
    else if ( step <= spec->nr_reboots )
    {
        dom_destroy(sim, d, SIM_END_REBOOT);
        dom_create(sim, d);
    }
    else
        dom_destroy(sim, d, spec->end);
    if ( d->life == SIM_LIFE_ALIVE )
        sim__life_next(sim, d);
}

/* ------------------------------------------------------------------ */
/* Re-pinning                                                         */

/*
 * @v's hard affinity no longer holds its pCPU: move it as Xen's
 * vcpu_set_affinity() does.  migrate_start: Xen marks the vCPU migrating,
 * which makes it not runnable; here runnable is cleared for as long, so
 * the policy is told it sleeps and cannot pick it again (sim__on_cpu
 * asserts that every pick is runnable).  One still on a pCPU is switched out
 * there by a decision of that pCPU (the kick the sleep hook must make,
 * taken at once, as dom_destroy does), and context_saved runs.
 * migrate_finish: with the old pCPU's lock held the policy picks the new
 * one; with both locks held the unit moves (the migrate hook, or the host
 * sets res); then, if it was runnable, it wakes there.  All of it happens
 * at one instant, so no workload event can come in between, and time is
 * charged by sim__on_cpu as for any switch: the move itself costs
 * nothing.
 */
static void vcpu_migrate(struct sim *sim, struct sim_vcpu *v)
{
    const struct sch_ops *ops = sim->s.ops;
    struct sch_unit *u = &v->unit;
    bool was_runnable = u->runnable;
    unsigned int old, cpu;

    if ( was_runnable )
    {
        struct sch_lock *lock = sim__unit_lock(sim, u);

        u->runnable = false;
        sch_spin_lock(lock);
        if ( ops->sleep )
            ops->sleep(&sim->s, u, sim->now);
        sch_stats_sync(&sim->s, u, sim->now);
        sch_spin_unlock(lock);
    }
    if ( u->is_running )
    {
        const struct sim_event *kick;

        cpu = running_cpu(sim, u);
        kick = &sim->cpus[cpu].ev;
        /* The sleep contract (or vcpu_block, if it blocked just now): in
         * Xen nothing else would ever take it off its pCPU. */
        SCH_ASSERT(kick->pos != SIM_EV_IDLE && kick->time <= sim->now);
        sim__on_cpu(sim, cpu);
        SCH_ASSERT(!u->is_running);
    }

    old = u->res;
    sch_spin_lock(sim->res[old].lock);
    cpu = ops->pick_resource(&sim->s, u);
    SCH_ASSERT(cpu < sim->s.nr_cpus && sch_cpumask_test(&sim->s.cpus, cpu) &&
               sch_cpumask_test(&u->hard_affinity, cpu));
    /* pCPUs may share a lock (pcpu_lock): take it once. */
    if ( sim->res[cpu].lock != sim->res[old].lock )
        sch_spin_lock(sim->res[cpu].lock);
    if ( ops->migrate )
        ops->migrate(&sim->s, u, cpu);
    else
        sch_unit_set_res(u, cpu);
    SCH_ASSERT(u->res == cpu);
    if ( sim->res[cpu].lock != sim->res[old].lock )
        sch_spin_unlock(sim->res[cpu].lock);
    sch_spin_unlock(sim->res[old].lock);

    /* Not vcpu_wake: the guest did not wake, so no wake latency starts
     * (one that woke and has not run yet keeps counting from that wake). */
    if ( was_runnable )
    {
        struct sch_lock *lock = sim__unit_lock(sim, u);

        u->runnable = true;
        sch_spin_lock(lock);
        ops->wake(&sim->s, u, sim->now);
        sch_stats_sync(&sim->s, u, sim->now);
        sch_spin_unlock(lock);
    }
}

/*
 * Domain @p->dom's re-pin @p->k.  The affinity is kept for the uuid, as
 * weight and cap are: a domain not alive now gets it when created, a
 * rebooted one again.  Each vCPU in turn gets the new hard (and soft)
 * affinity under its lock, as Xen's adjust_affinity; only one whose pCPU
 * is no longer allowed has to move.
 */
static void dom_repin(struct sim *sim, const struct sim_pin *p)
{
    struct sim_dom *d = &sim->doms[p->dom];
    struct sch_cpumask aff;
    unsigned int j;

    sch_cpumask_and(&aff, &d->spec->repin[p->k].affinity, &sim->s.cpus);
    if ( sch_cpumask_empty(&aff) )
    {
        /* Only a spec built in C can get here: the loader refuses it. */
        fprintf(sim->log, "sim: re-pin of domain %u at %lld ns to no pCPU "
                "of the host: ignored\n", p->dom, (long long)sim->now);
        return;
    }
    d->pin_last = (int)p->k;
    for ( j = 0; d->life == SIM_LIFE_ALIVE && j < d->spec->vcpus; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];
        struct sch_lock *lock = sim__unit_lock(sim, &v->unit);

        sch_spin_lock(lock);
        v->unit.hard_affinity = aff;
        v->unit.soft_affinity = aff;
        sch_spin_unlock(lock);
        if ( !sch_cpumask_test(&aff, v->unit.res) )
            vcpu_migrate(sim, v);
    }
}

/*
 * SIM_K_PIN: every re-pin due now, in order, then the event waits for the
 * next.  Cold (so declared in private.h) and never inlined: inlined into
 * sim_run_until it cost every event of every run a register spill (one
 * instruction more per event, measured with callgrind on bench-64); as it
 * is, the event loop's code is what it was before re-pins existed, give or
 * take the block order.
 */
void sim__on_pin(struct sim *sim)
{
    while ( sim->pins_done < sim->nr_pins &&
            sim->pins[sim->pins_done].at_ns <= sim->now )
        dom_repin(sim, &sim->pins[sim->pins_done++]);
    if ( sim->pins_done < sim->nr_pins )
        sim__ev_set(sim, &sim->pin_ev, sim->pins[sim->pins_done].at_ns);
}
