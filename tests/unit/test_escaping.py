"""One hostile name through every body the project writes to GitHub: the pull-request comment (and so the
promotion pull request's body, built by the same code), the drift-alert issue and the job summary.

Each body is rendered by a real Markdown parser (Python-Markdown, which mkdocs uses); the rendered HTML must
hold no element, link or image the name brought, and GitHub's mention and reference patterns must not match.
"""

import re

import markdown as markdown_parser
import pytest

from pipeline import gate, markdown, pr_comment
from pipeline.drift import alert_body

HOSTILE = "x` <img src=x onerror=alert(1)> [x](javascript:alert(1)) ![i](https://e.vil/p.png) @team #1 | y\nz"
# What GitHub would turn into a notification or a link to issue 1, in the rendered text.
MENTION = re.compile(r"@team|#1\b")


def rendered(body: str) -> str:
    return markdown_parser.markdown(body, extensions=["tables"])


def assert_inert(body: str, links: tuple[str, ...] = ()) -> None:
    """No image, no link but the body's own `links`, no mention or issue reference in the rendered body."""
    html = rendered(body)
    assert "<img" not in html, html
    assert re.findall(r"<a\b[^>]*>", html) == [f'<a href="{link}">' for link in links], html
    assert not MENTION.search(html), html


def drift_report() -> dict:
    column = {
        "test": "ks",
        "status": "tested",
        "effect_size": 0.5,
        "adjusted_p_value": 0.001,
        "reason": f"drifted: {HOSTILE}",
    }
    return {
        "drifted": True,
        "reason": HOSTILE,
        "n_columns_drifted": 1,
        "n_columns_decided": 1,
        "share_drifted": 1.0,
        "drifted_columns": [HOSTILE],
        "columns": {HOSTILE: column},
        "prediction": {"drifted": False, "effect_size": 0.01, "test": "ks"},
    }


def test_the_drift_alert_issue():
    body = alert_body(drift_report(), HOSTILE, [HOSTILE, HOSTILE], "https://example.org/drift/")
    assert_inert(body, links=("https://example.org/drift/",))


@pytest.mark.parametrize(
    "section",
    [
        lambda: pr_comment.drift_section({**drift_report(), "current": HOSTILE}, {"current": HOSTILE}),
        lambda: pr_comment.params_section({"params.yaml": {HOSTILE: {"old": HOSTILE, "new": HOSTILE}}}),
        lambda: pr_comment.metrics_section({"evaluate.json": {HOSTILE: {"old": 1.0, "new": HOSTILE}}}, "", set()),
        lambda: pr_comment.gate_section({"decision": HOSTILE, "reasons": [HOSTILE]}, False),
    ],
    ids=["drift", "params", "metrics", "gate"],
)
def test_the_pull_request_comment_and_promotion_body(section):
    assert_inert("\n".join(section()))


def test_the_job_summary():
    decision = gate.Decision(decision="reject", base=HOSTILE, champion=HOSTILE, period=HOSTILE, rows=10)
    decision.check(HOSTILE, False, HOSTILE)
    assert_inert(gate.summary(decision))


def test_escaped_text_reads_as_it_was_written():
    """Escaping must not garble what a person reads: the rendered text is the name itself, on one line."""
    text = re.sub(r"<[^>]+>", "", rendered(markdown.escape(HOSTILE))).replace("\u2060", "")
    assert text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == HOSTILE.replace("\n", " ")
