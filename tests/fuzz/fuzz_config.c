/* SPDX-License-Identifier: MIT */
/* fuzz_config.c - the config loader (config_load_string, hub/src/config.h).
 *
 * The input is libconfig text (cut at the first NUL byte, as a C string
 * would be). config_load_string() must either
 *   - succeed, and then the configuration must be one the hub can start
 *     with: the decoder compiles its templates and kinds, the InfluxDB
 *     writer configuration builds, hub_new() succeeds (--check must not
 *     say "valid" to a file the daemon then refuses); or
 *   - fail with HUB_EINVAL / HUB_ENOMEM, the struct zeroed, and an error
 *     "NAME:LINE: message" or "NAME: message" (NAME is the name given).
 * Never crash, never leak (LeakSanitizer checks every run).
 *
 * Inputs holding "@include" are skipped: libconfig would open the named
 * file relative to the working directory, and a fuzzer must not read
 * the file system (an @include of /dev/zero would hang it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decode.h"
#include "fuzz_input.h"
#include "hub.h"
#include "hub_err.h"
#include "influx_out.h"
#include "log.h"

#define NAME "fuzz.cfg"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int no_post(void *ctx, const char *url, const char *const *headers,
                   const void *body, size_t len, long timeout_ms)
{
    (void)ctx;
    (void)url;
    (void)headers;
    (void)body;
    (void)len;
    (void)timeout_ms;
    return -1;
}

/* What a loaded configuration must allow. */
static void check_usable(const struct hub_config *cfg)
{
    struct influx_out_cfg ocfg;
    struct validate_cfg vcfg;
    struct influx_transport t = { NULL, no_post };
    struct decoder *d;
    struct hub *h;
    char err[512];

    err[0] = '\0';
    d = decoder_new((const char *const *)cfg->decode.templates, cfg->decode.ntemplates,
                    (const char *const *)cfg->decode.kinds, cfg->decode.nkinds, err,
                    sizeof(err));
    FUZZ_CHECK(d != NULL, "the config loads (--check says valid) but the decoder refuses it: %s",
               err);
    decoder_free(d);
    FUZZ_CHECK(influx_out_cfg_from(cfg, "secret", &ocfg, err, sizeof(err)) == HUB_OK,
               "the config loads (--check says valid) but the writer refuses it: %s", err);
    config_validate_cfg(cfg, &vcfg);
    h = hub_new(cfg, "secret", &t, err, sizeof(err));
    FUZZ_CHECK(h != NULL, "the config loads but hub_new refuses it: %s", err);
    hub_free(h);
}

static void check_error(const char *err, const struct hub_config *cfg)
{
    static const struct hub_config zero;
    size_t n = strlen(NAME);
    char after;

    FUZZ_CHECK(memcmp(cfg, &zero, sizeof(zero)) == 0, "the struct is not zeroed on error");
    FUZZ_CHECK(strncmp(err, NAME ":", n + 1) == 0, "error without the file name: %s", err);
    after = err[n + 1];
    FUZZ_CHECK((after >= '0' && after <= '9') || after == ' ',
               "error not in FILE:LINE: or FILE: form: %s", err);
    if (after != ' ') {
        const char *p = err + n + 1;

        while (*p >= '0' && *p <= '9')
            p++;
        FUZZ_CHECK(p[0] == ':' && p[1] == ' ', "error not in FILE:LINE: form: %s", err);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct hub_config cfg;
    char err[512];
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)argc;
    (void)argv;
    log_set_level((enum log_level)(LOG_LVL_ERROR + 1));   /* hub_new must not log */
    /* The printed defaults load back. */
    f = open_memstream(&text, &len);
    FUZZ_CHECK(f != NULL, "open_memstream");
    config_print_defaults(f);
    fclose(f);
    FUZZ_CHECK(config_load_string(text, NAME, &cfg, err, sizeof(err)) == HUB_OK,
               "the printed defaults do not load: %s", err);
    check_usable(&cfg);
    config_free(&cfg);
    free(text);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_config cfg;
    char err[512];
    char *text = malloc(size + 1);
    int rc;

    FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    if (strstr(text, "@include")) {
        free(text);
        return 0;
    }
    memset(&cfg, 0x5a, sizeof(cfg));
    memset(err, 'x', sizeof(err));
    rc = config_load_string(text, NAME, &cfg, err, sizeof(err));
    if (rc == HUB_OK) {
        check_usable(&cfg);
        config_free(&cfg);
    } else {
        FUZZ_CHECK(rc == HUB_EINVAL || rc == HUB_ENOMEM, "config_load_string returned %d", rc);
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "err is not NUL-terminated");
        check_error(err, &cfg);
    }
    free(text);
    return 0;
}
