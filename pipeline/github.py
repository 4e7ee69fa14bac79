"""The GitHub layer: the only code that talks to GitHub's API, always through the `gh` command line.

Every operation is a short list of REST requests (`Request`), each sent as one `gh api` command. The rest of
the template works on plain files and git; the workflows call `pipeline github ...` (see cli.py) or `pipeline
ct`, which end here. Git pushes to `origin` also go through here (`push`), so a reader finds every way the
template reaches GitHub in this file.

The transport is chosen from the environment (`client()`):
- normally `Gh`, which runs `gh api` with the token in `GH_TOKEN` (set by the workflow);
- with `PIPELINE_GITHUB_RECORD=<file>`, `Recorder`, which appends each request as one JSON line to the file
  and sends nothing. GET requests are answered from `PIPELINE_GITHUB_RESPONSES=<json file>` (a map from
  "GET path" to the response) or with an empty list. Tests and local `act` runs use it to compare the exact
  requests with the expected ones, with no network.

Untrusted input (an artifact from a fork's pull request, a branch name) is validated before any request is
built: repository names, pull request numbers and branch names must match strict patterns, bodies are cut to
GitHub's size limit, and nothing from a body is ever executed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

import typer

from pipeline.errors import PipelineError

MAX_BODY = 65_000  # GitHub refuses comment, issue and pull request bodies over 65,536 characters
REPORT_BYTES = 4_000_000  # a pull request report's data is a few kilobytes; a larger artifact is cut, then refused
COMMENT_MARKER = "<!-- pipeline:pr-comment -->"
# The pull-request label by which a reviewer accepts a model the gate rejected (ci.yml passes whether it is on)
OVERRIDE_LABEL = "accept-worse-model"
DRIFT_MARKER = "<!-- drift-alert -->"  # written by the drift stage at the end of outputs/reports/drift_alert.md
REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
NUMBER = re.compile(r"^[1-9][0-9]{0,9}$")
BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@-]{0,199}$")  # branches and tags such as model@v1.2.0
SHA = re.compile(r"^[0-9a-f]{40}$")
# Whose comments and issues are ours: the default token posts as github-actions[bot]; with a GitHub App the
# workflow sets PIPELINE_BOT_LOGIN to the App's bot ("<app-slug>[bot]"). Anyone can paste a marker, nobody
# else can post as the bot, so a comment or issue is ours only with both.
DEFAULT_BOT = "github-actions[bot]"
GITHUB_URL = "https://github.com/"
API_HEADERS = ["-H", "Accept: application/vnd.github+json", "-H", "X-GitHub-Api-Version: 2022-11-28"]


@dataclass(frozen=True)
class Request:
    """One REST request: method, path below https://api.github.com/ (with its query) and JSON body."""

    method: str
    path: str
    body: dict | None = None

    def command(self) -> list[str]:
        """The exact `gh api` command line; a body goes on stdin (`--input -`), never into the command line."""
        command = ["gh", "api", "--method", self.method, *API_HEADERS, self.path]
        if self.method == "GET":
            command.insert(2, "--paginate")  # every page, printed one JSON array after the other
        if self.body is not None:
            command += ["--input", "-"]
        return command

    def record(self) -> dict:
        """The request as the recorder writes it (one JSON line)."""
        return {"method": self.method, "path": self.path, "body": self.body}


class Gh:
    """Send requests with the `gh` command line (`GH_TOKEN` in the environment authenticates it)."""

    def send(self, request: Request):
        """Run the request's `gh api` command and return the parsed JSON (pages of lists are joined).

        Returns:
            The response, or None when GitHub answers 404 (the thing asked for does not exist).
        """
        stdin = json.dumps(request.body) if request.body is not None else None
        result = subprocess.run(request.command(), input=stdin, text=True, capture_output=True, check=False)
        if result.returncode != 0:
            if "(HTTP 404)" in result.stderr:
                return None
            raise PipelineError(f"GitHub {request.method} {request.path} failed: {result.stderr.strip()}")
        return parse_pages(result.stdout)


