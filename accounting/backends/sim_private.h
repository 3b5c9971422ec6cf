/*
 * sim_private.h: for the sim backend's own files only, and its reply
 * parser's fuzzer.  The rest of xenos reaches the backend through
 * acct_backend_sim and acct_sim.h.
 *
 * The files: sim.c, the ops table (options, open and close, SAMPLE, GET
 * and SET); sim_proto.c, the connection and the line protocol every
 * request goes through; sim_spawn.c, starting xenos-simhost; sim_truth.c,
 * what acct_sim.h offers (TRUTH, PING, SHUTDOWN).  Not thread-safe: one
 * caller thread per open state.
 */
#ifndef XENOS_ACCT_SIM_PRIVATE_H
#define XENOS_ACCT_SIM_PRIVATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include <xenos/acct.h>
#include <xenos/acct_sim.h>

#define SIMB_MAGIC              0x62686d73u     /* marks a state as ours */
#define SIMB_SOCKET_DEFAULT     "/run/xenos/simhost.sock"
#define SIMB_SOCKET_NAME        "simhost.sock"
#define SIMB_TIMEOUT_MS         2000
#define SIMB_START_MS           5000    /* to start a host and see it */
#define SIMB_LINE_MAX           (16u << 20)     /* a reply line */
#define SIMB_READ_CHUNK         65536
#define SIMB_BACKOFF_MIN_MS     200     /* no host: wait before trying */
#define SIMB_BACKOFF_MAX_MS     2000    /* ...doubling up to this */

struct simb_tok {
    char *key, *val;
};

struct simb {
    uint32_t magic;
    int fd;                             /* -1: not connected */
    int timeout_ms;
    /* No host answered: the next try waits until retry_at_ms, each
     * failure doubling backoff_ms (a dead host costs nothing per call). */
    int64_t retry_at_ms;
    int backoff_ms;
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    /* open's options, as given (scenario made absolute) */
    char *scenario, *socket, *state_dir, *speed, *policy, *simhost, *log;
    char *idle_exit_s, *timeout_ms_s;
    /* reply reader: unread bytes are buf[off, len) */
    char *buf;
    size_t off, len, cap;
    /* parse scratch: decoded strings, tokens */
    char *dec;
    size_t dec_cap;
    struct simb_tok *toks;
    size_t toks_cap;
    uint64_t *nums;                     /* vCPU lists, 2 per vCPU */
    size_t nums_cap;
};

/* Each line of a reply after its status line goes to @line. */
struct simb_reply {
    int (*status)(struct simb *b, void *ctx, char *line);
    int (*line)(struct simb *b, void *ctx, char *line);
    void *ctx;
};

struct simb_ping {
    struct acct_sim_info *info;
    char scenario[PATH_MAX];            /* the host's, absolute */
};

/* @state as ours, or NULL if it is not a state the sim backend opened. */
static inline struct simb *simb_of(void *state)
{
    struct simb *b = state;

    return b && b->magic == SIMB_MAGIC ? b : NULL;
}

/* sim_proto.c: the connection */
int64_t simb__now_ms(void);
void simb__disconnect(struct simb *b);
int simb__connect(struct simb *b);

/* sim_proto.c: values of a reply */
int simb__u64(const char *s, uint64_t *out);
int simb__u32(const char *s, uint32_t *out);
int simb__decode(struct simb *b, const char *s, const char **out,
                 size_t *len);
int simb__uuid(const char *s, char out[ACCT_UUID_LEN + 1]);
int simb__tokens(struct simb *b, char *line, unsigned int skip);
const char *simb__get(const struct simb *b, int n, const char *key);
int simb__list(const char *s, uint64_t *v, size_t n);

/* sim_proto.c: requests */
int simb__call(struct simb *b, const char *req, const struct simb_reply *r,
               void (*reset)(void *ctx));
int simb__ping(struct simb *b, struct simb_ping *pg);

/* sim_spawn.c: starting a host */
int simb__spawn(struct simb *b, int64_t deadline_ms, char *err,
                size_t errlen);
int simb__connect_until(struct simb *b, int64_t deadline_ms);

#endif /* XENOS_ACCT_SIM_PRIVATE_H */
