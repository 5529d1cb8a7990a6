/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tracker.h"

/* One slot of the open-addressing table. Slots are variable-sized: the ring of failure times
 * (uint32 seconds) follows the fixed part, so a jail with maxretry = 5 pays 20 + 20 bytes a slot.
 * Linear probing with backward-shift deletion: no tombstones, so lookups stay short however many
 * entries come and go. */
typedef struct Slot {
        uint8_t family;         /* 0: empty; SLOT_MOVED: gone from the old table while it drains */
        uint8_t n;              /* failures in the ring */
        uint8_t head;           /* index of the oldest failure */
        uint8_t pad;
        uint8_t bytes[16];
        uint32_t ts[];
} Slot;

/* One open-addressing table: capacity slots of slot_size bytes, capacity a power of two. */
typedef struct Table {
        uint8_t *slots;
        size_t capacity;
} Table;

/* Growing is incremental: the full table becomes `old`, a table twice its size becomes `cur`, and
 * each call moves a few of old's slots on (MIGRATE_STEP), so no call pays for rehashing a million
 * entries at once (that was 80-130 ms on the loop at 1,000,000 addresses). While old drains, an
 * address is in exactly one of the two tables; one found in old is moved to cur before it is
 * touched, so every change happens in cur. Nothing is ever inserted into old, and a slot leaving
 * it becomes SLOT_MOVED rather than empty, so old's probe chains stay intact. */
struct Tracker {
        unsigned maxretry;
        int64_t findtime;
        size_t max_entries;
        size_t slot_size;
        Table cur;
        Table old;              /* slots == NULL: not growing */
        size_t migrate_pos;     /* old's slots below this have been moved on */
        size_t size;            /* addresses in both tables */
        uint64_t seed;
};

#define TRACKER_MAXRETRY_MAX 255U
#define TRACKER_MIN_CAPACITY 64U
#define SLOT_MOVED 0xffU
/* Old slots moved per call. Growth starts at 80% of old's capacity C and the next one is due at
 * 80% of 2C, at least 0.8 C calls later; C / 8 calls drain old well before that. */
#define MIGRATE_STEP 8U

static inline Slot *slot_at(const Tracker *t, const Table *tab, size_t i) {
        return (Slot *) (tab->slots + i * t->slot_size);
}

static inline bool slot_live(const Slot *s) {
        return s->family != 0 && s->family != SLOT_MOVED;
}

static inline void slot_addr(const Slot *s, Addr *a) {
        a->family = s->family;
        memcpy(a->bytes, s->bytes, 16);
}

static inline size_t slot_home(const Tracker *t, const Table *tab, const Slot *s) {
        Addr a;

        slot_addr(s, &a);
        return (size_t) addr_hash(&a, t->seed) & (tab->capacity - 1);
}

static inline uint32_t slot_newest(const Tracker *t, const Slot *s) {
        return s->ts[(s->head + s->n - 1) % t->maxretry];
}

