"""Telegram's HTML parse mode, as the Bot API server applies it.

:func:`parse_html` turns the ``text`` of a request sent with ``parse_mode="HTML"``
into the plain text and the ``MessageEntity`` dicts that Telegram stores, or raises
:class:`EntityParseError` with the description Telegram would give after
``"Bad Request: can't parse entities: "``. It follows TDLib's ``parse_html``: the
same tags, the same error texts and byte offsets, UTF-16 entity offsets.

One deliberate difference: with ``strict=True`` (the emulator's default) a ``&``
that does not start ``&lt;``, ``&gt;``, ``&amp;``, ``&quot;`` or a numeric reference
ending in ``;`` is an error. Telegram keeps such a ``&`` as a literal character,
but in our code it always means user text that was not escaped, which is exactly
what tests should catch. ``strict=False`` behaves like Telegram.

:func:`trim` applies Telegram's removal of leading and trailing whitespace to a
text and its entities; :func:`utf16_len` measures text the way entity offsets do.

Example::

    >>> parse_html("<b>Hola</b> &amp; adiós").text
    'Hola & adiós'
    >>> parse_html("<b>Hola</b>").entities
    [{'type': 'bold', 'offset': 0, 'length': 4}]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EntityParseError", "ParsedText", "parse_html", "trim", "utf16_len"]

_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = frozenset(" \t\r\n\v\f")
_SPECIAL = re.compile(r"[<&]")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://\S+$|^tg:\S+$|^mailto:\S+$")
_BARE_DOMAIN = re.compile(r"^[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+(/\S*)?$")

JSONDict = dict[str, Any]


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; ``description`` is Telegram's wording."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True, slots=True)
class ParsedText:
    """Plain text plus Telegram ``MessageEntity`` dicts (UTF-16 offsets)."""

    text: str
    entities: list[JSONDict] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(source: str, pos: int, *, strict: bool) -> tuple[str, int] | None:
    """Decode the character reference at ``source[pos] == '&'``.

    Returns the character and the index after the reference, or None when it is
    not one (TDLib then keeps the ``&`` as a literal; strict mode rejects it).
    """
    n = len(source)
    end = pos + 1
    if end < n and source[end] == "#":
        end += 1
        value = 0
        digits_start = end
        if end < n and source[end] in "xX":
            end += 1
            digits_start = end
            while end < n and source[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(source[end], 16)
                end += 1
                if value >= 0x10FFFF:
                    return None
        else:
            while end < n and source[end].isascii() and source[end].isdigit():
                value = value * 10 + int(source[end])
                end += 1
                if value >= 0x10FFFF:
                    return None
        if end == digits_start or value == 0 or end - pos >= 10:
            return None
        char = chr(value)
    else:
        while end < n and source[end].isascii() and source[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(source[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and source[end] == ";":
        return char, end + 1
    if strict:
        return None
    return char, end


def _decode_attribute(value: str) -> str:
    out: list[str] = []
    i = 0
    while True:
        j = value.find("&", i)
        if j < 0:
            out.append(value[i:])
            return "".join(out)
        out.append(value[i:j])
        decoded = _decode_entity(value, j, strict=False)
        if decoded is None:
            out.append("&")
            i = j + 1
        else:
            out.append(decoded[0])
            i = decoded[1]


def _valid_url(url: str) -> bool:
    return bool(_URL_SCHEME.match(url) or _BARE_DOMAIN.match(url))


@dataclass(slots=True)
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the plain text
    text_index: int  # index into the list of output chunks, to recover the link text
    expandable: bool = False


def parse_html(source: str, *, strict: bool = True) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, or raise :class:`EntityParseError`."""
    if "<" not in source and "&" not in source:
        return ParsedText(source, [])
    chunks: list[str] = []
    entities: list[JSONDict] = []
    stack: list[_Open] = []
    offset = 0  # UTF-16 length of the output so far
    n = len(source)
    i = 0
    while i < n:
        match = _SPECIAL.search(source, i)
        if match is None:
            rest = source[i:]
            chunks.append(rest)
            offset += utf16_len(rest)
            break
        j = match.start()
        if j > i:
            plain = source[i:j]
            chunks.append(plain)
            offset += utf16_len(plain)
        if source[j] == "&":
            decoded = _decode_entity(source, j, strict=strict)
            if decoded is None:
                if strict:
                    raise EntityParseError(
                        f'Unescaped "&" at byte offset {_byte_offset(source, j)}: '
                        "use &amp; (the emulator's strict mode)"
                    )
                chunks.append("&")
                offset += 1
                i = j + 1
            else:
                chunks.append(decoded[0])
                offset += utf16_len(decoded[0])
                i = decoded[1]
            continue
        if j + 1 < n and source[j + 1] == "/":
            i = _close_tag(source, j, stack, chunks, entities, offset)
        else:
            i, opened = _open_tag(source, j)
            stack.append(_Open(opened[0], opened[1], offset, len(chunks), expandable=opened[2]))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(chunks), entities)


