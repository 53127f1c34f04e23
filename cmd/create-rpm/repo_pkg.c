/*
 * repo_pkg.c: one package's entries in primary.xml, filelists.xml and
 * other.xml, read from its headers the way createrepo_c reads them
 * (its parsehdr.c and xml_dump_*.c are the reference for what goes
 * where: rpmlib() requirements are left out, scriptlet requirements are
 * marked pre="1", only "primary" files (/etc/..., .../bin/...,
 * /usr/lib/sendmail) are listed in primary.xml).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "create-rpm.h"
#include "exits.h"

enum {
	T_NAME = 1000, T_VERSION = 1001, T_RELEASE = 1002, T_EPOCH = 1003, T_SUMMARY = 1004,
	T_DESCRIPTION = 1005, T_BUILDTIME = 1006, T_BUILDHOST = 1007, T_SIZE = 1009,
	T_VENDOR = 1011, T_LICENSE = 1014, T_PACKAGER = 1015, T_GROUP = 1016, T_URL = 1020,
	T_ARCH = 1022, T_FILEMODES = 1030, T_FILEFLAGS = 1037, T_SOURCERPM = 1044,
	T_PROVIDENAME = 1047, T_REQUIREFLAGS = 1048, T_REQUIRENAME = 1049,
	T_REQUIREVERSION = 1050, T_CONFLICTFLAGS = 1053, T_CONFLICTNAME = 1054,
	T_CONFLICTVERSION = 1055, T_CHANGELOGTIME = 1080, T_CHANGELOGNAME = 1081,
	T_CHANGELOGTEXT = 1082, T_OBSOLETENAME = 1090, T_PROVIDEFLAGS = 1112,
	T_PROVIDEVERSION = 1113, T_OBSOLETEFLAGS = 1114, T_OBSOLETEVERSION = 1115,
	T_DIRINDEXES = 1116, T_BASENAMES = 1117, T_DIRNAMES = 1118,
	SIG_PAYLOADSIZE = 1007, SIG_LONGARCHIVESIZE = 271
};

#define PREREQ_MASK ((1u << 6) | (1u << 9) | (1u << 10) | (1u << 24))

void
pkg_free(struct pkg_info *p)
{
	free(p->file);
	hdr_free(&p->h);
	memset(p, 0, sizeof(*p));
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
read_at(int fd, void *b, size_t n, off_t off)
{
	ssize_t r = pread(fd, b, n, off);
	return r == (ssize_t)n ? 0 : -1;
}

/* read_header reads the header at off into h; its size into *size. */
static int
read_header(int fd, off_t off, struct hdr *h, size_t *size)
{
	unsigned char intro[16];
	if (read_at(fd, intro, 16, off) == -1)
		return -1;
	uint64_t n = 16 + (uint64_t)be32(intro + 8) * 16 + be32(intro + 12);
	if (n > (256u << 20))
		return -1;
	unsigned char *b = malloc(n);
	int r = b && read_at(fd, b, n, off) == 0 && hdr_parse(h, b, n) == 0 ? 0 : -1;
	free(b);
	*size = n;
	return r;
}

