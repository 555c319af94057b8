"""A YAML subset reader for the example manifests (block mappings, block
sequences, plain and quoted scalars, comments), so the GPU tooling needs only
the Python standard library. Anything outside the subset raises ValueError
naming the line.

    load_yaml('a:\\n  b: "1"\\n  c:\\n  - x\\n') == {"a": {"b": "1", "c": ["x"]}}

Scalars stay strings (as Kubernetes reads quoted annotation values); flow
collections, anchors and multi-line strings are not supported.
"""


def _strip_comment(line):
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(text, lineno):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text[:1] in ("[", "{", "&", "*", "|", ">") and text not in ("[]", "{}"):
        raise ValueError(f"line {lineno}: unsupported YAML construct {text!r}")
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return text


def _split_key(text, lineno):
    key, sep, rest = text.partition(":")
    if not sep or (rest and not rest.startswith(" ")):
        raise ValueError(f"line {lineno}: expected 'key: value', got {text!r}")
    return _scalar(key, lineno), rest.strip()


def load_yaml(source):
    lines = []
    for n, raw in enumerate(source.splitlines(), 1):
        s = _strip_comment(raw)
        if s.strip() and s.strip() != "---":
            lines.append((len(s) - len(s.lstrip(" ")), s.strip(), n))
    value, pos = _block(lines, 0, lines[0][0] if lines else 0)
    if pos != len(lines):
        raise ValueError(f"line {lines[pos][2]}: unexpected indentation")
    return value


def _block(lines, pos, indent):
    if pos >= len(lines):
        return None, pos
    if lines[pos][1].startswith("- ") or lines[pos][1] == "-":
        return _sequence(lines, pos, indent)
    return _mapping(lines, pos, indent)


def _value_after(lines, pos, indent, rest, lineno):
    """The value of a key whose text after ':' is `rest`, at `indent`."""
    if rest:
        return _scalar(rest, lineno), pos
    if pos < len(lines) and (lines[pos][0] > indent or
                             (lines[pos][0] == indent and lines[pos][1].startswith("-"))):
        return _block(lines, pos, lines[pos][0])
    return None, pos


def _mapping(lines, pos, indent):
    out = {}
    while pos < len(lines) and lines[pos][0] == indent and not lines[pos][1].startswith("-"):
        _, text, n = lines[pos]
        key, rest = _split_key(text, n)
        out[key], pos = _value_after(lines, pos + 1, indent, rest, n)
    return out, pos


def _sequence(lines, pos, indent):
    out = []
    while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("-"):
        _, text, n = lines[pos]
        item = text[1:].strip()
        if not item:
            value, pos = _block(lines, pos + 1, lines[pos + 1][0]) if pos + 1 < len(lines) \
                else (None, pos + 1)
            out.append(value)
            continue
        if ":" in item and not item[0] in "\"'" and _looks_like_key(item):
            # "- key: value" opens a mapping whose keys sit at the item's column.
            col = indent + 2
            key, rest = _split_key(item, n)
            first, pos = _value_after(lines, pos + 1, col, rest, n)
            mapping = {key: first}
            more, pos = _mapping(lines, pos, col) if pos < len(lines) and lines[pos][0] == col \
                else ({}, pos)
            mapping.update(more)
            out.append(mapping)
        else:
            out.append(_scalar(item, n))
            pos += 1
    return out, pos


def _looks_like_key(item):
    key, sep, rest = item.partition(":")
    return bool(sep) and (not rest or rest.startswith(" ")) and " " not in key.strip()
