"""Telegram's HTML parse mode: what is accepted, what it becomes, what is refused."""

from __future__ import annotations

import html

import pytest

from botapi_emulator.html import EntityParseError, parse_html, trim, utf16_len

VALID = [
    pytest.param("hola", "hola", [], id="plain"),
    pytest.param("<b>Hola</b>", "Hola", [("bold", 0, 4)], id="bold"),
    pytest.param("<strong>x</strong>", "x", [("bold", 0, 1)], id="strong"),
    pytest.param("<i>x</i><em>y</em>", "xy", [("italic", 0, 1), ("italic", 1, 1)], id="italic"),
    pytest.param("<u>x</u><ins>y</ins>", "xy", [("underline", 0, 1), ("underline", 1, 1)], id="u"),
    pytest.param(
        "<s>a</s><strike>b</strike><del>c</del>",
        "abc",
        [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
        id="strike",
    ),
    pytest.param("<tg-spoiler>x</tg-spoiler>", "x", [("spoiler", 0, 1)], id="tg-spoiler"),
    pytest.param('<span class="tg-spoiler">x</span>', "x", [("spoiler", 0, 1)], id="span"),
    pytest.param("<code>x = 1</code>", "x = 1", [("code", 0, 5)], id="code"),
    pytest.param("<pre>x</pre>", "x", [("pre", 0, 1)], id="pre"),
    pytest.param("<blockquote>q</blockquote>", "q", [("blockquote", 0, 1)], id="blockquote"),
    pytest.param(
        "<blockquote expandable>q</blockquote>",
        "q",
        [("expandable_blockquote", 0, 1)],
        id="blockquote-expandable",
    ),
    pytest.param("<B>x</B>", "x", [("bold", 0, 1)], id="upper-case-tag"),
    pytest.param("<b >x</b >", "x", [("bold", 0, 1)], id="spaces-in-tags"),
    pytest.param("<b>x</>", "x", [("bold", 0, 1)], id="anonymous-end-tag"),
    pytest.param("<b></b>x", "x", [], id="empty-entity-dropped"),
    pytest.param("<b>a <i>b</i></b>", "a b", [("bold", 0, 3), ("italic", 2, 1)], id="nested"),
    pytest.param("&lt;&gt;&amp;&quot;", '<>&"', [], id="named-entities"),
    pytest.param("&#60;&#x3C;&#X3c;", "<<<", [], id="numeric-entities"),
    pytest.param("O&#x27;Brien", "O'Brien", [], id="html.escape-apostrophe"),
    pytest.param("a > b", "a > b", [], id="bare-greater-than"),
    pytest.param("<b>ñandú 🦜</b> x", "ñandú 🦜 x", [("bold", 0, 8)], id="utf16-lengths"),
    pytest.param("🦜<b>x</b>", "🦜x", [("bold", 2, 1)], id="utf16-offsets"),
    pytest.param(html.escape("<script>&\"'"), "<script>&\"'", [], id="html.escape-roundtrip"),
]


@pytest.mark.parametrize(("source", "text", "entities"), VALID)
def test_valid_html(source: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


def test_link_becomes_text_link() -> None:
    parsed = parse_html('<a href="https://ogp.gob.mx/plan?a=1&amp;b=2">plan</a>')
    assert parsed.entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://ogp.gob.mx/plan?a=1&b=2"}
    ]


def test_user_link_becomes_text_mention() -> None:
    (entity,) = parse_html('<a href="tg://user?id=1001">Ana</a>').entities
    assert entity["type"] == "text_mention"
    assert entity["user"]["id"] == 1001


def test_unusable_link_is_dropped_like_telegram() -> None:
    assert parse_html('<a href="not a url">x</a>').entities == []


def test_pre_with_code_language() -> None:
    parsed = parse_html('<pre><code class="language-python">print(1)</code></pre>')
    assert parsed.entities == [{"type": "pre", "offset": 0, "length": 8, "language": "python"}]


def test_custom_emoji() -> None:
    (entity,) = parse_html('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>').entities
    assert entity == {
        "type": "custom_emoji",
        "offset": 0,
        "length": 2,
        "custom_emoji_id": "5368324170671202286",
    }


INVALID = [
    pytest.param("1 < 2", 'Unsupported start tag "" at byte offset 2', id="bare-less-than"),
    pytest.param("x <3 you", 'Unsupported start tag "3" at byte offset 2', id="heart"),
    pytest.param("x <3", "Unclosed start tag at byte offset 2", id="heart-at-end"),
    pytest.param("a<br>b", 'Unsupported start tag "br" at byte offset 1', id="br"),
    pytest.param("<p>x</p>", 'Unsupported start tag "p" at byte offset 0', id="p"),
    pytest.param("<b>x", 'Can\'t find end tag corresponding to start tag "b"', id="unclosed"),
    pytest.param("x</b>", "Unexpected end tag at byte offset 1", id="stray-end"),
    pytest.param(
        "<b><i>x</b></i>",
        'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"',
        id="mismatched",
    ),
    pytest.param("<b", "Unclosed start tag at byte offset 0", id="unterminated-tag"),
    pytest.param("<b>x</b", "Unclosed end tag at byte offset 4", id="unterminated-end"),
    pytest.param(
        '<span class="x">y</span>',
        'Tag "span" must have class "tg-spoiler" at byte offset 0',
        id="span-without-spoiler",
    ),
    pytest.param(
        '<a href="x>y</a>', "Unclosed end of attribute value at byte offset 8", id="open-quote"
    ),
    pytest.param(
        "<a href>y</a>",
        'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        id="attribute-without-value",
    ),
    pytest.param("ñ<x>", 'Unsupported start tag "x" at byte offset 2', id="byte-offsets"),
    pytest.param(
        "<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified", id="emoji-no-id"
    ),
    pytest.param("Tom & Jerry", 'Unescaped "&" at byte offset 4', id="bare-ampersand"),
    pytest.param("AT&T", 'Unescaped "&" at byte offset 2', id="ampersand-in-word"),
    pytest.param("&lt", 'Unescaped "&" at byte offset 0', id="entity-without-semicolon"),
    pytest.param("&nbsp;", 'Unescaped "&" at byte offset 0', id="unsupported-named-entity"),
    pytest.param("&#0;", 'Unescaped "&" at byte offset 0', id="null-character"),
]


@pytest.mark.parametrize(("source", "description"), INVALID)
def test_invalid_html(source: str, description: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert caught.value.description.startswith(description)


@pytest.mark.parametrize(
    ("source", "text"),
    [
        pytest.param("Tom & Jerry", "Tom & Jerry", id="bare-ampersand"),
        pytest.param("&lt", "<", id="entity-without-semicolon"),
        pytest.param("&nbsp;", "&nbsp;", id="unknown-entity-kept"),
    ],
)
def test_lenient_ampersand_like_telegram(source: str, text: str) -> None:
    assert parse_html(source, strict=False).text == text


def test_escaped_user_text_always_parses() -> None:
    nasty = "<b>1 < 2 & \"3\" > 'x' &amp; </i> 🦜"
    assert parse_html(f"<i>{html.escape(nasty)}</i>").text == nasty


def test_trim_shifts_and_clips_entities() -> None:
    parsed = parse_html("\n  <b>hola </b>\n")
    trimmed = trim(parsed.text, parsed.entities)
    assert trimmed.text == "hola"
    assert trimmed.entities == [{"type": "bold", "offset": 0, "length": 4}]


def test_utf16_len() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("ñ") == 1
    assert utf16_len("🦜") == 2
