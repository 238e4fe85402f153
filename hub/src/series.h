/* SPDX-License-Identifier: MIT */
/* series.h - registry of series (site, kind, id, field) with a hard cap.
 *
 * Each series owns one fixed-capacity ring of recent samples, its open
 * statistics window and the last accepted timestamp and value. The
 * registry never holds more than max_series series: a lookup that would
 * create one more returns NULL and counts an overflow. Lookup is a uthash
 * table keyed by the four names. Not thread-safe. */
#ifndef HUB_SERIES_H
#define HUB_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "reading.h"
#include "ring.h"
#include "stats.h"

struct series {
    char site[HUB_NAME_MAX];
    char kind[HUB_NAME_MAX];
    char id[HUB_NAME_MAX];
    char field[HUB_NAME_MAX];
    struct ring *ring;          /* recent accepted samples            */
    struct stats_window win;    /* open statistics window             */
    int64_t last_ts_ns;         /* newest accepted timestamp, 0: none */
    int64_t last_fault_ts_ns;   /* newest sensor_fault timestamp      */
    int64_t last_rx_wall_ns;    /* wall time the last reading came in */
    int has_valid;              /* 1 once a value was accepted        */
    double last_valid;          /* newest accepted value              */
    uint64_t accepted;          /* readings accepted                  */
    uint64_t rejected;          /* readings rejected (faults)         */
    int64_t faults_ts[4];       /* reading times of the last 4 faults  */
    unsigned faults_next;       /* (alert rule sensor_faults_1h)       */
    void *ext;                  /* owned by another module (the fault
                                   tracker of compost.c), or NULL    */
    void (*ext_free)(void *);   /* frees ext with the series         */
};

struct series_reg;              /* opaque */

/* Create a registry for up to max_series series, each with a ring of
 * ring_points samples. Returns NULL on bad arguments or no memory. */
struct series_reg *series_reg_new(size_t max_series, size_t ring_points);

/* Free the registry and every series. Accepts NULL. */
void series_reg_free(struct series_reg *r);

/* Find or create a series. Returns NULL when the cap is reached (counted
 * in series_reg_overflow()) or on allocation failure. *created is set to 1
 * when a new series was made. The pointer lives until series_reg_free(). */
struct series *series_get(struct series_reg *r, const char *site,
                          const char *kind, const char *id,
                          const char *field, int *created);

/* Change the cap (existing series stay, even above a lower cap) and the
 * ring size of series created from now on. Cannot fail. */
void series_reg_set_limits(struct series_reg *r, size_t max_series,
                           size_t ring_points);

size_t series_reg_count(const struct series_reg *r);
uint64_t series_reg_overflow(const struct series_reg *r);

/* Call fn for every series, in creation order. */
void series_reg_foreach(struct series_reg *r,
                        void (*fn)(struct series *s, void *ctx), void *ctx);

#endif /* HUB_SERIES_H */