int
pkg_read(struct pkg_info *p, const char *dir, const char *file, const char *known_sum,
    char *err, size_t errsize)
{
	char path[4200];
	memset(p, 0, sizeof(*p));
	hdr_init(&p->h);
	if ((p->file = strdup(file)) == NULL ||
	    str_fmt(path, sizeof(path), "%s/%s", dir, file) == -1)
		return EX_SOFTWARE;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd == -1 || fstat(fd, &st) == -1) {
		str_fmt_clip(err, errsize, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return EX_NOINPUT;
	}
	p->size = (uint64_t)st.st_size;
	p->mtime = (long)st.st_mtime;
	unsigned char lead[4];
	struct hdr sig;
	size_t sigsize = 0, hsize = 0;
	hdr_init(&sig);
	int r = read_at(fd, lead, 4, 0) == 0 && be32(lead) == 0xedabeedbu &&
		read_header(fd, 96, &sig, &sigsize) == 0 ? 0 : -1;
	p->hdr_start = 96 + (sigsize + 7) / 8 * 8;
	if (r == 0)
		r = read_header(fd, (off_t)p->hdr_start, &p->h, &hsize);
	p->hdr_end = p->hdr_start + hsize;
	p->archive_size = hdr_u32_at(&sig, SIG_PAYLOADSIZE, 0, hdr_u32_at(&sig, SIG_LONGARCHIVESIZE, 0, 0));
	hdr_free(&sig);
	close(fd);
	if (r == -1 || hdr_str(&p->h, T_NAME) == NULL || hdr_str(&p->h, T_VERSION) == NULL ||
	    hdr_str(&p->h, T_RELEASE) == NULL || hdr_str(&p->h, T_ARCH) == NULL) {
		str_fmt_clip(err, errsize, "%s: not a binary RPM package (bad lead or headers)", path);
		return EX_DATAERR;
	}
	if (known_sum)
		return str_copy(p->checksum, sizeof(p->checksum), known_sum) ? EX_SOFTWARE : 0;
	if (sha256_file_hex(path, p->checksum, NULL) == -1) {
		str_fmt_clip(err, errsize, "%s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	return 0;
}

void
xml_escape(struct buf *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			buf_puts(out, "&amp;");
		else if (c == '<')
			buf_puts(out, "&lt;");
		else if (c == '>')
			buf_puts(out, "&gt;");
		else if (c == '"')
			buf_puts(out, "&quot;");
		else if (c >= 0x20 || c == '\n' || c == '\t')
			buf_putc(out, (char)c);
		/* other control characters are not allowed in XML 1.0 */
	}
}

static const char *
str_or_empty(const struct hdr *h, uint32_t tag)
{
	const char *s = hdr_str(h, tag);
	return s ? s : "";
}

/* version_attrs writes epoch="E" ver="V" rel="R" for an EVR string. */
static void
version_attrs(struct buf *out, const char *evr)
{
	const char *colon = strchr(evr, ':'), *v = colon ? colon + 1 : evr;
	const char *dash = strrchr(v, '-');
	buf_puts(out, " epoch=\"");
	if (colon)
		buf_append(out, evr, colon - evr);
	else
		buf_putc(out, '0');
	buf_puts(out, "\" ver=\"");
	struct buf t;
	buf_init(&t, 4096);
	buf_append(&t, v, dash ? (size_t)(dash - v) : strlen(v));
	xml_escape(out, buf_str(&t));
	buf_putc(out, '"');
	if (dash) {
		buf_puts(out, " rel=\"");
		xml_escape(out, dash + 1);
		buf_putc(out, '"');
	}
	buf_free(&t);
}

static const char *
flag_name(uint32_t f)
{
	switch (f & (RPMSENSE_LESS | RPMSENSE_GREATER | RPMSENSE_EQUAL)) {
	case RPMSENSE_LESS: return "LT";
	case RPMSENSE_GREATER: return "GT";
	case RPMSENSE_EQUAL: return "EQ";
	case RPMSENSE_LESS | RPMSENSE_EQUAL: return "LE";
	case RPMSENSE_GREATER | RPMSENSE_EQUAL: return "GE";
	}
	return NULL;
}

/* deps_xml writes <rpm:KIND> with one entry per dependency. */
static void
deps_xml(struct buf *out, const struct hdr *h, const char *kind, uint32_t tn, uint32_t tf,
    uint32_t tv, bool requires)
{
	uint32_t n = hdr_count(h, tn);
	bool open = false;
	for (uint32_t i = 0; i < n; i++) {
		const char *name = hdr_str_at(h, tn, i), *ver = hdr_str_at(h, tv, i);
		uint32_t f = hdr_u32_at(h, tf, i, 0);
		if (requires && strncmp(name, "rpmlib(", 7) == 0)
			continue;
		bool dup = false; /* one line per name, flags and version */
		for (uint32_t j = 0; j < i && !dup; j++)
			dup = strcmp(name, hdr_str_at(h, tn, j)) == 0 &&
			    strcmp(ver ? ver : "", hdr_str_at(h, tv, j) ? hdr_str_at(h, tv, j) : "") == 0 &&
			    flag_name(f) == flag_name(hdr_u32_at(h, tf, j, 0));
		if (dup)
			continue;
		if (!open)
			buf_printf(out, "    <rpm:%s>\n", kind);
		open = true;
		buf_puts(out, "      <rpm:entry name=\"");
		xml_escape(out, name);
		buf_putc(out, '"');
		if (flag_name(f) && ver && *ver) {
			buf_printf(out, " flags=\"%s\"", flag_name(f));
			version_attrs(out, ver);
		}
		if (requires && (f & PREREQ_MASK))
			buf_puts(out, " pre=\"1\"");
		buf_puts(out, "/>\n");
	}
	if (open)
		buf_printf(out, "    </rpm:%s>\n", kind);
}

static bool
is_primary_file(const char *path)
{
	return strncmp(path, "/etc/", 5) == 0 || strstr(path, "bin/") != NULL ||
	    strcmp(path, "/usr/lib/sendmail") == 0;
}

/* files_xml lists the files; primary_only: only the primary ones. */
static void
files_xml(struct buf *out, const struct hdr *h, bool primary_only, const char *indent)
{
	uint32_t n = hdr_count(h, T_BASENAMES);
	for (uint32_t i = 0; i < n; i++) {
		const char *dir = hdr_str_at(h, T_DIRNAMES, hdr_u32_at(h, T_DIRINDEXES, i, 0));
		const char *base = hdr_str_at(h, T_BASENAMES, i);
		struct buf path;
		buf_init(&path, 1u << 16);
		buf_printf(&path, "%s%s", dir ? dir : "", base ? base : "");
		if (!primary_only || is_primary_file(buf_str(&path))) {
			uint32_t mode = hdr_u32_at(h, T_FILEMODES, i, 0);
			uint32_t flags = hdr_u32_at(h, T_FILEFLAGS, i, 0);
			const char *type = (mode & 0170000) == 0040000 ? " type=\"dir\""
			    : (flags & RPMFILE_GHOST) ? " type=\"ghost\"" : "";
			buf_printf(out, "%s<file%s>", indent, type);
			xml_escape(out, buf_str(&path));
			buf_puts(out, "</file>\n");
		}
		buf_free(&path);
	}
}

static void
nevra_version(struct buf *out, const struct hdr *h)
{
	buf_printf(out, "  <version epoch=\"%u\" ver=\"", hdr_u32_at(h, T_EPOCH, 0, 0));
	xml_escape(out, hdr_str(h, T_VERSION));
	buf_puts(out, "\" rel=\"");
	xml_escape(out, hdr_str(h, T_RELEASE));
	buf_puts(out, "\"/>\n");
}

static void
element(struct buf *out, const char *indent, const char *name, const char *text)
{
	if (*text == '\0') {
		buf_printf(out, "%s<%s/>\n", indent, name);
		return;
	}
	buf_printf(out, "%s<%s>", indent, name);
	xml_escape(out, text);
	buf_printf(out, "</%s>\n", name);
}

int
pkg_primary_xml(const struct pkg_info *p, struct buf *out)
{
	const struct hdr *h = &p->h;
	buf_puts(out, "<package type=\"rpm\">\n");
	element(out, "  ", "name", hdr_str(h, T_NAME));
	element(out, "  ", "arch", hdr_str(h, T_ARCH));
	nevra_version(out, h);
	buf_printf(out, "  <checksum type=\"sha256\" pkgid=\"YES\">%s</checksum>\n", p->checksum);
	element(out, "  ", "summary", str_or_empty(h, T_SUMMARY));
	element(out, "  ", "description", str_or_empty(h, T_DESCRIPTION));
	element(out, "  ", "packager", str_or_empty(h, T_PACKAGER));
	element(out, "  ", "url", str_or_empty(h, T_URL));
	buf_printf(out, "  <time file=\"%ld\" build=\"%u\"/>\n", p->mtime, hdr_u32_at(h, T_BUILDTIME, 0, 0));
	buf_printf(out, "  <size package=\"%llu\" installed=\"%u\" archive=\"%u\"/>\n",
	    (unsigned long long)p->size, hdr_u32_at(h, T_SIZE, 0, 0), p->archive_size);
	buf_puts(out, "  <location href=\"");
	xml_escape(out, p->file);
	buf_puts(out, "\"/>\n  <format>\n");
	element(out, "    ", "rpm:license", str_or_empty(h, T_LICENSE));
	element(out, "    ", "rpm:vendor", str_or_empty(h, T_VENDOR));
	element(out, "    ", "rpm:group", str_or_empty(h, T_GROUP));
	element(out, "    ", "rpm:buildhost", str_or_empty(h, T_BUILDHOST));
	element(out, "    ", "rpm:sourcerpm", str_or_empty(h, T_SOURCERPM));
	buf_printf(out, "    <rpm:header-range start=\"%llu\" end=\"%llu\"/>\n",
	    (unsigned long long)p->hdr_start, (unsigned long long)p->hdr_end);
	deps_xml(out, h, "provides", T_PROVIDENAME, T_PROVIDEFLAGS, T_PROVIDEVERSION, false);
	deps_xml(out, h, "requires", T_REQUIRENAME, T_REQUIREFLAGS, T_REQUIREVERSION, true);
	deps_xml(out, h, "conflicts", T_CONFLICTNAME, T_CONFLICTFLAGS, T_CONFLICTVERSION, false);
	deps_xml(out, h, "obsoletes", T_OBSOLETENAME, T_OBSOLETEFLAGS, T_OBSOLETEVERSION, false);
	files_xml(out, h, true, "    ");
	buf_puts(out, "  </format>\n</package>\n");
	return out->max && out->len < out->max ? 0 : -1;
}

static void
pkg_open(struct buf *out, const struct pkg_info *p)
{
	buf_printf(out, "<package pkgid=\"%s\" name=\"", p->checksum);
	xml_escape(out, hdr_str(&p->h, T_NAME));
	buf_puts(out, "\" arch=\"");
	xml_escape(out, hdr_str(&p->h, T_ARCH));
	buf_puts(out, "\">\n");
	nevra_version(out, &p->h);
}

int
pkg_filelists_xml(const struct pkg_info *p, struct buf *out)
{
	pkg_open(out, p);
	files_xml(out, &p->h, false, "  ");
	buf_puts(out, "</package>\n");
	return out->len < out->max ? 0 : -1;
}

int
pkg_other_xml(const struct pkg_info *p, struct buf *out)
{
	pkg_open(out, p);
	uint32_t n = hdr_count(&p->h, T_CHANGELOGTIME);
	for (uint32_t i = 0; i < n; i++) {
		const char *a = hdr_str_at(&p->h, T_CHANGELOGNAME, i);
		const char *t = hdr_str_at(&p->h, T_CHANGELOGTEXT, i);
		buf_puts(out, "  <changelog author=\"");
		xml_escape(out, a ? a : "");
		buf_printf(out, "\" date=\"%u\">", hdr_u32_at(&p->h, T_CHANGELOGTIME, i, 0));
		xml_escape(out, t ? t : "");
		buf_puts(out, "</changelog>\n");
	}
	buf_puts(out, "</package>\n");
	return out->len < out->max ? 0 : -1;
}
