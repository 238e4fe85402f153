/* SPDX-License-Identifier: MIT */
/* check_main.h - the shared main() of every Check unit test executable. */
#ifndef HUB_CHECK_MAIN_H
#define HUB_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Loop counts of the long randomised checks: n, or n / 20 when the suite
 * runs under valgrind or ASan (scripts/lib/sanitize.sh sets
 * KOMPOS_UNDER_VALGRIND), which are 3 to 50 times slower and look for
 * memory errors rather than rare values; the plain run keeps all of n. */
static inline long hub_test_iters(long n)
{
    const char *v = getenv("KOMPOS_UNDER_VALGRIND");

    return v && v[0] && v[0] != '0' ? (n / 20 > 0 ? n / 20 : 1) : n;
}

#define HUB_CHECK_MAIN(suite_fn)                                  \
    int main(void)                                                \
    {                                                             \
        SRunner *sr = srunner_create(suite_fn());                 \
        int failed;                                               \
        srunner_run_all(sr, CK_ENV);                              \
        failed = srunner_ntests_failed(sr);                       \
        srunner_free(sr);                                         \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;         \
    }

#endif
