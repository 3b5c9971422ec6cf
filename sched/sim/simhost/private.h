/*
 * private.h: for xenos-simhost's own files only (main.c, protocol.c,
 * loop.c): the host's state, shared by its set-up, its loop and the
 * protocol it answers.
 */
#ifndef XENOS_SIMHOST_PRIVATE_H
#define XENOS_SIMHOST_PRIVATE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/un.h>

#include <xenos/sched.h>
#include <xenos/sim.h>

#define SH_EXIT_FAIL        1
#define SH_EXIT_USAGE       2

#define SH_DEFAULT_POLICY   "fcredit"
#define SH_IDLE_EXIT_S      300
#define SH_MAX_CLIENTS      64
#define SH_LINE_MAX         1024        /* a request; replies are longer */
#define SH_TICK_MS          100         /* advance at least this often */
#define SH_IDLE_TICK_MS     1000        /* once time has stopped */
#define SH_STALL_MS         5000        /* a reply unread this long: drop */
#define SH_PARTIAL_MS       10000       /* half a request this long: drop */
#define SH_OUT_HIGH         (1u << 20)  /* stop taking requests above it */
#define SH_SPEED_MILLI_MAX  1000000000  /* 1,000,000 x */
/*
 * Advancing is cut in slices of simulated time, sized as it goes so a
 * slice costs about a quarter of SH_BUDGET_NS of wall time, and one advance
 * takes SH_BUDGET_NS at most: a host too big to simulate at the asked
 * speed falls behind (PING says by how much) but answers within a few ms.
 */
#define SH_BUDGET_NS        2000000     /* 2 ms */
#define SH_STEP_MIN_NS      SCH_USEC(1)
#define SH_STEP_MAX_NS      SCH_MSEC(100)
#define SH_DYING_GRACE_S    60          /* ended lives stay in SAMPLE */
#define SH_LINGER_MS        1           /* behind: wait for a next request */
#define SH_LINGER_MAX_MS    20          /* ...but run at least this often */

struct sh_opts {
    const char *scenario;
    const char *policy;
    const char *socket;
    const char *pidfile;
    const char *log;
    uint64_t speed_milli;               /* simulated ns per 1000 wall ns */
    uint64_t idle_exit_s;               /* 0: never */
    bool daemon;
    bool boot_on_sample;                /* time starts at the first SAMPLE */
};

/* A growing output buffer; on ENOMEM it fails once and stays failed. */
struct sh_buf {
    char *p;
    size_t len, cap, off;               /* off: bytes already sent */
    bool failed;
};

struct sh_client {
    int fd;
    char in[SH_LINE_MAX + 1];
    size_t in_len;
    struct sh_buf out;
    uint64_t partial_since_ms;          /* first byte of an unended line */
    uint64_t stalled_since_ms;          /* output waiting, no progress */
    bool closing;                       /* close once out is sent */
};

struct sh {
    struct sh_opts o;
    struct sim_scenario sc;
    struct sim *sim;
    const struct sch_ops *ops;
    FILE *log;
    int listen_fd;
    char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char pid_path[PATH_MAX];
    char scenario_abs[PATH_MAX];        /* for PING: which host this is */
    char boot_id[37];                   /* this boot of the host: a uuid */
    dev_t sock_dev;
    ino_t sock_ino;
    uint64_t start_wall_ns;             /* monotonic, when time began */
    bool booted;                        /* time has begun */
    uint64_t idle_since_ms;
    uint64_t advanced_ms;               /* last sh_advance, monotonic */
    sch_time_t step_ns;                 /* simulated time per slice */
    bool behind;                        /* last advance fell short */
    struct sh_client clients[SH_MAX_CLIENTS];
    unsigned int nr_clients;
    bool quit;
};

/* loop.c: the clock, the log, simulated time and the loop. */
uint64_t sh__mono_ns(void);
uint64_t sh__mono_ms(void);
void sh__log(struct sh *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Where simulated time should be now; sh__advance runs towards it for
 * SH_BUDGET_NS at most, h->behind saying whether it fell short. */
sch_time_t sh__target(const struct sh *h);
void sh__advance(struct sh *h);
/* SIGPIPE and SIGHUP ignored, SIGTERM and SIGINT let through only in the
 * loop's ppoll, with *@old (0 or -errno). */
int sh__signals(sigset_t *old);
/* Serve until told to stop: 0, or -errno if poll fails. */
int sh__loop(struct sh *h, const sigset_t *mask);
void sh__client_close(struct sh *h, unsigned int i);

/* protocol.c: answer one request @line (no newline) into @c's output;
 * refuse one, a whole reply ("ERR @code @why", END). */
void sh__request(struct sh *h, struct sh_client *c, char *line);
void sh__refuse(struct sh_buf *b, const char *code, const char *why);

#endif /* XENOS_SIMHOST_PRIVATE_H */
