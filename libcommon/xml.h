/*
 * xml.h: a small read-only tree over expat, for AWS Query API responses.
 *
 *	struct xml_doc doc;
 *	if (xml_parse(&doc, body, len) == -1)   // doc.error: "line L, column C: ..."
 *		...
 *	for (const struct xml_node *i = xml_first(doc.root, "reservationSet/item"); i;
 *	    i = xml_next(i))
 *		id = xml_text(i, "instancesSet/item/instanceId");
 *	xml_free(&doc);
 *
 * Element names lose their namespace ("http://ec2...  instanceId" becomes
 * "instanceId"); attributes are ignored (AWS puts nothing in them).  A
 * document type declaration is refused: AWS never sends one, and refusing
 * it closes the entity-expansion door entirely.  The tree is allocated on
 * the heap and owned by doc until xml_free().
 */
#ifndef SB_XML_H
#define SB_XML_H

#include <stddef.h>

#define XML_MAX_NODES 200000
#define XML_MAX_DEPTH 128
#define XML_MAX_TEXT (1u << 20)
#define XML_ERROR_MAX 256

struct xml_node {
	char *name;
	char *text; /* character data directly inside, "" if none */
	size_t textlen;
	struct xml_node *parent, *first, *last, *next;
};

struct xml_doc {
	struct xml_node *root;
	size_t nodes;
	char error[XML_ERROR_MAX];
};

int xml_parse(struct xml_doc *doc, const char *data, size_t len);
void xml_free(struct xml_doc *doc);

/* xml_child: the first child named name, or NULL. */
const struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* xml_first: the first node at path ("a/b/c") below n, or NULL. */
const struct xml_node *xml_first(const struct xml_node *n, const char *path);
/* xml_next: the next sibling with the same name, or NULL. */
const struct xml_node *xml_next(const struct xml_node *n);
/* xml_text: the text at path below n ("" for n itself), or NULL. */
const char *xml_text(const struct xml_node *n, const char *path);
/* xml_find: the first node named name anywhere below n (depth first). */
const struct xml_node *xml_find(const struct xml_node *n, const char *name);

#endif
