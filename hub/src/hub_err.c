/* SPDX-License-Identifier: MIT */
#include "hub_err.h"

const char *hub_strerror(int err)
{
    switch (err) {
    case HUB_OK:      return "ok";
    case HUB_ENOMEM:  return "out of memory or over a size cap";
    case HUB_EINVAL:  return "invalid input";
    case HUB_EIO:     return "I/O error";
    case HUB_EAGAIN:  return "temporary failure, will retry";
    case HUB_EREJECT: return "rejected permanently";
    case HUB_EFULL:   return "queue full";
    case HUB_ENOENT:  return "not found";
    default:          return "unknown error";
    }
}
