"""Index settings and mappings as Elasticsearch treats them.

Settings: whatever shape they arrive in (nested {"index": {"number_of_shards":
10}}, flat {"index.number_of_shards": 10}, or bare {"number_of_shards": 10}),
Elasticsearch stores a flat map of "index."-prefixed keys to strings (lists
of strings for arrays), and answers in nested form unless flat_settings=true.
Unknown settings are refused, as the real server refuses them.

Mappings: checked for what a real server refuses (unknown field types,
analyzers that are not defined, unsupported root parameters, and mapping
types where the version does not accept them), and kept as given.
"""

import re

from es_common import EsError, illegal

# Settings a real index accepts, after the "index." prefix.  Exact names,
# then prefixes whose children are free-form (or checked elsewhere).
_KNOWN = {
    "number_of_shards", "number_of_replicas", "auto_expand_replicas",
    "refresh_interval", "max_result_window", "max_inner_result_window",
    "max_rescore_window", "max_docvalue_fields_search", "max_script_fields",
    "max_ngram_diff", "max_shingle_diff", "max_refresh_listeners",
    "max_terms_count", "max_regex_length", "analyze.max_token_count",
    "highlight.max_analyzed_offset", "codec", "hidden", "priority",
    "default_pipeline", "final_pipeline", "number_of_routing_shards",
    "routing_partition_size", "load_fixed_bitset_filters_eagerly",
    "shard.check_on_startup", "format", "creation_date", "provided_name",
    "uuid", "version.created", "version.upgraded", "gc_deletes",
    "query.default_field", "query_string.lenient", "soft_deletes.enabled",
    "write.wait_for_active_shards", "search.idle.after", "requests.cache.enable",
    "queries.cache.enabled", "unassigned.node_left.delayed_timeout",
}
_KNOWN_PREFIXES = (
    "analysis.", "similarity.", "routing.", "merge.", "indexing.slowlog.",
    "search.slowlog.", "store.", "sort.", "lifecycle.", "blocks.",
    "translog.", "mapping.", "soft_deletes.",
)
_PRIVATE = {"uuid", "version.created", "version.upgraded"}
_ANALYSIS_KINDS = ("analyzer", "tokenizer", "filter", "char_filter", "normalizer")
_ANALYZER_TYPES = {
    "standard", "simple", "whitespace", "stop", "keyword", "pattern",
    "fingerprint", "custom", "english", "french", "german", "snowball",
}
BUILTIN_ANALYZERS = {"standard", "simple", "whitespace", "stop", "keyword",
                     "pattern", "fingerprint", "english", "default"}
FIELD_TYPES = {
    "text", "keyword", "long", "integer", "short", "byte", "double", "float",
    "half_float", "scaled_float", "date", "date_nanos", "boolean", "binary",
    "object", "nested", "ip", "geo_point", "geo_shape", "integer_range",
    "long_range", "float_range", "double_range", "date_range", "ip_range",
    "completion", "alias", "flattened", "wildcard", "constant_keyword",
    "unsigned_long", "version", "token_count", "search_as_you_type",
    "dense_vector", "rank_feature", "rank_features", "match_only_text",
}
ROOT_MAPPING_KEYS = {
    "properties", "dynamic", "_source", "_meta", "dynamic_templates",
    "date_detection", "numeric_detection", "dynamic_date_formats",
    "_routing", "enabled", "runtime", "_field_names", "_size",
}


def _scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    raise illegal("settings values must be scalars or arrays of scalars")


def flatten(settings, prefix=""):
    """settings in any shape -> {"index.x.y": "v" or ["v", ...]}."""
    if not isinstance(settings, dict):
        raise EsError(400, "settings_exception",
                      "Failed to load settings from [%s]" % settings)
    out = {}
    for key, value in settings.items():
        full = prefix + key
        if isinstance(value, dict):
            out.update(flatten(value, full + "."))
            continue
        if value is None:
            continue
        if not full.startswith("index."):
            full = "index." + full
        if isinstance(value, list):
            out[full] = [_scalar(v) for v in value]
        else:
            out[full] = _scalar(value)
    return out


def nest(flat):
    """{"index.a.b": "1"} -> {"index": {"a": {"b": "1"}}}."""
    out = {}
    for key in sorted(flat):
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            nxt = node.get(p)
            if not isinstance(nxt, dict):
                nxt = node[p] = {}
            node = nxt
        node[parts[-1]] = flat[key]
    return out


def render(flat, flat_settings):
    return dict(flat) if flat_settings else nest(flat)


def _int_setting(flat, key, low, high=None):
    if key not in flat:
        return
    v = flat[key]
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise illegal("Failed to parse value [%s] for setting [%s]" % (v, key))
    if n < low:
        raise illegal("Failed to parse value [%s] for setting [%s] must be >= %d"
                      % (v, key, low))
    if high is not None and n > high:
        raise illegal("Failed to parse value [%s] for setting [%s] must be <= %d"
                      % (v, key, high))