class Recorder:
    """Record requests as JSON lines instead of sending them; answer GET from a file of canned responses."""

    def __init__(self, record: Path, responses: Path | None = None):
        self.record = record
        self.responses = json.loads(responses.read_text(encoding="utf-8")) if responses else {}

    def send(self, request: Request):
        """Append the request to the record file; return the canned response (None, as for a 404, if none)."""
        with self.record.open("a", encoding="utf-8") as out:
            out.write(json.dumps(request.record(), sort_keys=True) + "\n")
        return self.responses.get(f"{request.method} {request.path}")


# The transports `client` hands out; the functions below work with either.
Api = Gh | Recorder


def client() -> Api:
    """The transport the environment asks for: a `Recorder` when PIPELINE_GITHUB_RECORD is set, else `Gh`."""
    record = os.environ.get("PIPELINE_GITHUB_RECORD")
    if not record:
        return Gh()
    responses = os.environ.get("PIPELINE_GITHUB_RESPONSES")
    return Recorder(Path(record), Path(responses) if responses else None)


def parse_pages(text: str):
    """Parse what `gh api --paginate` prints: one JSON value, or several arrays in a row (joined into one)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        while at < len(text) and text[at].isspace():
            at += 1
    if len(values) == 1:
        return values[0]
    if not values:
        return None
    return [item for page in values for item in page]


# --- validation of untrusted input -------------------------------------------------------------------------


def check_repo(repo: str) -> str:
    """`repo` if it is an OWNER/NAME, else a PipelineError (it ends up in a request path)."""
    if not REPO.match(repo) or ".." in repo:
        raise PipelineError(f"--repo {repo!r}: expected OWNER/NAME (letters, digits, '-', '.', '_')")
    return repo


def check_number(value: str | int, what: str = "pull request number") -> int:
    """A positive integer given as text (as it arrives in an artifact), else a PipelineError."""
    text = str(value).strip()
    if not NUMBER.match(text):
        raise PipelineError(f"{what} {text[:40]!r}: expected a positive integer")
    return int(text)


def check_branch(branch: str) -> str:
    """A plain branch or tag name (no spaces, no leading '-', no '..'), else a PipelineError."""
    if not BRANCH.match(branch) or ".." in branch or branch.endswith((".lock", "/")):
        raise PipelineError(f"branch {branch[:80]!r}: not a plain branch name")
    return branch


def limit(body: str, maximum: int = MAX_BODY) -> str:
    """`body` cut to `maximum` characters with a visible note, so GitHub never refuses it for its size."""
    if len(body) <= maximum:
        return body
    note = f"\n\n*(cut: the body had {len(body):,} characters; GitHub accepts {maximum:,})*\n"
    return body[: maximum - len(note)] + note


def with_marker(body: str, marker: str) -> str:
    """The body with its hidden marker on the first line (added when missing), size-limited."""
    return limit(body if marker in body else f"{marker}\n{body}")


def bot_login() -> str:
    """The login our comments and issues are posted by (see DEFAULT_BOT)."""
    return os.environ.get("PIPELINE_BOT_LOGIN", "").strip() or DEFAULT_BOT


def ours(item: dict, marker: str) -> bool:
    """A comment or issue the bot wrote with `marker`; a stranger's copy of the marker is not ours."""
    return marker in (item.get("body") or "") and (item.get("user") or {}).get("login") == bot_login()


def _path(*parts: str | int, **query) -> str:
    path = "/".join(quote(str(p), safe="") for p in parts)
    return f"{path}?{urlencode(query)}" if query else path


# --- operations -------------------------------------------------------------------------------------------


def upsert_comment(api: Api, *, repo: str, number: int, body: str, marker: str = COMMENT_MARKER) -> str:
    """Keep one comment per pull request: update the bot's comment carrying `marker`, else create it.

    Returns:
        "updated <id>" or "created".
    """
    comments = api.send(Request("GET", _path("repos", *repo.split("/"), "issues", number, "comments", per_page=100)))
    body = with_marker(body, marker)
    mine = [c for c in comments or [] if ours(c, marker)]
    if mine:
        api.send(
            Request("PATCH", _path("repos", *repo.split("/"), "issues", "comments", mine[0]["id"]), {"body": body})
        )
        return f"updated comment {mine[0]['id']}"
    api.send(Request("POST", _path("repos", *repo.split("/"), "issues", number, "comments"), {"body": body}))
    return "created a comment"


