/* xml.c: expat events into a tree of named nodes with their text. */
#include "xml.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "buf.h"

struct parse_ctx {
	XML_Parser parser;
	struct xml_doc *doc;
	struct xml_node *cur;
	int depth;
	bool failed;
};

static void
fail(struct parse_ctx *ctx, const char *msg)
{
	if (!ctx->failed)
		str_fmt_clip(ctx->doc->error, sizeof(ctx->doc->error), "line %lu, column %lu: %s",
		    (unsigned long)XML_GetCurrentLineNumber(ctx->parser),
		    (unsigned long)XML_GetCurrentColumnNumber(ctx->parser), msg);
	ctx->failed = true;
	XML_StopParser(ctx->parser, XML_FALSE);
}

static void
free_tree(struct xml_node *n)
{
	while (n != NULL) {
		struct xml_node *next = n->next;
		free_tree(n->first);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

static void XMLCALL
on_start(void *user, const XML_Char *name, const XML_Char **attrs)
{
	struct parse_ctx *ctx = user;
	(void)attrs;
	if (ctx->failed)
		return;
	if (++ctx->doc->nodes > XML_MAX_NODES) {
		fail(ctx, "too many elements");
		return;
	}
	/* Freeing and searching recurse: keep the depth sane. */
	if (++ctx->depth > XML_MAX_DEPTH) {
		fail(ctx, "elements nested too deeply");
		return;
	}
	const char *local = strrchr(name, ' ');
	local = local ? local + 1 : name;
	struct xml_node *n = calloc(1, sizeof(*n));
	if (n == NULL || (n->name = strdup(local)) == NULL || (n->text = strdup("")) == NULL) {
		if (n != NULL) {
			free(n->name);
			free(n);
		}
		fail(ctx, "out of memory");
		return;
	}
	n->parent = ctx->cur;
	if (ctx->cur == NULL) {
		ctx->doc->root = n;
	} else {
		if (ctx->cur->last)
			ctx->cur->last->next = n;
		else
			ctx->cur->first = n;
		ctx->cur->last = n;
	}
	ctx->cur = n;
}

static void XMLCALL
on_end(void *user, const XML_Char *name)
{
	struct parse_ctx *ctx = user;
	(void)name;
	if (!ctx->failed && ctx->cur) {
		ctx->cur = ctx->cur->parent;
		ctx->depth--;
	}
}

static void XMLCALL
on_text(void *user, const XML_Char *s, int len)
{
	struct parse_ctx *ctx = user;
	struct xml_node *n = ctx->cur;
	if (ctx->failed || n == NULL || len <= 0)
		return;
	if (n->textlen + (size_t)len > XML_MAX_TEXT) {
		fail(ctx, "element text too long");
		return;
	}
	char *p = realloc(n->text, n->textlen + (size_t)len + 1);
	if (p == NULL) {
		fail(ctx, "out of memory");
		return;
	}
	memcpy(p + n->textlen, s, (size_t)len);
	n->textlen += (size_t)len;
	p[n->textlen] = '\0';
	n->text = p;
}

static void XMLCALL
on_doctype(void *user, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
    int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	fail(user, "document type declarations are not accepted");
}

int
xml_parse(struct xml_doc *doc, const char *data, size_t len)
{
	memset(doc, 0, sizeof(*doc));
	XML_Parser p = XML_ParserCreateNS("UTF-8", ' ');
	if (p == NULL) {
		str_copy(doc->error, sizeof(doc->error), "out of memory");
		return -1;
	}
	struct parse_ctx ctx = { .parser = p, .doc = doc, .cur = NULL, .failed = false };
	XML_SetUserData(p, &ctx);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	if (len > (size_t)INT32_MAX) {
		str_copy(doc->error, sizeof(doc->error), "document too large");
		XML_ParserFree(p);
		return -1;
	}
	enum XML_Status st = XML_Parse(p, data, (int)len, XML_TRUE);
	if (st != XML_STATUS_OK && !ctx.failed) {
		str_fmt_clip(doc->error, sizeof(doc->error), "line %lu, column %lu: %s",
		    (unsigned long)XML_GetCurrentLineNumber(p),
		    (unsigned long)XML_GetCurrentColumnNumber(p),
		    XML_ErrorString(XML_GetErrorCode(p)));
		ctx.failed = true;
	}
	XML_ParserFree(p);
	if (!ctx.failed && doc->root == NULL) {
		str_copy(doc->error, sizeof(doc->error), "empty document");
		ctx.failed = true;
	}
	if (ctx.failed) {
		xml_free(doc);
		return -1;
	}
	return 0;
}

void
xml_free(struct xml_doc *doc)
{
	free_tree(doc->root);
	doc->root = NULL;
	doc->nodes = 0;
}

const struct xml_node *
xml_child(const struct xml_node *n, const char *name)
{
	if (n == NULL)
		return NULL;
	for (const struct xml_node *c = n->first; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

const struct xml_node *
xml_first(const struct xml_node *n, const char *path)
{
	char part[128];
	while (n != NULL && *path) {
		size_t len = strcspn(path, "/");
		if (len >= sizeof(part))
			return NULL;
		memcpy(part, path, len);
		part[len] = '\0';
		n = xml_child(n, part);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

const struct xml_node *
xml_next(const struct xml_node *n)
{
	for (const struct xml_node *s = n ? n->next : NULL; s; s = s->next)
		if (strcmp(s->name, n->name) == 0)
			return s;
	return NULL;
}

const char *
xml_text(const struct xml_node *n, const char *path)
{
	const struct xml_node *t = xml_first(n, path);
	return t ? t->text : NULL;
}

const struct xml_node *
xml_find(const struct xml_node *n, const char *name)
{
	for (const struct xml_node *c = n ? n->first : NULL; c; c = c->next) {
		if (strcmp(c->name, name) == 0)
			return c;
		const struct xml_node *d = xml_find(c, name);
		if (d)
			return d;
	}
	return NULL;
}