def _open_tag(source: str, begin: int) -> tuple[int, tuple[str, str, bool]]:
    """Parse a start tag at ``source[begin] == '<'``; return the next index and the tag."""
    n = len(source)
    i = begin + 1
    while i < n and source[i] not in _SPACE and source[i] != ">":
        i += 1
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
    tag = source[begin + 1 : i].lower()
    if tag not in _SUPPORTED_TAGS:
        raise EntityParseError(
            f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
        )
    argument = ""
    expandable = False
    while True:
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        if source[i] == ">":
            break
        name_start = i
        while i < n and source[i] not in _SPACE and source[i] not in "=>":
            i += 1
        name = source[name_start:i].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(source, begin)}"
            )
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n or source[i] != "=":
            if tag == "blockquote" and name == "expandable":
                expandable = True
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(source, begin)}"
            )
        i += 1
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        if source[i] in "'\"":
            quote = source[i]
            end = source.find(quote, i + 1)
            if end < 0:
                raise EntityParseError(
                    f"Unclosed end of attribute value at byte offset {_byte_offset(source, i)}"
                )
            value = _decode_attribute(source[i + 1 : end])
            i = end + 1
        else:
            token = _NAME_TOKEN.match(source, i)
            assert token is not None  # the pattern matches the empty string
            value = token.group().lower()
            token_start = i
            i = token.end()
            if i >= n or (source[i] not in _SPACE and source[i] != ">"):
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset "
                    f"{_byte_offset(source, token_start)}"
                )
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value
        elif tag == "blockquote" and name == "expandable":
            expandable = True
    if tag == "span" and argument != "spoiler":
        raise EntityParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(source, begin)}'
        )
    if tag == "tg-emoji" and not (argument.isdigit() and int(argument) > 0):
        raise EntityParseError("Invalid custom emoji identifier specified")
    return i + 1, (tag, argument, expandable)


def _close_tag(
    source: str,
    begin: int,
    stack: list[_Open],
    chunks: list[str],
    entities: list[JSONDict],
    offset: int,
) -> int:
    """Parse an end tag at ``source[begin:begin+2] == '</'``; emit the entity it closes."""
    n = len(source)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
    i = begin + 2
    while i < n and source[i] not in _SPACE and source[i] != ">":
        i += 1
    end_name = source[begin + 2 : i].lower()
    while i < n and source[i] in _SPACE:
        i += 1
    if i >= n or source[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
    opened = stack.pop()
    if end_name and end_name != opened.tag:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
            f'expected "</{opened.tag}>", found "</{end_name}>"'
        )
    length = offset - opened.offset
    if length > 0:
        _emit(opened, length, chunks, entities)
    return i + 1


def _emit(opened: _Open, length: int, chunks: list[str], entities: list[JSONDict]) -> None:
    tag, start = opened.tag, opened.offset
    simple = _SIMPLE_ENTITY_TYPES.get(tag)
    if simple is not None:
        entities.append({"type": simple, "offset": start, "length": length})
    elif tag == "a":
        url = opened.argument or "".join(chunks[opened.text_index :])
        user_id = _user_link(url)
        if user_id is not None:
            entities.append(
                {
                    "type": "text_mention",
                    "offset": start,
                    "length": length,
                    "user": {"id": user_id, "is_bot": False, "first_name": ""},
                }
            )
        elif _valid_url(url):
            entities.append({"type": "text_link", "offset": start, "length": length, "url": url})
        # Telegram silently drops links it cannot parse.
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and last["offset"] == start
            and last["length"] == length
            and opened.argument
        ):
            last["language"] = opened.argument
        else:
            entity: JSONDict = {"type": "code", "offset": start, "length": length}
            if opened.argument:
                entity["language"] = opened.argument  # kept until an enclosing <pre> closes
            entities.append(entity)
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == start
            and last["length"] == length
        ):
            language = entities.pop().get("language")
            pre: JSONDict = {"type": "pre", "offset": start, "length": length}
            if language:
                pre["language"] = language
            entities.append(pre)
        else:
            entities.append({"type": "pre", "offset": start, "length": length})
    elif tag == "blockquote":
        kind = "expandable_blockquote" if opened.expandable else "blockquote"
        entities.append({"type": kind, "offset": start, "length": length})
    elif tag == "tg-emoji":
        entities.append(
            {
                "type": "custom_emoji",
                "offset": start,
                "length": length,
                "custom_emoji_id": opened.argument,
            }
        )


def _user_link(url: str) -> int | None:
    prefix = "tg://user?id="
    if url.lower().startswith(prefix) and url[len(prefix) :].isdigit():
        return int(url[len(prefix) :])
    return None


def _is_trimmed_space(ch: str) -> bool:
    return ord(ch) <= 32


def trim(text: str, entities: list[JSONDict]) -> ParsedText:
    """Remove leading and trailing whitespace as Telegram does, shifting and clipping entities."""
    start = 0
    end = len(text)
    while start < end and _is_trimmed_space(text[start]):
        start += 1
    while end > start and _is_trimmed_space(text[end - 1]):
        end -= 1
    if start == 0 and end == len(text):
        return ParsedText(text, entities)
    trimmed = text[start:end]
    # Leading/trailing characters removed are ASCII, so UTF-16 shifts equal char counts.
    shift = start
    limit = utf16_len(trimmed)
    kept: list[JSONDict] = []
    for entity in entities:
        begin = max(entity["offset"] - shift, 0)
        finish = min(entity["offset"] + entity["length"] - shift, limit)
        if finish > begin:
            kept.append({**entity, "offset": begin, "length": finish - begin})
    return ParsedText(trimmed, kept)
