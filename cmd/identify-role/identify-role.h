/* identify-role.h: what main.c and self.c share (private to the command). */
#ifndef IDENTIFY_ROLE_H
#define IDENTIFY_ROLE_H

#include "config.h"
#include "log.h"

/* identify_self resolves the instance this runs on; 0 or an EX_* code. */
int identify_self(struct log *lg, const struct config *cfg, struct role_info *out);

#endif
