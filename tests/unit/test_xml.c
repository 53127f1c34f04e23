/* test_xml.c: the expat tree on AWS-shaped documents and hostile input. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"

static const char ec2[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
    "  <requestId>r-1</requestId>\n"
    "  <reservationSet>\n"
    "    <item><instancesSet><item><instanceId>i-1</instanceId>"
    "<instanceState><code>16</code><name>running</name></instanceState></item></instancesSet></item>\n"
    "    <item><instancesSet><item><instanceId>i-2</instanceId></item></instancesSet></item>\n"
    "  </reservationSet>\n"
    "  <nextToken>tok&amp;en</nextToken>\n"
    "</DescribeInstancesResponse>\n";

START_TEST(paths_siblings_and_entities)
{
	struct xml_doc doc;
	ck_assert_int_eq(xml_parse(&doc, ec2, strlen(ec2)), 0);
	ck_assert_str_eq(doc.root->name, "DescribeInstancesResponse");
	ck_assert_str_eq(xml_text(doc.root, "requestId"), "r-1");
	ck_assert_str_eq(xml_text(doc.root, "nextToken"), "tok&en");
	const struct xml_node *i = xml_first(doc.root, "reservationSet/item");
	ck_assert_str_eq(xml_text(i, "instancesSet/item/instanceId"), "i-1");
	ck_assert_str_eq(xml_text(i, "instancesSet/item/instanceState/name"), "running");
	i = xml_next(i);
	ck_assert_ptr_nonnull(i);
	ck_assert_str_eq(xml_text(i, "instancesSet/item/instanceId"), "i-2");
	ck_assert_ptr_null(xml_next(i));
	ck_assert_ptr_null(xml_text(doc.root, "nope/none"));
	ck_assert_str_eq(xml_find(doc.root, "code")->text, "16");
	xml_free(&doc);
}
END_TEST

START_TEST(errors_have_position)
{
	struct xml_doc doc;
	const char *bad = "<a>\n<b></a>";
	ck_assert_int_eq(xml_parse(&doc, bad, strlen(bad)), -1);
	ck_assert_msg(strncmp(doc.error, "line 2, column ", 15) == 0, "%s", doc.error);
	ck_assert_int_eq(xml_parse(&doc, "", 0), -1);
	ck_assert_ptr_null(doc.root);
}
END_TEST

START_TEST(doctype_and_entity_bombs_refused)
{
	struct xml_doc doc;
	const char *bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
			   "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><lolz>&lol2;</lolz>";
	ck_assert_int_eq(xml_parse(&doc, bomb, strlen(bomb)), -1);
	ck_assert_ptr_nonnull(strstr(doc.error, "document type"));
}
END_TEST

START_TEST(deep_nesting_refused)
{
	struct xml_doc doc;
	size_t depth = 1000, n = depth * 7 + 1;
	char *s = malloc(n);
	char *p = s;
	for (size_t i = 0; i < depth; i++, p += 3)
		memcpy(p, "<a>", 3);
	for (size_t i = 0; i < depth; i++, p += 4)
		memcpy(p, "</a>", 4);
	*p = '\0';
	ck_assert_int_eq(xml_parse(&doc, s, strlen(s)), -1);
	ck_assert_ptr_nonnull(strstr(doc.error, "nested too deeply"));
	free(s);
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("xml");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, paths_siblings_and_entities);
	tcase_add_test(tc, errors_have_position);
	tcase_add_test(tc, doctype_and_entity_bombs_refused);
	tcase_add_test(tc, deep_nesting_refused);
	suite_add_tcase(s, tc);
	return s;
}
