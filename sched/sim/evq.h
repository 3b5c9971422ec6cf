/*
 * evq.h: the event queue's hot paths, inline in the engine (sim.c), the
 * host services (host.c) and where domains come, go and move (life.c,
 * setup.c); evq.c has the rest and describes the queue.
 * Inline because each event pops one event and sets one or two: as calls
 * into evq.c they cost the call, the spills around it and a look at the
 * queue the caller could not share.
 */
#ifndef XENOS_SIM_EVQ_H
#define XENOS_SIM_EVQ_H

#include "private.h"

#define SIM_EVQ_L0_SHIFT    13      /* 8192 ns per level-0 slot */
#define SIM_EVQ_L1_SHIFT    (SIM_EVQ_L0_SHIFT + SIM_EVQ_BITS)
#define SIM_EVQ_L2_SHIFT    (SIM_EVQ_L1_SHIFT + SIM_EVQ_BITS)
#define SIM_EVQ_MASK        (SIM_EVQ_SLOTS - 1)

/* Where an event is: its index in evq.list[]. */
#define SIM_EVQ_POS_L1      SIM_EVQ_SLOTS
#define SIM_EVQ_POS_FAR     (2 * SIM_EVQ_SLOTS)
#define SIM_EVQ_POS_EARLY   (2 * SIM_EVQ_SLOTS + 1)

/* evq.c: file @ev (not queued, time set) by where it falls from the
 * cursor; pop when the next event is early or level 0 is empty. */
void sim__evq_place(struct sim_evq *q, struct sim_event *ev);
struct sim_event *sim__evq_pop_slow(struct sim_evq *q, sch_time_t t);

static inline void sim__evq_bit_set(struct sim_evbits *b, unsigned int i)
{
    b->word[i / 64] |= (uint64_t)1 << (i % 64);
    b->summary |= (uint64_t)1 << (i / 64);
}

static inline void sim__evq_bit_clear(struct sim_evbits *b, unsigned int i)
{
    if ( !(b->word[i / 64] &= ~((uint64_t)1 << (i % 64))) )
        b->summary &= ~((uint64_t)1 << (i / 64));
}

/* First set bit at or after @i, or SIM_EVQ_SLOTS. */
static inline unsigned int sim__evq_bit_next(const struct sim_evbits *b,
                                             unsigned int i)
{
    unsigned int w = i / 64;
    uint64_t m;

    if ( i >= SIM_EVQ_SLOTS )
        return SIM_EVQ_SLOTS;
    m = b->word[w] & (~(uint64_t)0 << (i % 64));
    if ( m )
        return w * 64 + (unsigned int)__builtin_ctzll(m);
    m = w + 1 < 64 ? b->summary & (~(uint64_t)0 << (w + 1)) : 0;
    if ( !m )
        return SIM_EVQ_SLOTS;
    w = (unsigned int)__builtin_ctzll(m);
    return w * 64 + (unsigned int)__builtin_ctzll(b->word[w]);
}

/* List @pos (a slot of either level, far or early) is empty now. */
static inline void sim__evq_emptied(struct sim_evq *q, unsigned int pos)
{
    if ( pos < SIM_EVQ_POS_L1 )
        sim__evq_bit_clear(&q->bits[0], pos);
    else if ( pos < SIM_EVQ_POS_FAR )
        sim__evq_bit_clear(&q->bits[1], pos - SIM_EVQ_POS_L1);
}

static inline void sim__evq_unlink(struct sim_evq *q, struct sim_event *ev)
{
    struct sim_evlist *l = &q->list[ev->pos];

    if ( ev->prev )
        ev->prev->next = ev->next;
    else
        l->head = ev->next;
    if ( ev->next )
        ev->next->prev = ev->prev;
    else
        l->tail = ev->prev;
    if ( !l->head )
        sim__evq_emptied(q, ev->pos);
    ev->pos = SIM_EV_IDLE;
}

/*
 * Can @ev (queued) be due at @t with a fresh seq where it is?  In a
 * level-0 slot, if @t falls in the same slot and keeps it between its
 * neighbours (a fresh seq puts it after any event due at the same time);
 * in an unsorted level-1 slot, if @t falls in the same slot.  The common
 * case: a running vCPU's work event, stopped and started again by a
 * decision that keeps it, due at the very same time.
 */
static inline bool sim__evq_stays(const struct sim_evq *q,
                                  const struct sim_event *ev, sch_time_t t)
{
    if ( ev->pos < SIM_EVQ_POS_L1 )
        return (uint64_t)t >> SIM_EVQ_L0_SHIFT ==
               (uint64_t)ev->time >> SIM_EVQ_L0_SHIFT &&
               t >= q->cur && (!ev->next || ev->next->time > t) &&
               (!ev->prev || ev->prev->time <= t);
    if ( ev->pos < SIM_EVQ_POS_FAR )
        return (uint64_t)t >> SIM_EVQ_L1_SHIFT ==
               (uint64_t)ev->time >> SIM_EVQ_L1_SHIFT;
    return false;
}

