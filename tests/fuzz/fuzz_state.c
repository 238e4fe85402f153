/* SPDX-License-Identifier: MIT */
/* fuzz_state.c - the loaders of the state files the hub reads at start
 * (compost.state: drum_load, tank_load; alerts.state: alert_load,
 * router_load). A file on an SD card can be anything after a power cut.
 *
 * The first input byte picks the loader; the rest is the text. Promises:
 * no crash, no leak, no UB; a load that succeeds saves to text that loads
 * again and saves to the same text (a fixed point); the object keeps
 * working afterwards (advance, get, next). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "drum.h"
#include "fuzz_input.h"
#include "hub_err.h"
#include "route.h"
#include "tank.h"

#define BUF 300000

static char *text_of(const uint8_t *p, size_t n)
{
    char *t = malloc(n + 1);

    FUZZ_CHECK(t != NULL, "out of memory");
    memcpy(t, p, n);
    t[n] = '\0';
    return t;
}

static void drum_case(const char *text)
{
    struct drum *a = drum_new("1", NULL), *b = drum_new("1", NULL);
    char *s1 = malloc(DRUM_STATE_MAX + 1), *s2 = malloc(DRUM_STATE_MAX + 1);
    struct drum_metrics m;

    FUZZ_CHECK(a && b && s1 && s2, "out of memory");
    if (drum_load(a, text) == HUB_OK) {
        FUZZ_CHECK(drum_save(a, s1, DRUM_STATE_MAX + 1) >= 0, "save after load failed");
        FUZZ_CHECK(drum_load(b, s1) == HUB_OK, "saved text does not load: %s", s1);
        FUZZ_CHECK(drum_save(b, s2, DRUM_STATE_MAX + 1) >= 0, "second save failed");
        FUZZ_CHECK(strcmp(s1, s2) == 0, "not a fixed point:\n%s\n%s", s1, s2);
        drum_on_reading(a, "temp_core_c", 50.0, INT64_C(1800000000000000000), 0);
        (void)drum_advance(a, INT64_C(1800000000000000000));
        drum_get(a, &m);
    }
    drum_free(a);
    drum_free(b);
    free(s1);
    free(s2);
}

static void tank_case(const char *text)
{
    struct tank_geom g;
    struct tank_params p;
    struct tank_recipe r;
    struct tank *a, *b;
    char *s1 = malloc(TANK_STATE_MAX + 1), *s2 = malloc(TANK_STATE_MAX + 1);
    struct tank_metrics m;

    tank_geom_defaults(&g);
    tank_params_defaults(&p);
    tank_recipe_default(&r);
    a = tank_new("1", &g, &p, &r);
    b = tank_new("1", &g, &p, &r);
    FUZZ_CHECK(a && b && s1 && s2, "out of memory");
    if (tank_load(a, text) == HUB_OK) {
        FUZZ_CHECK(tank_save(a, s1, TANK_STATE_MAX + 1) == HUB_OK, "save after load failed");
        FUZZ_CHECK(tank_load(b, s1) == HUB_OK, "saved text does not load: %s", s1);
        FUZZ_CHECK(tank_save(b, s2, TANK_STATE_MAX + 1) == HUB_OK, "second save failed");
        FUZZ_CHECK(strcmp(s1, s2) == 0, "not a fixed point:\n%s\n%s", s1, s2);
        tank_on_reading(a, "distance_cm", 40.0, INT64_C(1800000000000000000), 0);
        (void)tank_advance(a, INT64_C(1800000000000000000));
        tank_get(a, &m);
    }
    tank_free(a);
    tank_free(b);
    free(s1);
    free(s2);
}

static void alert_case(const char *text)
{
    struct alert_rule rules[64];
    size_t n = alert_default_rules(rules, 64);
    struct alert_engine *a = alert_engine_new(rules, n, 64), *b = alert_engine_new(rules, n, 64);
    char *s1 = malloc(BUF), *s2 = malloc(BUF);
    struct alert_note note;

    FUZZ_CHECK(a && b && s1 && s2, "out of memory");
    if (alert_load(a, text) == HUB_OK) {
        FUZZ_CHECK(alert_save(a, s1, BUF) >= 0, "save after load failed");
        FUZZ_CHECK(alert_load(b, s1) == HUB_OK, "saved text does not load");
        FUZZ_CHECK(alert_save(b, s2, BUF) >= 0, "second save failed");
        FUZZ_CHECK(strcmp(s1, s2) == 0, "not a fixed point:\n%s\n%s", s1, s2);
        alert_feed_num(a, "s", "drum", "1", "temp_core_c", 70.0, INT64_C(1800000000000000000), 1000);
        alert_tick(a, 10000000);
        while (alert_next_note(a, &note))
            ;
    }
    alert_engine_free(a);
    alert_engine_free(b);
    free(s1);
    free(s2);
}

static void router_case(const char *text)
{
    struct member m[2];
    struct router *a, *b;
    struct route_delivery d;
    char *s1 = malloc(BUF), *s2 = malloc(BUF), err[256];
    int guard = 0;

    memset(m, 0, sizeof(m));
    snprintf(m[0].name, sizeof(m[0].name), "Sari");
    snprintf(m[0].phone, sizeof(m[0].phone), "081234567001");
    snprintf(m[0].channels[0], sizeof(m[0].channels[0]), "fonnte");
    m[0].nchannels = 1;
    snprintf(m[0].role, sizeof(m[0].role), "operator");
    m[0].tier = 1;
    m[1] = m[0];
    snprintf(m[1].name, sizeof(m[1].name), "Budi");
    snprintf(m[1].phone, sizeof(m[1].phone), "081234567002");
    m[1].tier = 2;
    a = router_new(m, 2, NULL, err, sizeof(err));
    b = router_new(m, 2, NULL, err, sizeof(err));
    FUZZ_CHECK(a && b && s1 && s2, "router_new: %s", err);
    if (router_load(a, text) == HUB_OK) {
        FUZZ_CHECK(router_save(a, s1, BUF) >= 0, "save after load failed");
        FUZZ_CHECK(router_load(b, s1) == HUB_OK, "saved text does not load");
        FUZZ_CHECK(router_save(b, s2, BUF) >= 0, "second save failed");
        FUZZ_CHECK(strcmp(s1, s2) == 0, "not a fixed point:\n%s\n%s", s1, s2);
        while (guard++ < 1000 && router_next(a, INT64_C(1800000000000000000), &d))
            ;
        FUZZ_CHECK(guard < 1000, "router_next never runs dry");
    }
    router_free(a);
    router_free(b);
    free(s1);
    free(s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1 || size > 200000)
        return 0;
    text = text_of(data + 1, size - 1);
    switch (data[0] % 4) {
    case 0: drum_case(text); break;
    case 1: tank_case(text); break;
    case 2: alert_case(text); break;
    default: router_case(text); break;
    }
    free(text);
    return 0;
}