int tracker_new(unsigned maxretry, int64_t findtime_sec, size_t max_entries, Tracker **ret) {
        Tracker *t;

        if (maxretry < 1 || maxretry > TRACKER_MAXRETRY_MAX || findtime_sec < 1 || max_entries < 16)
                return -EINVAL;
        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->maxretry = maxretry;
        t->findtime = findtime_sec;
        t->max_entries = max_entries;
        t->slot_size = sizeof(Slot) + sizeof(uint32_t) * maxretry;
        t->cur.capacity = TRACKER_MIN_CAPACITY;
        if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != sizeof t->seed)
                t->seed = (uint64_t) (uintptr_t) t ^ 0x9e3779b97f4a7c15ULL;
        t->cur.slots = calloc(t->cur.capacity, t->slot_size);
        if (!t->cur.slots) {
                free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

Tracker *tracker_free(Tracker *t) {
        if (!t)
                return NULL;
        free(t->old.slots);
        free(t->cur.slots);
        free(t);
        return NULL;
}

size_t tracker_size(const Tracker *t) {
        return t->size;
}

size_t tracker_memory(const Tracker *t) {
        return sizeof *t + (t->cur.capacity + (t->old.slots ? t->old.capacity : 0)) * t->slot_size;
}

/* Returns the slot index of addr in tab, or the empty slot where it would go (*found = false). */
static size_t table_find(const Tracker *t, const Table *tab, const Addr *a, bool *found) {
        size_t mask = tab->capacity - 1;
        size_t i = (size_t) addr_hash(a, t->seed) & mask;

        for (;;) {
                Slot *s = slot_at(t, tab, i);
                if (s->family == 0) {
                        *found = false;
                        return i;
                }
                if (s->family == a->family && memcmp(s->bytes, a->bytes, 16) == 0) {
                        *found = true;
                        return i;
                }
                i = (i + 1) & mask;
        }
}

/* Moves old's slot i (live) into cur, where addr cannot be yet; returns its index in cur. */
static size_t slot_move_on(Tracker *t, size_t i) {
        Slot *s = slot_at(t, &t->old, i);
        Addr a;
        bool found;
        size_t k;

        slot_addr(s, &a);
        k = table_find(t, &t->cur, &a, &found);
        memcpy(slot_at(t, &t->cur, k), s, t->slot_size);
        s->family = SLOT_MOVED;
        return k;
}

static void migrate(Tracker *t, size_t steps) {
        while (t->old.slots && steps-- > 0) {
                if (slot_live(slot_at(t, &t->old, t->migrate_pos)))
                        slot_move_on(t, t->migrate_pos);
                if (++t->migrate_pos == t->old.capacity) {
                        free(t->old.slots);
                        t->old = (Table) {};
                        t->migrate_pos = 0;
                }
        }
}

/* Returns addr's slot index in cur, moving it there from old first; or the empty slot of cur
 * where it would go (*found = false). */
static size_t tracker_find(Tracker *t, const Addr *a, bool *found) {
        if (t->old.slots) {
                size_t j = table_find(t, &t->old, a, found);
                if (*found)
                        return slot_move_on(t, j);
        }
        return table_find(t, &t->cur, a, found);
}

static void tracker_remove_at(Tracker *t, size_t i) {
        Table *tab = &t->cur;
        size_t mask = tab->capacity - 1;
        size_t j = i;

        /* backward-shift deletion: pull later members of the cluster into the hole when their home
         * slot does not lie (cyclically) between the hole and their position */
        for (;;) {
                Slot *s;
                size_t home;

                j = (j + 1) & mask;
                s = slot_at(t, tab, j);
                if (s->family == 0)
                        break;
                home = slot_home(t, tab, s);
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        memcpy(slot_at(t, tab, i), s, t->slot_size);
                        i = j;
                }
        }
        memset(slot_at(t, tab, i), 0, t->slot_size);
        t->size--;
}

static int tracker_grow(Tracker *t) {
        uint8_t *n;

        /* a growth is never due while old still drains (see MIGRATE_STEP); should one be, finish */
        migrate(t, SIZE_MAX);
        /* calloc of a fresh mapping: pages are zeroed by the kernel as the moves first touch them */
        n = calloc(t->cur.capacity * 2, t->slot_size);
        if (!n)
                return -ENOMEM;
        t->old = t->cur;
        t->cur = (Table) { .slots = n, .capacity = t->old.capacity * 2 };
        t->migrate_pos = 0;
        return 0;
}

/* Drops failures older than the window; returns true when nothing is left. */
static bool slot_expire(const Tracker *t, Slot *s, int64_t now) {
        while (s->n > 0 && (int64_t) s->ts[s->head] < now - t->findtime) {
                s->head = (uint8_t) ((s->head + 1) % t->maxretry);
                s->n--;
        }
        return s->n == 0;
}

