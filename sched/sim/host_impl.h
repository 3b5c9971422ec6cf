/*
 * host_impl.h (simulator): the host half of xenos/host.h for sched/sim/.
 * Implementers only.  Freestanding like the policies that include it.
 *
 * The simulator runs on one thread: its locks are sched/hosted/'s flags,
 * which catch a lock taken twice, released unheld, or not held where a
 * policy asserts it is.  A timer is an event in the simulator's queue.
 */
#ifndef XENOS_SIM_HOST_IMPL_H
#define XENOS_SIM_HOST_IMPL_H

#include "hosted.h"

/* An entry of the simulator's event queue, ordered by (time, seq). */
struct sim_event {
    sch_time_t time;
    uint64_t seq;
    struct sim_event *next, *prev;      /* in its bucket */
    uint32_t pos;               /* bucket; SIM_EV_IDLE if not queued */
    uint32_t kind;
};

#define SIM_EV_IDLE 0xffffffffu

struct sch_timer {
    struct sim_event ev;        /* first: the queue hands back &ev */
    sch_timer_cb fn;
    void *data;
    struct sim *sim;
    unsigned int cpu;
    bool killed;
};

#endif /* XENOS_SIM_HOST_IMPL_H */
