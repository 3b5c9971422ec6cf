/*
 * evq.c: the simulator's event queue, a two-level timing wheel.
 *
 * Simulated time never goes back, so no event is due before the wheel's
 * cursor (`cur`, at or before the next event).  Level 0 has 4096 slots of
 * 1024 ns covering the level-1 slot the cursor is in (4.2 ms); level 1 has
 * 4096 slots of 4.2 ms (17 s); later events wait on a `far` list.  Insert
 * and cancel are O(1) list operations; finding the next event is a bitmap
 * search (a summary word over 64 words); an event moves down a level at
 * most twice in its life.  A level-0 slot is kept sorted by (time, seq),
 * which new events nearly always satisfy by going to its tail, so events
 * due at the same time run in the order they were queued.
 *
 * The one way an event can be due before `cur`: sim_run_until looked ahead
 * past its limit (moving `cur` into a later level-1 slot) and time is then
 * set to a moment in between.  Such events go to the `early` list, sorted,
 * which is served first.
 */
#include "private.h"

#define L0_SHIFT        10      /* 1024 ns per level-0 slot */
#define L1_SHIFT        (L0_SHIFT + SIM_EVQ_BITS)
#define L2_SHIFT        (L1_SHIFT + SIM_EVQ_BITS)
#define SLOT_MASK       (SIM_EVQ_SLOTS - 1)

#define POS_L1          SIM_EVQ_SLOTS
#define POS_FAR         (2 * SIM_EVQ_SLOTS)
#define POS_EARLY       (2 * SIM_EVQ_SLOTS + 1)

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static struct sim_evlist *list_of(struct sim_evq *q, uint32_t pos)
{
    if ( pos < POS_L1 )
        return &q->l0[pos];
    if ( pos < POS_FAR )
        return &q->l1[pos - POS_L1];
    return pos == POS_FAR ? &q->far : &q->early;
}

static void bit_set(struct sim_evbits *b, unsigned int i)
{
    b->word[i / 64] |= (uint64_t)1 << (i % 64);
    b->summary |= (uint64_t)1 << (i / 64);
}

static void bit_clear(struct sim_evbits *b, unsigned int i)
{
    if ( !(b->word[i / 64] &= ~((uint64_t)1 << (i % 64))) )
        b->summary &= ~((uint64_t)1 << (i / 64));
}

/* First set bit at or after @i, or SIM_EVQ_SLOTS. */
static unsigned int bit_next(const struct sim_evbits *b, unsigned int i)
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

static void unlink_ev(struct sim_evq *q, struct sim_event *ev)
{
    struct sim_evlist *l = list_of(q, ev->pos);

    if ( ev->prev )
        ev->prev->next = ev->next;
    else
        l->head = ev->next;
    if ( ev->next )
        ev->next->prev = ev->prev;
    else
        l->tail = ev->prev;
    if ( !l->head )
    {
        if ( ev->pos < POS_L1 )
            bit_clear(&q->l0_bits, ev->pos);
        else if ( ev->pos < POS_FAR )
            bit_clear(&q->l1_bits, ev->pos - POS_L1);
    }
    ev->pos = SIM_EV_IDLE;
}

static void append(struct sim_evlist *l, struct sim_event *ev)
{
    ev->next = NULL;
    ev->prev = l->tail;
    if ( l->tail )
        l->tail->next = ev;
    else
        l->head = ev;
    l->tail = ev;
}

/* Into @l in (time, seq) order, looking from the tail. */
static void insert_sorted(struct sim_evlist *l, struct sim_event *ev)
{
    struct sim_event *after = l->tail;

    while ( after && ev_before(ev, after) )
        after = after->prev;
    ev->prev = after;
    ev->next = after ? after->next : l->head;
    if ( ev->next )
        ev->next->prev = ev;
    else
        l->tail = ev;
    if ( after )
        after->next = ev;
    else
        l->head = ev;
}