def validate(flat, user=True):
    """Refuse what a real server refuses.  user: set by a request (private
    settings such as index.uuid cannot be)."""
    for key in flat:
        short = key[len("index."):]
        if user and short in _PRIVATE:
            raise illegal("private index setting [%s] can not be set explicitly" % key)
        if short in _KNOWN or short.startswith(_KNOWN_PREFIXES):
            continue
        raise illegal("unknown setting [%s] please check that any required plugins "
                      "are installed, or check the breaking changes documentation "
                      "for removed settings" % key)
    _int_setting(flat, "index.number_of_shards", 1, 1024)
    _int_setting(flat, "index.number_of_replicas", 0)
    _validate_analysis(flat)


def analyzers(flat):
    """The analyzer names the settings define."""
    names = set()
    for key in flat:
        m = re.match(r"^index\.analysis\.analyzer\.([^.]+)\.", key)
        if m:
            names.add(m.group(1))
    return names


def _validate_analysis(flat):
    for key in flat:
        if not key.startswith("index.analysis."):
            continue
        parts = key.split(".")
        if len(parts) < 5 or parts[2] not in _ANALYSIS_KINDS:
            raise illegal("unknown setting [%s] please check that any required "
                          "plugins are installed, or check the breaking changes "
                          "documentation for removed settings" % key)
    for name in analyzers(flat):
        base = "index.analysis.analyzer.%s." % name
        atype = flat.get(base + "type")
        if atype is None:
            if base + "tokenizer" not in flat:
                raise illegal("analyzer [%s] must specify either an analyzer type, "
                              "or a tokenizer" % name)
            continue
        if atype not in _ANALYZER_TYPES:
            raise illegal("Unknown analyzer type [%s] for [%s]" % (atype, name))
        if atype == "custom" and base + "tokenizer" not in flat:
            raise illegal("Custom Analyzer [%s] must be configured with a tokenizer"
                          % name)
        if atype == "pattern" and base + "pattern" in flat:
            try:
                re.compile(flat[base + "pattern"])
            except re.error as e:
                raise illegal("Invalid regex [%s] for analyzer [%s]: %s"
                              % (flat[base + "pattern"], name, e))


def _mapping_error(reason):
    return EsError(400, "mapper_parsing_exception", reason)


def _check_fields(props, defined, path):
    if not isinstance(props, dict):
        raise _mapping_error("Expected map for property [properties] on field [%s] "
                             "but got a class java.lang.String" % path)
    for name, field in props.items():
        full = path + name
        if not isinstance(field, dict):
            raise _mapping_error("Expected map for property [fields] on field [%s] "
                                 "but got a class java.lang.String" % full)
        ftype = field.get("type", "object" if "properties" in field else None)
        if ftype is None:
            raise _mapping_error("No type specified for field [%s]" % full)
        if ftype not in FIELD_TYPES:
            raise _mapping_error("No handler for type [%s] declared on field [%s]"
                                 % (ftype, name))
        for key in ("analyzer", "search_analyzer", "search_quote_analyzer"):
            a = field.get(key)
            if a is not None and a not in defined and a not in BUILTIN_ANALYZERS:
                raise _mapping_error("Failed to parse mapping [_doc]: analyzer [%s] "
                                     "has not been configured in mappings" % a)
        if "properties" in field:
            _check_fields(field["properties"], defined, full + ".")
        if "fields" in field:
            _check_fields(field["fields"], defined, full + ".")


def typeless(mappings, version, include_type_name):
    """The mapping without its type name, or an error where a real server of
    this version refuses the shape.  include_type_name: the request's
    parameter, already defaulted for the version."""
    if not isinstance(mappings, dict):
        raise _mapping_error("Failed to parse mapping: mappings must be an object")
    if not mappings:
        return {}
    if include_type_name:
        keys = list(mappings)
        if len(keys) != 1 or not isinstance(mappings[keys[0]], dict) or \
                keys[0] in ROOT_MAPPING_KEYS:
            raise _mapping_error(
                "Failed to parse mapping [%s]: Root mapping definition has "
                "unsupported parameters: %s" % (keys[0], _params(mappings)))
        return mappings[keys[0]]
    return mappings


def _params(d):
    return " ".join("[%s : %s]" % (k, v) for k, v in d.items())


def validate_mapping(mapping, flat_settings):
    """A typeless mapping; refuses unknown root parameters (a leftover type
    name lands here), unknown field types, undefined analyzers."""
    unknown = {k: v for k, v in mapping.items() if k not in ROOT_MAPPING_KEYS}
    if unknown:
        raise _mapping_error("Root mapping definition has unsupported parameters:  "
                             + _params(unknown))
    if "properties" in mapping:
        _check_fields(mapping["properties"], analyzers(flat_settings), "")


def merge_mappings(base, over):
    """Template mappings under request mappings, properties merged deeply."""
    out = dict(base)
    for key, value in over.items():
        if key == "properties" and isinstance(out.get(key), dict):
            props = dict(out[key])
            for name, field in value.items():
                old = props.get(name)
                if isinstance(old, dict) and isinstance(field, dict) and \
                        "properties" in old and "properties" in field:
                    field = merge_mappings(old, field)
                props[name] = field
            out[key] = props
        else:
            out[key] = value
    return out