/* Take @ev out if queued. */
static inline void sim__ev_cancel(struct sim *sim, struct sim_event *ev)
{
    if ( ev->pos != SIM_EV_IDLE )
        sim__evq_unlink(&sim->evq, ev);
}

/* Queue @ev at @t (not before now) or move it there, with a fresh seq. */
static inline __attribute__((always_inline)) void
sim__ev_set(struct sim *sim, struct sim_event *ev,
                               sch_time_t t)
{
    struct sim_evq *q = &sim->evq;
    struct sim_evlist *l;
    struct sim_event *after;
    unsigned int slot;

    if ( t < sim->now )
        t = sim->now;
    if ( ev->pos != SIM_EV_IDLE )
    {
        if ( sim__evq_stays(q, ev, t) )
        {
            ev->time = t;
            ev->seq = sim->seq++;
            return;
        }
        sim__evq_unlink(q, ev);
    }
    ev->time = t;
    ev->seq = sim->seq++;
    if ( t < q->cur || ((uint64_t)t >> SIM_EVQ_L0_SHIFT) -
                       ((uint64_t)q->cur >> SIM_EVQ_L0_SHIFT) >=
                       SIM_EVQ_SLOTS )
    {
        sim__evq_place(q, ev);
        return;
    }
    /* Level 0, most events: place() and insert_sorted() made short, as
     * the fresh seq puts @ev after every event due by @t. */
    slot = (unsigned int)((uint64_t)t >> SIM_EVQ_L0_SHIFT) & SIM_EVQ_MASK;
    l = &q->list[slot];
    ev->pos = slot;
    after = l->tail;
    if ( !after )
    {
        ev->prev = ev->next = NULL;
        l->head = l->tail = ev;
        sim__evq_bit_set(&q->bits[0], slot);
        return;
    }
    /* Last, mostly; else often first (a kick, due now). */
    if ( after->time > t )
    {
        if ( l->head->time > t )
            after = NULL;
        else
            while ( after->time > t )
                after = after->prev;
    }
    ev->prev = after;
    if ( after )
    {
        ev->next = after->next;
        after->next = ev;
    }
    else
    {
        ev->next = l->head;
        l->head = ev;
    }
    if ( ev->next )
        ev->next->prev = ev;
    else
        l->tail = ev;
}

/* The head of @l, if due by @t: unlinked as a head is (@b: @l's level's
 * bits, NULL for the early list). */
static inline struct sim_event *sim__evq_take_head(struct sim_evq *q,
                                                   struct sim_evlist *l,
                                                   struct sim_evbits *b,
                                                   sch_time_t t)
{
    struct sim_event *ev = l->head;

    if ( ev->time > t )
        return NULL;
    l->head = ev->next;
    if ( ev->next )
        ev->next->prev = NULL;
    else
    {
        l->tail = NULL;
        if ( b )
            sim__evq_bit_clear(b, ev->pos);
    }
    ev->pos = SIM_EV_IDLE;
    /* Nothing earlier will be queued (an early event is before cur). */
    if ( ev->time > q->cur )
        q->cur = ev->time;
    return ev;
}

/* The first level-0 slot in use at or after the cursor's, or
 * SIM_EVQ_SLOTS. */
static inline unsigned int sim__evq_first_slot(const struct sim_evq *q)
{
    return sim__evq_bit_next(&q->bits[0],
                             (unsigned int)((uint64_t)q->cur >>
                                            SIM_EVQ_L0_SHIFT) & SIM_EVQ_MASK);
}

/* Take out and return the next event if it is due by @t, else NULL. */
static inline struct sim_event *sim__ev_pop(struct sim *sim, sch_time_t t)
{
    struct sim_evq *q = &sim->evq;
    unsigned int slot = (unsigned int)((uint64_t)q->cur >>
                                       SIM_EVQ_L0_SHIFT) & SIM_EVQ_MASK;

    if ( q->list[SIM_EVQ_POS_EARLY].head )
        return sim__evq_pop_slow(q, t);
    /* The cursor's slot, often not yet empty, else a bitmap search. */
    if ( !q->list[slot].head &&
         (slot = sim__evq_bit_next(&q->bits[0], slot)) == SIM_EVQ_SLOTS )
        return sim__evq_pop_slow(q, t);
    return sim__evq_take_head(q, &q->list[slot], &q->bits[0], t);
}

#endif /* XENOS_SIM_EVQ_H */
