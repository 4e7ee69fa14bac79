"""Text from data or from people, made safe to put in Markdown that GitHub or mkdocs renders as HTML.

Column names, category values, periods, branch names and reasons can carry `<script>`, Markdown syntax, a
line break that ends a table row, an `@team` mention or a `#1` reference. Every such value goes through
`escape` (running text, table cells) or `code` (names) before it is written into a page, a pull-request body,
a comment, an issue or a job summary: these two functions are the only escaping in the project.
"""

from __future__ import annotations

import html
import re

MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#])")
# GitHub links `@name` (a notification to a person or team) and `#123` (a link to an issue) in rendered text,
# including text that came out of escapes, when the sign starts a word (`model@v1.2.0` links nothing). A word
# joiner (U+2060, invisible) after the sign breaks the pattern. `#` has its backslash before it by then.
LINKED = re.compile(r"(?<![\w@#])([@#])(?=\w)")
WORD_JOINER = "\u2060"


def _one_line(value) -> str:
    """A line break would end a table row or start a new block: lines are joined with spaces."""
    return " ".join(str(value).splitlines())


def escape(value) -> str:
    """`value` as inert text on one line: Markdown syntax backslashed, mentions disarmed, HTML as entities.

    In this order, so the `#` of an entity such as `&#x27;` is neither backslashed nor disarmed.
    """
    text = LINKED.sub(rf"\1{WORD_JOINER}", MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(value)))
    return html.escape(text, quote=True)


def code(value) -> str:
    """`value` shown as code: `escape`d inside an HTML code element.

    Not a Markdown code span: a backtick in the value would end it. Between HTML tags, Markdown still applies
    (CommonMark, Python-Markdown), so the backslash escapes work there and are not shown.
    """
    return f"<code>{escape(value)}</code>"
