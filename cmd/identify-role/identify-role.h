/* identify-role.h: what main.c and self.c share (private to the command). */
#ifndef IDENTIFY_ROLE_H
#define IDENTIFY_ROLE_H

#include "buf.h"
#include "config.h"
#include "log.h"

/* identify_self resolves the instance this runs on; 0 or an EX_* code. */
int identify_self(struct log *lg, const struct config *cfg, struct role_info *out);

/* identify_payload reads a GitHub push webhook payload (path or "-"). */
int identify_payload(struct log *lg, const char *path, struct buf *out);

#endif