def check_pull_request(api, repo: str, number: int, head_sha: str) -> None:
    """Refuse a pull request number that does not belong to the workflow run (its head commit differs).

    A fork's artifact can claim any number; the event's head commit cannot be forged, so the pull request
    must be open and point at exactly that commit.
    """
    if not SHA.match(head_sha):
        raise PipelineError(f"head sha {head_sha[:50]!r}: expected 40 hexadecimal digits")
    pull = api.send(Request("GET", _path("repos", *repo.split("/"), "pulls", number)))
    actual = (pull or {}).get("head", {}).get("sha")
    if actual != head_sha or (pull or {}).get("state") != "open":
        raise PipelineError(
            f"pull request #{number} is not the open pull request of commit {head_sha} "
            f"(its head is {actual}); not commenting"
        )


def open_pull_request(api: Api, *, repo: str, head: str, base: str, title: str, body: str) -> str:
    """Open a pull request from branch `head` unless one exists for it; a closed one is left closed.

    Returns:
        What was done, with the pull request's number.
    """
    owner = repo.split("/")[0]
    existing = api.send(
        Request(
            "GET",
            _path("repos", *repo.split("/"), "pulls", state="all", head=f"{owner}:{check_branch(head)}", per_page=100),
        )
    )
    if existing:  # open, closed by a reviewer, or merged: never a second one for the same branch
        pull = existing[0]
        state = "merged" if pull.get("merged_at") else pull.get("state")
        return f"pull request #{pull['number']} for {head} exists already ({state}); none opened"
    created = api.send(
        Request(
            "POST",
            _path("repos", *repo.split("/"), "pulls"),
            {"title": title, "head": head, "base": check_branch(base), "body": limit(body)},
        )
    )
    return f"opened pull request #{(created or {}).get('number', '?')} for {head}"


def upsert_issue(api: Api, *, repo: str, title: str, body: str, marker: str) -> str:
    """Keep one open issue carrying `marker`, opened by the bot: update its title and body, else open it.

    Returns:
        What was done, with the issue's number.
    """
    issues = api.send(Request("GET", _path("repos", *repo.split("/"), "issues", state="open", per_page=100)))
    body = with_marker(body, marker)
    for issue in issues or []:
        if "pull_request" not in issue and ours(issue, marker):
            api.send(
                Request(
                    "PATCH", _path("repos", *repo.split("/"), "issues", issue["number"]), {"title": title, "body": body}
                )
            )
            return f"updated issue #{issue['number']}"
    created = api.send(Request("POST", _path("repos", *repo.split("/"), "issues"), {"title": title, "body": body}))
    return f"opened issue #{(created or {}).get('number', '?')}"


def dispatch_workflow(api, repo: str, workflow: str, ref: str) -> str:
    """Start `workflow` (a file name in .github/workflows) on branch `ref` (CI for a bot's pull request)."""
    if not re.match(r"^[A-Za-z0-9._-]+\.ya?ml$", workflow):
        raise PipelineError(f"workflow {workflow!r}: expected a file name like ci.yml")
    api.send(
        Request(
            "POST",
            _path("repos", *repo.split("/"), "actions", "workflows", workflow, "dispatches"),
            {"ref": check_branch(ref)},
        )
    )
    return f"dispatched {workflow} on {ref}"


