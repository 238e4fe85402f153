/* SPDX-License-Identifier: MIT */
/* main.c - placeholder until the loop lands. */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "kompos-hub: not built yet\n");
    return 1;
}
