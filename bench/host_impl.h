/*
 * host_impl.h (bench): the host half of xenos/host.h for bench_decide's
 * host (bench/host.c).  Implementers only.
 *
 * One thread, so sched/hosted/'s lock flags, as the simulator's: a decision
 * then costs what it costs in the simulator.  But SCH_ASSERT_LOCKED checks
 * nothing, as Xen's ASSERT in a release build: bench_decide times a policy
 * as the hypervisor runs it, and takes no lock around the hooks, which
 * would be the host's cost, not the policy's (the simulator and the tests
 * check the locking).  Timers are armed but never fire, so a timer is
 * only what it was set to.
 */
#ifndef XENOS_BENCH_HOST_IMPL_H
#define XENOS_BENCH_HOST_IMPL_H

#define SCH_ASSERT_LOCKED(l) ((void)(l))
#include "hosted.h"

struct sch_timer {
    sch_timer_cb fn;
    void *data;
    sch_time_t expires;
    unsigned int cpu;
    bool killed;
};

#endif /* XENOS_BENCH_HOST_IMPL_H */
