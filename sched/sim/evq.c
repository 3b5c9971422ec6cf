/*
 * evq.c: the simulator's event queue, a two-level timing wheel.
 *
 * Simulated time never goes back, so no event is due before the wheel's
 * cursor (`cur`, at or before the next event).  Level 0 has 4096 slots of
 * 4096 ns covering the level-1 slot the cursor is in (16.8 ms); level 1
 * has 4096 slots of 16.8 ms (69 s); later events wait on a `far` list.
 * Insert and cancel are O(1) list operations; finding the next event is a
 * bitmap search (a summary word over 64 words); an event moves down a
 * level at most twice in its life.  A level-0 slot is kept sorted by
 * (time, seq), which new events nearly always satisfy by going to its
 * tail, so events due at the same time run in the order they were queued.
 * Level 0 is that wide because going through level 1 costs an event a
 * second placement: most events are due within a few ms (a burst, a
 * slice, a sleep), and with 1024 ns slots (4.2 ms) one in six did.
 *
 * What the engine does most is made short: pop takes the head of the
 * first slot in use (no search for the list, no general unlink); set
 * inserts into level 0 without going through place(), comparing times
 * only (a fresh seq is the greatest); an event set again where it already
 * is keeps its place (stays()).
 *
 * The one way an event can be due before `cur`: sim_run_until looked ahead
 * past its limit (moving `cur` into a later level-1 slot) and time is then
 * set to a moment in between.  Such events go to the `early` list, sorted,
 * which is served first.
 */
#include <string.h>

#include "private.h"

#define L0_SHIFT        12      /* 4096 ns per level-0 slot */
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

/* Slot @pos of either level is empty now. */
static void slot_clear(struct sim_evq *q, unsigned int pos)
{
    if ( pos < POS_L1 )
        bit_clear(&q->bits[0], pos);
    else if ( pos < POS_FAR )
        bit_clear(&q->bits[1], pos - POS_L1);
}

/* First set bit at or after @i, or SIM_EVQ_SLOTS. */
static inline __attribute__((always_inline)) unsigned int
bit_next(const struct sim_evbits *b, unsigned int i)
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
        slot_clear(q, ev->pos);
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

/* Into @l in (time, seq) order, looking from the tail: an event just set
 * has the greatest seq, so it nearly always goes last. */
static void insert_sorted(struct sim_evlist *l, struct sim_event *ev)
{
    struct sim_event *after = l->tail;

    if ( !after || ev_before(after, ev) )
    {
        append(l, ev);
        return;
    }
    while ( after && ev_before(ev, after) )
        after = after->prev;
    ev->prev = after;
    ev->next = after ? after->next : l->head;
    ev->next->prev = ev;
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
        insert_sorted(&q->list[POS_EARLY], ev);
    }
    else if ( (t >> L1_SHIFT) == (c >> L1_SHIFT) )
    {
        slot = (unsigned int)(t >> L0_SHIFT) & SLOT_MASK;
        ev->pos = slot;
        insert_sorted(&q->list[slot], ev);
        bit_set(&q->bits[0], slot);
    }
    else if ( (t >> L2_SHIFT) == (c >> L2_SHIFT) )
    {
        slot = (unsigned int)(t >> L1_SHIFT) & SLOT_MASK;
        ev->pos = POS_L1 + slot;
        append(&q->list[POS_L1 + slot], ev);
        bit_set(&q->bits[1], slot);
    }
    else
    {
        ev->pos = POS_FAR;
        append(&q->list[POS_FAR], ev);
    }
}

/*
 * Can @ev (queued) be due at @t with a fresh seq where it is?  In a
 * level-0 slot, if @t falls in the same slot and keeps it between its
 * neighbours (a fresh seq puts it after any event due at the same time);
 * in an unsorted level-1 slot, if @t falls in the same slot.  The common
 * case: a running vCPU's work event, stopped and started again by a
 * decision that keeps it, due at the very same time.
 */
