/*
 * plan.c: what to change in Consul, shown as a diff.
 *
 * The files' keys (want) and Consul's (have), both sorted, are walked
 * side by side: a key only in want is added, one in both with another
 * value is changed, and with --prune one only in have is deleted.  Keys
 * ending in '/' are Consul's folder markers, which no file can define:
 * they are left alone.  Values under secret-looking keys are masked.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "consul-load.h"

#define SHOW_MAX 160 /* value bytes shown in a diff line */

static bool
folder_marker(const struct kv *kv)
{
	size_t n = strlen(kv->key);
	return n > 0 && kv->key[n - 1] == '/';
}

static void
add_op(struct plan *pl, enum op_kind kind, const struct kv *want, const struct kv *have)
{
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 64;
		pl->ops = xrealloc(pl->ops, pl->cap * sizeof(*pl->ops));
	}
	pl->ops[pl->n++] = (struct op){kind, want, have};
	if (kind == OP_ADD)
		pl->added++;
	else if (kind == OP_CHANGE)
		pl->changed++;
	else
		pl->deleted++;
}

void
plan_make(struct plan *pl, const struct kvset *want, const struct kvset *have, bool prune)
{
	size_t i = 0, j = 0;
	memset(pl, 0, sizeof(*pl));
	while (i < want->n || j < have->n) {
		const struct kv *w = i < want->n ? &want->v[i] : NULL;
		const struct kv *h = j < have->n ? &have->v[j] : NULL;
		if (h != NULL && folder_marker(h)) {
			j++;
			continue;
		}
		int c = w == NULL ? 1 : h == NULL ? -1 : strcmp(w->key, h->key);
		if (c < 0) {
			add_op(pl, OP_ADD, w, NULL);
			i++;
		} else if (c > 0) {
			if (prune)
				add_op(pl, OP_DELETE, NULL, h);
			j++;
		} else {
			if (w->vlen == h->vlen && memcmp(w->value, h->value, w->vlen) == 0)
				pl->unchanged++;
			else
				add_op(pl, OP_CHANGE, w, h);
			i++, j++;
		}
	}
}

/* show formats a value for a diff line: quoted and clipped, or masked. */
static void
show(char *dst, size_t size, const struct kv *kv)
{
	if (secret_key(kv->key)) {
		str_copy(dst, size, "<masked>");
		return;
	}
	if (!utf8_valid(kv->value, kv->vlen) || memchr(kv->value, '\0', kv->vlen)) {
		str_fmt_clip(dst, size, "<%zu bytes, not text>", kv->vlen);
		return;
	}
	if (kv->vlen <= SHOW_MAX) {
		str_fmt_clip(dst, size, "\"%s\"", kv->value);
		return;
	}
	size_t n = SHOW_MAX;
	while (n > 0 && ((unsigned char)kv->value[n] & 0xc0) == 0x80)
		n--; /* cut on a character boundary */
	str_fmt_clip(dst, size, "\"%.*s\"... (%zu bytes)", (int)n, kv->value, kv->vlen);
}

void
plan_print(const struct plan *pl, struct log *lg)
{
	char a[SHOW_MAX + 64], b[SHOW_MAX + 64];
	for (size_t i = 0; i < pl->n; i++) {
		const struct op *op = &pl->ops[i];
		switch (op->kind) {
		case OP_ADD:
			show(a, sizeof(a), op->want);
			log_info(lg, "+ %s = %s", op->want->key, a);
			break;
		case OP_CHANGE:
			show(a, sizeof(a), op->want);
			show(b, sizeof(b), op->have);
			log_info(lg, "~ %s = %s (was %s)", op->want->key, a, b);
			break;
		case OP_DELETE:
			show(b, sizeof(b), op->have);
			log_info(lg, "- %s (was %s)", op->have->key, b);
			break;
		}
	}
}

static json_t *
key_list(const struct plan *pl, enum op_kind kind)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < pl->n; i++) {
		const struct op *op = &pl->ops[i];
		if (op->kind == kind &&
		    json_array_append_new(a, json_string(op->want ? op->want->key : op->have->key)))
			xbuf(-1);
	}
	return a;
}

int
plan_summary(struct buf *out, const struct plan *pl, const char *prefix, bool json, bool dry_run,
    size_t txns)
{
	if (!json)
		return buf_printf(out, "%s: added %zu changed %zu deleted %zu unchanged %zu\n",
		    prefix, pl->added, pl->changed, pl->deleted, pl->unchanged);
	json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "prefix",
	    prefix, "dry_run", dry_run, "added", (json_int_t)pl->added, "changed",
	    (json_int_t)pl->changed, "deleted", (json_int_t)pl->deleted, "unchanged",
	    (json_int_t)pl->unchanged, "transactions", (json_int_t)txns, "added_keys",
	    key_list(pl, OP_ADD), "changed_keys", key_list(pl, OP_CHANGE), "deleted_keys",
	    key_list(pl, OP_DELETE));
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	int rc = text != NULL && buf_puts(out, text) == 0 && buf_putc(out, '\n') == 0 ? 0 : -1;
	free(text);
	return rc;
}

void
plan_free(struct plan *pl)
{
	free(pl->ops);
	memset(pl, 0, sizeof(*pl));
}
