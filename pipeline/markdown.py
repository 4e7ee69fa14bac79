"""Text from data or from people, made safe to put in Markdown that GitHub or mkdocs renders as HTML.

Column names, category values, branch names and reasons can carry `<script>` or Markdown syntax; every such
value goes through `escape` before it is written into a page, a pull-request body or a comment.
"""

from __future__ import annotations

import html
import re

MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def escape(value) -> str:
    """`value` as inert text: backslashes before Markdown syntax, then HTML entities for markup.

    In this order, so the `#` of an entity such as `&#x27;` is not escaped into visible text.
    """
    return html.escape(MARKDOWN_SPECIAL.sub(r"\\\1", str(value)), quote=True)


def code(value) -> str:
    """`value` shown as code, as an HTML element (a Markdown code span would show backslash escapes)."""
    return f"<code>{html.escape(str(value), quote=True)}</code>"
