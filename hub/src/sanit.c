/* SPDX-License-Identifier: MIT */
/* sanit.c - sanitisation arithmetic: consecutive runs with the gap rule,
 * and the status of a batch per standard (see sanit.h). */
#include "sanit.h"

#include <string.h>

#include "hub_err.h"

static const char *const std_names[] = {
    "none", "us_pfrp_invessel", "us_pfrp_windrow", "fr_72h_cumulative", "uk_pas100",
};

static const char *const status_names[] = {
    "UNKNOWN", "NOT_DEMONSTRATED", "PASS", "FAIL",
};

int sanit_standard_parse(const char *name, enum sanit_standard *out)
{
    size_t i;

    if (!name)
        return HUB_EINVAL;
    for (i = 0; i < sizeof(std_names) / sizeof(std_names[0]); i++) {
        if (strcmp(name, std_names[i]) == 0) {
            *out = (enum sanit_standard)i;
            return HUB_OK;
        }
    }
    if (strcmp(name, "us_pfrp_vessel") == 0) {
        *out = SANIT_US_PFRP_INVESSEL;
        return HUB_OK;
    }
    if (strcmp(name, "pas100") == 0) {
        *out = SANIT_UK_PAS100;
        return HUB_OK;
    }
    return HUB_EINVAL;
}

const char *sanit_standard_name(enum sanit_standard s)
{
    if ((unsigned)s >= sizeof(std_names) / sizeof(std_names[0]))
        return "?";
    return std_names[s];
}

const char *sanit_status_name(enum sanit_status s)
{
    if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
        return "?";
    return status_names[s];
}

void sanit_run_init(struct sanit_run *r, int req_turns)
{
    memset(r, 0, sizeof(*r));
    r->req_turns = req_turns;
}

static void run_note(struct sanit_run *r)
{
    int64_t len = r->last_ns - r->start_ns;

    if (len > r->longest_ns) {
        r->longest_ns = len;
        r->longest_turns = r->turns;
    } else if (len == r->longest_ns && r->turns > r->longest_turns) {
        r->longest_turns = r->turns;
    }
    if (r->turns >= r->req_turns && len > r->best_with_turns_ns)
        r->best_with_turns_ns = len;
}

void sanit_run_sample(struct sanit_run *r, int64_t ts_ns, int above, int64_t max_gap_ns)
{
    int bridged;

    if (r->prev_known_ns && ts_ns < r->prev_known_ns)
        return;
    bridged = r->prev_known_ns && ts_ns - r->prev_known_ns <= max_gap_ns;
    r->prev_known_ns = ts_ns;
    if (!above) {
        r->active = 0;
        r->turns = 0;
        return;
    }
    if (r->active && bridged) {
        r->last_ns = ts_ns;
    } else {
        r->active = 1;
        r->start_ns = ts_ns;
        r->last_ns = ts_ns;
        r->turns = 0;
    }
    run_note(r);
}

void sanit_run_turn(struct sanit_run *r)
{
    if (!r->active)
        return;
    r->turns++;
    run_note(r);
}

int64_t sanit_run_current_ns(const struct sanit_run *r)
{
    return r->active ? r->last_ns - r->start_ns : 0;
}

void sanit_req_defaults(struct sanit_req *q)
{
    q->invessel_h = 72.0;
    q->windrow_h = 15.0 * 24.0;
    q->cum_h = 72.0;
    q->pas100_h = 7.0 * 24.0;
}

enum sanit_status sanit_eval(enum sanit_standard s, const struct sanit_req *q,
                             const struct sanit_inputs *in)
{
    int pass;

    switch (s) {
    case SANIT_US_PFRP_INVESSEL:
        pass = in->run55_longest_h >= q->invessel_h;
        break;
    case SANIT_US_PFRP_WINDROW:
        pass = in->run55_turns_best_h >= q->windrow_h;
        break;
    case SANIT_FR_72H_CUMULATIVE:
        pass = in->cum55_h >= q->cum_h;
        break;
    case SANIT_UK_PAS100:
        pass = in->run65wet_longest_h >= q->pas100_h;
        break;
    default:
        return SANIT_UNKNOWN;
    }
    if (pass)
        return SANIT_PASS;
    if (in->known_h <= 0.0 || in->unknown_hot_h >= 1.0)
        return SANIT_UNKNOWN;
    if (s == SANIT_UK_PAS100 && in->reached_threshold && !in->have_moisture)
        return SANIT_UNKNOWN;
    if (!in->finished)
        return SANIT_NOT_DEMONSTRATED;
    return in->reached_threshold ? SANIT_FAIL : SANIT_NOT_DEMONSTRATED;
}