/* File @ev (not queued, time set) by where it falls from the cursor. */
static void place(struct sim_evq *q, struct sim_event *ev)
{
    uint64_t t = (uint64_t)ev->time, c = (uint64_t)q->cur;
    unsigned int slot;

    if ( ev->time < q->cur )
    {
        ev->pos = POS_EARLY;
        insert_sorted(&q->early, ev);
    }
    else if ( (t >> L1_SHIFT) == (c >> L1_SHIFT) )
    {
        slot = (unsigned int)(t >> L0_SHIFT) & SLOT_MASK;
        ev->pos = slot;
        insert_sorted(&q->l0[slot], ev);
        bit_set(&q->l0_bits, slot);
    }
    else if ( (t >> L2_SHIFT) == (c >> L2_SHIFT) )
    {
        slot = (unsigned int)(t >> L1_SHIFT) & SLOT_MASK;
        ev->pos = POS_L1 + slot;
        append(&q->l1[slot], ev);
        bit_set(&q->l1_bits, slot);
    }
    else
    {
        ev->pos = POS_FAR;
        append(&q->far, ev);
    }
}

/* Move the cursor to @t (a later level-1 slot or window) and re-file what
 * @l holds around it. */
static void cascade(struct sim_evq *q, struct sim_evlist *l, sch_time_t t)
{
    struct sim_event *ev = l->head, *next;

    q->cur = t;
    l->head = l->tail = NULL;
    for ( ; ev; ev = next )
    {
        next = ev->next;
        place(q, ev);
    }
}

void sim__ev_cancel(struct sim *sim, struct sim_event *ev)
{
    if ( ev->pos != SIM_EV_IDLE )
        unlink_ev(&sim->evq, ev);
}

void sim__ev_set(struct sim *sim, struct sim_event *ev, sch_time_t t)
{
    if ( t < sim->now )
        t = sim->now;
    if ( ev->pos != SIM_EV_IDLE )
        unlink_ev(&sim->evq, ev);
    ev->time = t;
    ev->seq = sim->seq++;
    place(&sim->evq, ev);
}

struct sim_event *sim__ev_first(struct sim *sim)
{
    struct sim_evq *q = &sim->evq;

    if ( q->early.head )
        return q->early.head;
    for ( ;; )
    {
        uint64_t c = (uint64_t)q->cur;
        unsigned int slot;
        struct sim_event *ev, *min;

        slot = bit_next(&q->l0_bits, (unsigned int)(c >> L0_SHIFT) &
                                     SLOT_MASK);
        if ( slot < SIM_EVQ_SLOTS )
            return q->l0[slot].head;

        slot = bit_next(&q->l1_bits, ((unsigned int)(c >> L1_SHIFT) &
                                      SLOT_MASK) + 1);
        if ( slot < SIM_EVQ_SLOTS )
        {
            bit_clear(&q->l1_bits, slot);
            cascade(q, &q->l1[slot], (sch_time_t)(((c >> L2_SHIFT)
                                                   << L2_SHIFT) |
                                                  ((uint64_t)slot
                                                   << L1_SHIFT)));
            continue;
        }
        if ( !q->far.head )
            return NULL;
        /* Jump to the level-1 window of the earliest far event. */
        min = q->far.head;
        for ( ev = min->next; ev; ev = ev->next )
            if ( ev_before(ev, min) )
                min = ev;
        cascade(q, &q->far, (sch_time_t)(((uint64_t)min->time >> L2_SHIFT)
                                         << L2_SHIFT));
    }
}

void sim__evq_advance(struct sim *sim, sch_time_t t)
{
    if ( t > sim->evq.cur )
        sim->evq.cur = t;
}

void sim__evq_drain(struct sim *sim)
{
    struct sim_evq *q = &sim->evq;
    unsigned int i;

    for ( i = 0; i <= POS_EARLY; i++ )
    {
        struct sim_evlist *l = list_of(q, i);
        struct sim_event *ev;

        for ( ev = l->head; ev; ev = ev->next )
            ev->pos = SIM_EV_IDLE;
        l->head = l->tail = NULL;
    }
    q->l0_bits = (struct sim_evbits){ { 0 }, 0 };
    q->l1_bits = (struct sim_evbits){ { 0 }, 0 };
}
