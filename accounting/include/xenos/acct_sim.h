/*
 * acct_sim.h: what the `sim` backend offers beyond struct acct_backend_ops:
 * the simulated host's ground truth, for tests that check accounting
 * against it, and a way to stop the host.
 *
 * The host is a separate process (xenos-simhost) that outlives the backend
 * and its caller; docs/sim-backend.md describes it, its options and its
 * protocol.  Each function takes the state returned by the sim backend's
 * open() and fails with -EINVAL for any other.
 */
#ifndef XENOS_ACCT_SIM_H
#define XENOS_ACCT_SIM_H

#include <stdint.h>

#include <xenos/acct.h>

extern const struct acct_backend_ops acct_backend_sim;

enum acct_sim_life {
    ACCT_SIM_PENDING,           /* not created yet */
    ACCT_SIM_ALIVE,
    ACCT_SIM_GONE,              /* migrated away or destroyed */
};

enum acct_sim_end {
    ACCT_SIM_END_NONE,          /* alive */
    ACCT_SIM_END_REBOOT,
    ACCT_SIM_END_MIGRATE,
    ACCT_SIM_END_DESTROY,
};

/* One life of a domain: from creation to reboot, migration, destruction. */
struct acct_sim_inc {
    uint32_t domid;
    uint64_t created_ns;
    int64_t ended_ns;                   /* -1 while alive */
    enum acct_sim_end end;
    uint64_t cpu_ns;                    /* used in it so far */
};

/* Every domain the scenario has, whether it exists now or not. */
struct acct_sim_truth_dom {
    char uuid[ACCT_UUID_LEN + 1];
    char *name;                         /* owned by the truth */
    enum acct_sim_life life;
    uint64_t cpu_ns;                    /* exact, over all incarnations */
    uint32_t nr_inc;
    struct acct_sim_inc *inc;           /* oldest first */
};

struct acct_sim_truth {
    uint64_t time_ns;                   /* host time it holds for */
    uint32_t nr_domains;
    struct acct_sim_truth_dom *domains;
};

/*
 * Ground truth now, into *@out, which the caller frees with
 * acct_sim_truth_free (also after an error: it is then empty).  Returns 0,
 * -ECONNRESET (host gone), -ETIMEDOUT, -EPROTO (reply not understood),
 * -ENOMEM.
 */
int acct_sim_truth(void *state, struct acct_sim_truth *out);
void acct_sim_truth_free(struct acct_sim_truth *t);

/* The host's state, from PING. */
struct acct_sim_info {
    uint64_t time_ns;                   /* simulated time now */
    uint64_t lag_ns;                    /* behind the scaled wall clock */
    uint64_t end_ns;                    /* time stops there */
    long pid;                           /* of xenos-simhost */
    uint32_t nr_domains;                /* in the scenario */
    char policy[32];
};

/* 0 and *@out filled, or an error as for acct_sim_truth. */
int acct_sim_ping(void *state, struct acct_sim_info *out);

/*
 * Ask the host to exit (it answers first, then removes its socket and
 * pidfile).  0, or an error as above.  The backend stays open but every
 * later call fails with -ECONNRESET, unless a new host has been started.
 */
int acct_sim_shutdown(void *state);

#endif /* XENOS_ACCT_SIM_H */
