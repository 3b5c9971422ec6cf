/*
 * evq.c: the simulator's event queue, a radix heap.
 *
 * Simulated time never goes back, so the queue is monotone: no event is
 * due before the last one taken.  Events live in 64 buckets by the highest
 * bit in which their time differs from `last`; inserting and cancelling
 * are O(1) list operations.  Finding the next event empties the lowest
 * bucket into lower ones around its earliest time; each event moves down
 * at most a few times in its life, so the cost per event is a small
 * constant where a heap pays O(log n) twice.  Equal times keep (time, seq)
 * order: bucket 0 (time == last) is kept sorted by seq, which new events
 * satisfy by being appended with a fresh seq.
 */
#include "private.h"

static unsigned int bucket_of(const struct sim_evq *q, sch_time_t t)
{
    uint64_t x = (uint64_t)t ^ (uint64_t)q->last;

    return x ? 64 - (unsigned int)__builtin_clzll(x) : 0;
}

static void unlink_ev(struct sim_evq *q, struct sim_event *ev)
{
    unsigned int b = ev->pos;

    if ( ev->prev )
        ev->prev->next = ev->next;
    else
        q->head[b] = ev->next;
    if ( ev->next )
        ev->next->prev = ev->prev;
    else
        q->tail[b] = ev->prev;
    if ( !q->head[b] )
        q->nonempty &= ~((uint64_t)1 << b);
    ev->pos = SIM_EV_IDLE;
}

static void append(struct sim_evq *q, struct sim_event *ev, unsigned int b)
{
    ev->pos = b;
    ev->next = NULL;
    ev->prev = q->tail[b];
    if ( q->tail[b] )
        q->tail[b]->next = ev;
    else
        q->head[b] = ev;
    q->tail[b] = ev;
    q->nonempty |= (uint64_t)1 << b;
}

/* Into bucket 0 in seq order; it is nearly always the tail. */
static void insert_due(struct sim_evq *q, struct sim_event *ev)
{
    struct sim_event *after = q->tail[0];

    while ( after && after->seq > ev->seq )
        after = after->prev;
    ev->pos = 0;
    ev->prev = after;
    ev->next = after ? after->next : q->head[0];
    if ( ev->next )
        ev->next->prev = ev;
    else
        q->tail[0] = ev;
    if ( after )
        after->next = ev;
    else
        q->head[0] = ev;
    q->nonempty |= 1;
}

/*
 * An event earlier than `last` (only when sim_run_until stopped short of a
 * peeked event and time is then set before it): re-bucket everything
 * around the new, earlier `last`.  Nothing is due at it, so bucket 0 stays
 * empty.
 */
static void rebase(struct sim_evq *q, sch_time_t last)
{
    struct sim_event *all = NULL, *ev, *next;
    unsigned int b;

    for ( b = 0; b < SIM_EVQ_BUCKETS; b++ )
    {
        for ( ev = q->head[b]; ev; ev = next )
        {
            next = ev->next;
            ev->next = all;
            all = ev;
        }
        q->head[b] = q->tail[b] = NULL;
    }
    q->nonempty = 0;
    q->last = last;
    for ( ev = all; ev; ev = next )
    {
        next = ev->next;
        append(q, ev, bucket_of(q, ev->time));
    }
}

void sim__ev_cancel(struct sim *sim, struct sim_event *ev)
{
    if ( ev->pos != SIM_EV_IDLE )
        unlink_ev(&sim->evq, ev);
}

void sim__ev_set(struct sim *sim, struct sim_event *ev, sch_time_t t)
{
    struct sim_evq *q = &sim->evq;

    if ( t < sim->now )
        t = sim->now;
    if ( ev->pos != SIM_EV_IDLE )
        unlink_ev(q, ev);
    if ( t < q->last )
        rebase(q, t);
    ev->time = t;
    ev->seq = sim->seq++;
    append(q, ev, bucket_of(q, t));
}

struct sim_event *sim__ev_first(struct sim *sim)
{
    struct sim_evq *q = &sim->evq;
    struct sim_event *ev, *next, *min;
    unsigned int b;

    if ( q->nonempty & 1 )
        return q->head[0];
    if ( !q->nonempty )
        return NULL;
    b = (unsigned int)__builtin_ctzll(q->nonempty);
    min = q->head[b];
    for ( ev = min->next; ev; ev = ev->next )
        if ( ev->time < min->time ||
             (ev->time == min->time && ev->seq < min->seq) )
            min = ev;
    /* Everything in bucket b is below the next power of two: each moves
     * to a lower bucket around the new last. */
    q->last = min->time;
    ev = q->head[b];
    q->head[b] = q->tail[b] = NULL;
    q->nonempty &= ~((uint64_t)1 << b);
    for ( ; ev; ev = next )
    {
        next = ev->next;
        if ( ev->time == q->last )
            insert_due(q, ev);
        else
            append(q, ev, bucket_of(q, ev->time));
    }
    return q->head[0];
}

void sim__evq_drain(struct sim *sim)
{
    struct sim_evq *q = &sim->evq;
    struct sim_event *ev;
    unsigned int b;

    for ( b = 0; b < SIM_EVQ_BUCKETS; b++ )
    {
        for ( ev = q->head[b]; ev; ev = ev->next )
            ev->pos = SIM_EV_IDLE;
        q->head[b] = q->tail[b] = NULL;
    }
    q->nonempty = 0;
}
