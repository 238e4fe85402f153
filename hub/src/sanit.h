/* SPDX-License-Identifier: MIT */
/* sanit.h - sanitisation (pathogen-reduction) arithmetic of one compost
 * batch (pure; no I/O, no logging, no clock). domain-compost.md §2.
 *
 * The drum module feeds "compliance samples": at each sample time the
 * compliance temperature T_comp (the coldest valid in-pile probe by
 * default) is either known (>= threshold or not) or unknown (fewer than
 * 2 valid probes or no core). Two counters come out of that:
 *   - a consecutive run (struct sanit_run): the longest stretch of known
 *     samples, all >= threshold, where no two consecutive known samples
 *     are more than max_gap apart. Its length is last - first sample
 *     time. Unknown samples neither extend nor break a run; a gap longer
 *     than max_gap between known samples breaks it (§2.2 rule 3).
 *   - cumulative hours (kept by the caller): the sum of the intervals
 *     between consecutive samples (at most max_gap apart) whose both ends
 *     are >= threshold (§2.2 rule 4, the French "durée totale").
 * sanit_eval() turns those numbers into a status for one standard. */
#ifndef HUB_SANIT_H
#define HUB_SANIT_H

#include <stdint.h>

enum sanit_standard {
    SANIT_NONE,
    SANIT_US_PFRP_INVESSEL,   /* >= 55 °C for 3 consecutive days              */
    SANIT_US_PFRP_WINDROW,    /* >= 55 °C for >= 15 consecutive days, >= 5
                                 turns during that run                       */
    SANIT_FR_72H_CUMULATIVE,  /* >= 55 °C for a cumulative 72 h              */
    SANIT_UK_PAS100           /* >= 65 °C for 7 continuous days at >= 51 %
                                 moisture                                    */
};

enum sanit_status { SANIT_UNKNOWN, SANIT_NOT_DEMONSTRATED, SANIT_PASS, SANIT_FAIL };

/* "none", "us_pfrp_invessel", "us_pfrp_windrow", "fr_72h_cumulative",
 * "uk_pas100" (the doc's aliases "us_pfrp_vessel" and "pas100" are also
 * accepted). Returns 0 and sets *out, or HUB_EINVAL for an unknown or
 * NULL name (*out untouched). */
int sanit_standard_parse(const char *name, enum sanit_standard *out);
/* Static lower-case name; "?" for an out-of-range value. */
const char *sanit_standard_name(enum sanit_standard s);
/* "UNKNOWN", "NOT_DEMONSTRATED", "PASS", "FAIL"; "?" out of range. */
const char *sanit_status_name(enum sanit_status s);

/* A consecutive run above one threshold. Zero it (sanit_run_init) at the
 * start of a batch. Times in ns. */
struct sanit_run {
    int64_t start_ns, last_ns;   /* current run; valid while active       */
    int active;
    int turns;                   /* turns since the current run started   */
    int64_t prev_known_ns;       /* last known sample (0 = none)          */
    int64_t longest_ns;          /* longest run so far                    */
    int longest_turns;           /* turns during the longest run          */
    int64_t best_with_turns_ns;  /* longest run that had >= req turns     */
    int req_turns;               /* turns that make a run count in
                                    best_with_turns_ns (windrow rule)     */
};

/* Zero the run; req_turns as above (0 is fine). Cannot fail. */
void sanit_run_init(struct sanit_run *r, int req_turns);
/* One known compliance sample at ts_ns: above = 1 when T_comp >= the
 * threshold. max_gap_ns: the longest bridgeable distance to the previous
 * known sample. Samples older than the previous one are ignored. */
void sanit_run_sample(struct sanit_run *r, int64_t ts_ns, int above, int64_t max_gap_ns);
/* A turn happened: counted in the current run, if any. */
void sanit_run_turn(struct sanit_run *r);
/* Length of the current run (0 when not in a run). */
int64_t sanit_run_current_ns(const struct sanit_run *r);

/* Everything sanit_eval needs, in hours. */
struct sanit_inputs {
    double run55_longest_h;       /* longest run >= 55 on T_comp           */
    double run55_turns_best_h;    /* longest run >= 55 with >= windrow_turns turns */
    double cum55_h;               /* cumulative hours >= 55 on T_comp      */
    double run65wet_longest_h;    /* longest run >= 65 with moisture >= 51 */
    int reached_threshold;        /* T_comp reached the standard's temperature
                                     at least once in this batch            */
    int have_moisture;            /* PAS 100: moisture was measured        */
    double known_h;               /* hours covered by known samples        */
    double unknown_hot_h;         /* hours of unknown samples while the core
                                     read >= the threshold (data that could
                                     have hidden a pass)                    */
    int finished;                 /* the batch left the hot phases (curing,
                                     mature, harvested): no more chance    */
};

struct sanit_req {                /* the thresholds of the standards        */
    double invessel_h;            /* 72   */
    double windrow_h;             /* 360  (15 d) */
    double cum_h;                 /* 72   */
    double pas100_h;              /* 168  (7 d) */
};

/* Defaults from §2.1. */
void sanit_req_defaults(struct sanit_req *q);

/* Status for one standard:
 *   SANIT_NONE                -> SANIT_UNKNOWN (not assessed);
 *   criterion met             -> SANIT_PASS (stays PASS);
 *   no known sample yet, or unknown_hot_h >= 1 h -> SANIT_UNKNOWN;
 *   batch not finished        -> SANIT_NOT_DEMONSTRATED (not yet);
 *   finished, threshold reached at least once -> SANIT_FAIL;
 *   finished, never reached   -> SANIT_NOT_DEMONSTRATED. */
enum sanit_status sanit_eval(enum sanit_standard s, const struct sanit_req *q,
                             const struct sanit_inputs *in);

#endif /* HUB_SANIT_H */