/* The table is full: evict the entry with the oldest newest-failure near addr's home slot. */
static void tracker_evict(Tracker *t, const Addr *a) {
        size_t mask;
        size_t i;
        size_t victim = SIZE_MAX;
        uint32_t oldest = UINT32_MAX;

        /* the victim is looked for in cur alone: have every entry there (rare, see MIGRATE_STEP) */
        migrate(t, SIZE_MAX);
        mask = t->cur.capacity - 1;
        i = (size_t) addr_hash(a, t->seed) & mask;
        for (size_t k = 0; k < t->cur.capacity && (victim == SIZE_MAX || k < 16); k++, i = (i + 1) & mask) {
                Slot *s = slot_at(t, &t->cur, i);
                if (s->family == 0)
                        continue;
                if (victim == SIZE_MAX || slot_newest(t, s) < oldest) {
                        oldest = slot_newest(t, s);
                        victim = i;
                }
        }
        if (victim != SIZE_MAX)
                tracker_remove_at(t, victim);
}

int tracker_record(Tracker *t, const Addr *addr, int64_t t_sec) {
        Addr a = {};
        bool found;
        size_t i;
        Slot *s;

        if (!addr || (addr->family != AF_INET && addr->family != AF_INET6) || t_sec < 0 || t_sec > UINT32_MAX)
                return -EINVAL;
        /* the key is the whole 16 bytes: make sure an IPv4 address has no stray tail bytes */
        a.family = addr->family;
        memcpy(a.bytes, addr->bytes, addr_len(addr));

        if (t->maxretry == 1)
                return 1;

        migrate(t, MIGRATE_STEP);
        i = tracker_find(t, &a, &found);
        if (!found) {
                if (t->size >= t->max_entries) {
                        tracker_evict(t, &a);
                        i = tracker_find(t, &a, &found);
                }
                /* 80% full at most: linear probing with a good hash stays short there, and 100,000
                 * addresses fit 131,072 slots instead of 262,144 */
                if ((t->size + 1) * 5 > t->cur.capacity * 4) {
                        if (tracker_grow(t) < 0) {
                                /* no memory to grow: make room instead of failing the failure */
                                tracker_evict(t, &a);
                        }
                        i = tracker_find(t, &a, &found);
                }
                s = slot_at(t, &t->cur, i);
                memset(s, 0, t->slot_size);
                s->family = a.family;
                memcpy(s->bytes, a.bytes, 16);
                t->size++;
        } else
                s = slot_at(t, &t->cur, i);

        slot_expire(t, s, t_sec);
        if (s->n == t->maxretry) {
                /* cannot happen (we reset at maxretry), but never overflow the ring */
                s->head = (uint8_t) ((s->head + 1) % t->maxretry);
                s->n--;
        }
        s->ts[(s->head + s->n) % t->maxretry] = (uint32_t) t_sec;
        s->n++;
        if (s->n >= t->maxretry) {
                tracker_remove_at(t, i);
                return (int) t->maxretry;
        }
        return s->n;
}

void tracker_forget(Tracker *t, const Addr *addr) {
        Addr a = {};
        bool found;
        size_t i;

        a.family = addr->family;
        memcpy(a.bytes, addr->bytes, addr_len(addr));
        i = tracker_find(t, &a, &found);
        if (found)
                tracker_remove_at(t, i);
}

size_t tracker_gc(Tracker *t, int64_t now_sec) {
        size_t removed = 0;

        /* old's slots not yet moved on: an expired one leaves as a moved one does */
        for (size_t i = t->migrate_pos; t->old.slots && i < t->old.capacity; i++) {
                Slot *s = slot_at(t, &t->old, i);
                if (slot_live(s) && slot_expire(t, s, now_sec)) {
                        s->family = SLOT_MOVED;
                        t->size--;
                        removed++;
                }
        }
        /* Walk backwards from an empty slot so that backward shifts never move an unvisited
         * entry behind the cursor. */
        for (size_t i = 0; i < t->cur.capacity;) {
                Slot *s = slot_at(t, &t->cur, i);
                if (s->family != 0 && slot_expire(t, s, now_sec)) {
                        tracker_remove_at(t, i);
                        removed++;
                        continue; /* a shifted entry may now sit at i */
                }
                i++;
        }
        return removed;
}
