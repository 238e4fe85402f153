/* SPDX-License-Identifier: MIT */
/* check_main.h - the shared main() of every Check unit test executable. */
#ifndef HUB_CHECK_MAIN_H
#define HUB_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

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