def remote_git(*args: str, cwd: Path | None = None) -> str:
    """`git <args>` that reaches origin (fetch, push), authenticated with GH_TOKEN for a GitHub origin.

    The workflows check out without keeping a token in `.git/config` (`persist-credentials: false`), so that
    `make setup` and the pipeline never find one on disk. The token reaches only this git process, as an
    HTTP header given through git's environment (GIT_CONFIG_*), neither on its command line nor on disk. Any
    other origin (a local bare repository in the tests, SSH) uses git's own credentials.
    """
    env = {**os.environ, **auth_environment(cwd)}
    result = subprocess.run(["git", *args], cwd=cwd, env=env, text=True, capture_output=True, check=False)
    if result.returncode != 0:
        raise PipelineError(f"`git {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout


def set_output(name: str, value: str) -> None:
    """Give the running Actions step an output (`steps.<id>.outputs.<name>`); nothing outside a workflow.

    The runner names the file in `GITHUB_OUTPUT`; a value is one line, so a newline in it is refused.
    """
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return
    if "\n" in value:
        raise PipelineError(f"step output {name!r}: one line expected")
    with Path(target).open("a", encoding="utf-8") as out:
        out.write(f"{name}={value}\n")


def auth_environment(cwd: Path | None = None) -> dict[str, str]:
    """The environment that gives git the token for https://github.com/ (empty without GH_TOKEN or elsewhere)."""
    token = os.environ.get("GH_TOKEN", "").strip()
    url = subprocess.run(
        ["git", "remote", "get-url", "origin"], cwd=cwd, text=True, capture_output=True, check=False
    ).stdout.strip()
    if not token or not url.startswith(GITHUB_URL):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{GITHUB_URL}.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


def push(ref: str, cwd: Path | None = None) -> None:
    """`git push origin <ref>` (a branch or a tag), authenticated as `remote_git` says."""
    remote_git("push", "--quiet", "origin", ref, cwd=cwd)


def read_untrusted(path: Path, limit_bytes: int) -> str:
    """Read at most `limit_bytes` of a regular file from an artifact, as text (bad bytes replaced, never run).

    An artifact is made by a pull request's code: a symbolic link in it could point at a file of this runner
    (the token's git config, a key), a FIFO would block. So the file is opened without following links
    (O_NOFOLLOW, in a folder that is not a link either) and must be a regular file.
    """
    if path.parent.resolve() != path.parent.absolute():
        raise PipelineError(f"{path}: refused, its folder is (or is under) a symbolic link")
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        reason = "a symbolic link" if path.is_symlink() else exc.strerror
        raise PipelineError(f"{path}: refused, cannot be read ({reason})") from exc
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise PipelineError(f"{path}: refused, not a regular file")
        return stream.read(limit_bytes).decode("utf-8", errors="replace")


def comment_main(
    *,
    repo: Annotated[str, typer.Option(envvar="GITHUB_REPOSITORY", help="OWNER/NAME on GitHub.")],
    pr_file: Annotated[Path, typer.Option(help="File holding the pull request number (from the artifact).")],
    report_file: Annotated[Path, typer.Option(help="The report's data (JSON, from the artifact).")],
    head_sha: Annotated[str, typer.Option(help="The head commit of the run that made the artifact (the event).")],
    event_pr: Annotated[str, typer.Option(help="The event's own pull request number, when it has one.")] = "",
    head_repository: Annotated[str, typer.Option(help="OWNER/NAME the pull request comes from.")] = "",
) -> None:
    """Post or update the sticky pull request comment, rendered here from an untrusted artifact's data.

    The artifact holds data, not Markdown: it is checked against the report's schema and rendered by this
    checkout's code (the default branch's), so a fork's code chooses numbers and names, never the markup the
    bot posts. A fork's report says in the comment that its figures come from the fork's code.
    """
    from pipeline import pr_comment  # here: the other commands of this module need none of its imports

    repo = check_repo(repo)
    number = check_number(read_untrusted(pr_file, 32))
    if event_pr.strip() and check_number(event_pr, "event pull request number") != number:
        raise PipelineError(f"the artifact names pull request #{number}, the event #{event_pr.strip()}")
    source = check_repo(head_repository) if head_repository.strip() else repo
    try:
        data = json.loads(read_untrusted(report_file, REPORT_BYTES))
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{report_file}: not JSON ({exc.msg} at line {exc.lineno})") from None
    body = pr_comment.render(pr_comment.checked(data), source=source if source != repo else None)
    api = client()
    check_pull_request(api, repo, number, head_sha)
    typer.echo(upsert_comment(api, repo=repo, number=number, body=body))


def push_main(ref: Annotated[str, typer.Argument(help="The branch or tag to push (e.g. model@v1.2.0).")]) -> None:
    """Push one branch or tag to origin (the registry-on-merge job pushes the new version tag)."""
    push(check_branch(ref.strip()))
    typer.echo(f"pushed {ref.strip()}")


def dispatch_main(
    workflow: Annotated[str, typer.Argument(help="A workflow file of .github/workflows (e.g. pages.yml).")],
    *,
    repo: Annotated[str, typer.Option(envvar="GITHUB_REPOSITORY", help="OWNER/NAME on GitHub.")],
    ref: Annotated[str, typer.Option(help="The branch to run it on.")] = "main",
) -> None:
    """Start a workflow (the registry job starts Pages once the version tag exists, so the site shows it)."""
    typer.echo(dispatch_workflow(client(), check_repo(repo), workflow, ref))
