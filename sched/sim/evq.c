/*
 * evq.c: the simulator's event queue, a two-level timing wheel.
 *
 * Simulated time never goes back, so no event is due before the wheel's
 * cursor (`cur`, at or before the next event).  Level 0 has 4096 slots of
 * 8192 ns and holds what is due in the 33.5 ms from the cursor's slot on:
 * the rest of the level-1 slot the cursor is in, then, wrapping around,
 * the start of the next one.  Level 1 has 4096 slots of 33.5 ms (137 s,
 * the level-2 window the cursor is in); later events wait on a `far`
 * list.  Insert and cancel are O(1) list operations; finding the next
 * event is a bitmap search (a summary word over 64 words); an event moves
 * down a level at most twice in its life.  A level-0 slot is kept sorted
 * by (time, seq), which new events nearly always satisfy by going to its
 * tail (or head), so events due at the same time run in the order they
 * were queued.  When no level-0 slot is in use from the cursor's to the
 * end, the cursor moves to the next level-1 slot, taking its events down
 * (and at the start of a level-2 window, the far list's) before any that
 * wrapped around: they may be due before.
 *
 * Level 0 is that wide, and slides with the cursor, because going through
 * level 1 costs an event a second placement, and most events are due
 * within a few ms (a burst, a sleep, a slice; credit's are 30 ms): when
 * level 0 was the cursor's 4.2 ms level-1 slot, one event set in six went
 * through level 1.
 *
 * What the engine does most is made short: pop takes the head of the
 * cursor's slot or the first one in use (no general unlink); set inserts
 * into level 0 without going through place(), comparing times only (a
 * fresh seq is the greatest); an event set again where it already is
 * keeps its place (stays()).
 *
 * The one way an event can be due before `cur`: sim_run_until looked ahead
 * past its limit (moving `cur` into a later level-1 slot) and time is then
 * set to a moment in between.  Such events go to the `early` list, sorted,
 * which is served first.
 */
#include <string.h>

#include "evq.h"

#define L0_SHIFT        SIM_EVQ_L0_SHIFT
#define L1_SHIFT        SIM_EVQ_L1_SHIFT
#define L2_SHIFT        SIM_EVQ_L2_SHIFT
#define SLOT_MASK       SIM_EVQ_MASK
#define POS_L1          SIM_EVQ_POS_L1
#define POS_FAR         SIM_EVQ_POS_FAR
#define POS_EARLY       SIM_EVQ_POS_EARLY

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
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

void sim__evq_place(struct sim_evq *q, struct sim_event *ev)
{
    uint64_t t = (uint64_t)ev->time, c = (uint64_t)q->cur;
    unsigned int slot;

    if ( ev->time < q->cur )
    {
        ev->pos = POS_EARLY;
        insert_sorted(&q->list[POS_EARLY], ev);
    }
    else if ( (t >> L0_SHIFT) - (c >> L0_SHIFT) < SIM_EVQ_SLOTS )
    {
        slot = (unsigned int)(t >> L0_SHIFT) & SLOT_MASK;
        ev->pos = slot;
        insert_sorted(&q->list[slot], ev);
        sim__evq_bit_set(&q->bits[0], slot);
    }
    else if ( (t >> L2_SHIFT) == (c >> L2_SHIFT) )
    {
        slot = (unsigned int)(t >> L1_SHIFT) & SLOT_MASK;
        ev->pos = POS_L1 + slot;
        append(&q->list[POS_L1 + slot], ev);
        sim__evq_bit_set(&q->bits[1], slot);
    }
    else
    {
        ev->pos = POS_FAR;
        append(&q->list[POS_FAR], ev);
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
        sim__evq_place(q, ev);
    }
}

/*
 * Level 0 is empty: cascade the next level-1 slot (or the far list's
 * earliest window) down.  False if nothing is left to cascade.
 */
static bool refill(struct sim_evq *q)
{
    uint64_t c = (uint64_t)q->cur, next = ((c >> L1_SHIFT) + 1) << L1_SHIFT;
    unsigned int slot;
    struct sim_event *ev, *min;

    if ( q->bits[0].summary )
    {
        /*
         * What level 0 holds is in the next level-1 slot: move there,
         * taking down first what waited for it in level 1 (or, at the
         * start of a level-2 window, on the far list), which may be due
         * before.
         */
        slot = (unsigned int)(next >> L1_SHIFT) & SLOT_MASK;
        if ( !slot )
            cascade(q, &q->list[POS_FAR], (sch_time_t)next);
        else if ( q->list[POS_L1 + slot].head )
        {
            sim__evq_bit_clear(&q->bits[1], slot);
            cascade(q, &q->list[POS_L1 + slot], (sch_time_t)next);
        }
        else
            q->cur = (sch_time_t)next;
        return true;
    }
    slot = sim__evq_bit_next(&q->bits[1], ((unsigned int)(c >> L1_SHIFT) &
                                           SLOT_MASK) + 1);
    if ( slot < SIM_EVQ_SLOTS )
    {
        sim__evq_bit_clear(&q->bits[1], slot);
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

struct sim_event *sim__evq_pop_slow(struct sim_evq *q, sch_time_t t)
{
    unsigned int slot;

    if ( q->list[POS_EARLY].head )
        return sim__evq_take_head(q, &q->list[POS_EARLY], NULL, t);
    do
        if ( !refill(q) )
            return NULL;
    while ( (slot = sim__evq_first_slot(q)) == SIM_EVQ_SLOTS );
    return sim__evq_take_head(q, &q->list[slot], &q->bits[0], t);
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
