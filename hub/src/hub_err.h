/* SPDX-License-Identifier: MIT */
/* hub_err.h - return codes shared by every module.
 *
 * Functions return HUB_OK (0) or one of the negative codes below.
 * HUB_EAGAIN means "transient, try again later"; HUB_EREJECT means
 * "permanent, do not retry". Constructors return a pointer or NULL. */
#ifndef HUB_ERR_H
#define HUB_ERR_H

enum hub_err {
    HUB_OK      =  0,
    HUB_ENOMEM  = -1,   /* allocation failed or a size cap was reached */
    HUB_EINVAL  = -2,   /* bad argument or malformed input */
    HUB_EIO     = -3,   /* syscall / library I/O failure; errno kept */
    HUB_EAGAIN  = -4,   /* transient: retry later */
    HUB_EREJECT = -5,   /* permanent: do not retry */
    HUB_EFULL   = -6,   /* a bounded queue is full */
    HUB_ENOENT  = -7    /* no such item (an unknown id) */
};

/* Static text for a code. Never NULL. */
const char *hub_strerror(int err);

#endif /* HUB_ERR_H */