static bool stays(const struct sim_evq *q, const struct sim_event *ev,
                  sch_time_t t)
{
    if ( ev->pos < POS_L1 )
        return (uint64_t)t >> L0_SHIFT == (uint64_t)ev->time >> L0_SHIFT &&
               t >= q->cur && (!ev->next || ev->next->time > t) &&
               (!ev->prev || ev->prev->time <= t);
    if ( ev->pos < POS_FAR )
        return (uint64_t)t >> L1_SHIFT == (uint64_t)ev->time >> L1_SHIFT;
    return false;
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
    struct sim_evq *q = &sim->evq;
    struct sim_evlist *l;
    struct sim_event *after;
    unsigned int slot;

    if ( t < sim->now )
        t = sim->now;
    if ( ev->pos != SIM_EV_IDLE )
    {
        if ( stays(q, ev, t) )
        {
            ev->time = t;
            ev->seq = sim->seq++;
            return;
        }
        unlink_ev(q, ev);
    }
    ev->time = t;
    ev->seq = sim->seq++;
    if ( t < q->cur ||
         (uint64_t)t >> L1_SHIFT != (uint64_t)q->cur >> L1_SHIFT )
    {
        place(q, ev);
        return;
    }
    /* Level 0, most events: place() and insert_sorted() made short, as
     * the fresh seq puts @ev after every event due by @t. */
    slot = (unsigned int)((uint64_t)t >> L0_SHIFT) & SLOT_MASK;
    l = &q->list[slot];
    ev->pos = slot;
    after = l->tail;
    if ( !after )
    {
        ev->prev = ev->next = NULL;
        l->head = l->tail = ev;
        bit_set(&q->bits[0], slot);
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

/*
 * Level 0 is empty: cascade the next level-1 slot (or the far list's
 * earliest window) down.  False if nothing is left to cascade.
 */
static __attribute__((noinline)) bool refill(struct sim_evq *q)
{
    uint64_t c = (uint64_t)q->cur;
    unsigned int slot;
    struct sim_event *ev, *min;

    slot = bit_next(&q->bits[1], ((unsigned int)(c >> L1_SHIFT) &
                                  SLOT_MASK) + 1);
    if ( slot < SIM_EVQ_SLOTS )
    {
        bit_clear(&q->bits[1], slot);
        cascade(q, &q->list[POS_L1 + slot],
                (sch_time_t)(((c >> L2_SHIFT) << L2_SHIFT) |
                             ((uint64_t)slot << L1_SHIFT)));
        return true;
    }
    if ( !q->list[POS_FAR].head )
        return false;
    /* Jump to the level-1 window of the earliest far event. */
    min = q->list[POS_FAR].head;
    for ( ev = min->next; ev; ev = ev->next )
        if ( ev_before(ev, min) )
            min = ev;
    cascade(q, &q->list[POS_FAR],
            (sch_time_t)(((uint64_t)min->time >> L2_SHIFT) << L2_SHIFT));
    return true;
}

/* The head of @l, if due by @t: unlinked as a head is (@b: @l's level's
 * bits, NULL for the early list). */
static inline __attribute__((always_inline)) struct sim_event *
take_head(struct sim_evq *q, struct sim_evlist *l, struct sim_evbits *b,
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
            bit_clear(b, ev->pos);
    }
    ev->pos = SIM_EV_IDLE;
    /* Nothing earlier will be queued (an early event is before cur). */
    if ( ev->time > q->cur )
        q->cur = ev->time;
    return ev;
}

/* The first level-0 slot in use at or after the cursor's, or
 * SIM_EVQ_SLOTS. */
static inline __attribute__((always_inline)) unsigned int
first_slot(const struct sim_evq *q)
{
    return bit_next(&q->bits[0],
                    (unsigned int)((uint64_t)q->cur >> L0_SHIFT) & SLOT_MASK);
}

/* pop, when the next event is early or level 0 is empty. */
static __attribute__((noinline)) struct sim_event *
pop_slow(struct sim_evq *q, sch_time_t t)
{
    unsigned int slot;

    if ( q->list[POS_EARLY].head )
        return take_head(q, &q->list[POS_EARLY], NULL, t);
    do
        if ( !refill(q) )
            return NULL;
    while ( (slot = first_slot(q)) == SIM_EVQ_SLOTS );
    return take_head(q, &q->list[slot], &q->bits[0], t);
}

struct sim_event *sim__ev_pop(struct sim *sim, sch_time_t t)
{
    struct sim_evq *q = &sim->evq;
    unsigned int slot;

    if ( !q->list[POS_EARLY].head &&
         (slot = first_slot(q)) < SIM_EVQ_SLOTS )
        return take_head(q, &q->list[slot], &q->bits[0], t);
    return pop_slow(q, t);
}

void sim__evq_drain(struct sim *sim)
{
    struct sim_evq *q = &sim->evq;
    unsigned int i;

    for ( i = 0; i <= POS_EARLY; i++ )
    {
        struct sim_evlist *l = &q->list[i];
        struct sim_event *ev;

        for ( ev = l->head; ev; ev = ev->next )
            ev->pos = SIM_EV_IDLE;
        l->head = l->tail = NULL;
    }
    memset(q->bits, 0, sizeof(q->bits));
}
