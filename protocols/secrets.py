"""Keeping secrets out of what lyceum stores, prints and logs.

Two tools, used wherever a credential could leak:

* ``mask_url`` and ``mask_db_url`` show a URL with its credentials replaced by ``***``:
  the password of ``user:password@`` (the whole userinfo when it is only a token), and
  every query value (``?api-key=…``, ``?token=…``; a query can carry a key under any name).
* ``Redactor`` replaces known secret strings in any text, in the forms a server or a
  library may echo them (as is, JSON-escaped, ``repr``-escaped, URL-encoded).

    >>> mask_url("https://user:sk-123@api.example.com/v1?api-key=sk-123")
    'https://user:***@api.example.com/v1?api-key=***'
    >>> Redactor(["sk-123456"])("HTTP 401: bad key 'Bearer sk-123456'")
    "HTTP 401: bad key 'Bearer ***'"
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import (
    parse_qsl,
    quote,
    quote_plus,
    unquote,
    urlencode,
    urlsplit,
    urlunsplit,
)

from protocols.sql_settings import POOL_SETTINGS

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "Redactor",
    "StreamRedactor",
    "basic_token",
    "mask_db_url",
    "mask_url",
    "url_secrets",
]

MASK = "***"
ENGINE_SETTINGS = frozenset({*POOL_SETTINGS, "busy_timeout"})
"""Query parameters of a store URL that are settings, not secrets (shown as they are)."""

MIN_SECRET_LENGTH = 4
"""Shorter strings are not redacted from free text (``key=x`` would garble every ``x``);
URLs still mask them."""


def _mask_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(name, MASK) for name, _ in pairs], safe="*")


def mask_url(url: str) -> str:
    """``url`` with its userinfo password (or lone token) and every query value masked.

    Text that is not a URL is returned with anything that looks like userinfo masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" not in netloc and not parts.query:
        return url  # nothing to hide (and urlunsplit would turn sqlite:///x into sqlite:/x)
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{MASK}@{hostport}"
    query = _mask_query(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_db_url(url: str) -> str:
    """A SQLAlchemy URL as it may be shown: ``postgresql://user:***@host/db``.

    The password is hidden by SQLAlchemy's own renderer; query values (``?password=``
    is valid for libpq) are masked too, but for lyceum's engine settings
    (``protocols.sql_settings``: ``pool_size=4``). A URL SQLAlchemy cannot parse is
    masked as text."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return mask_url(url)
    if parsed.query:
        parsed = parsed.set(
            query={n: v if n in ENGINE_SETTINGS else MASK for n, v in parsed.query.items()}
        )
    try:
        shown = parsed.render_as_string(hide_password=True)
    except UnicodeError:  # a stray byte from the shell (surrogateescape): show it escaped
        return mask_url(url.encode("utf-8", "backslashreplace").decode("utf-8"))
    return shown.replace(quote(MASK, safe=""), MASK)


def basic_token(username: str, password: str) -> str:
    """The token of ``Authorization: Basic <token>`` for these credentials."""
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def url_secrets(url: str) -> list[str]:
    """The secret parts of a URL: the userinfo password (or lone token), the Basic token
    they make, and every query value but lyceum's engine settings."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if password:
        found += [password, parts.password or ""]
    elif user:
        found += [user, parts.username or ""]
    if "@" in parts.netloc:
        found.append(basic_token(user, password))
    query = parse_qsl(parts.query, keep_blank_values=True)
    found += [value for name, value in query if name not in ENGINE_SETTINGS]
    return found


def _forms(secret: str) -> set[str]:
    """The ways ``secret`` may appear in a text that echoes it."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces every known secret in texts (and in JSON values) by ``***``.

    Args:
        secrets: The secret strings; empty and very short ones are ignored.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= _forms(secret)
        # Longest first, so a form that contains another is replaced whole.
        self._forms = sorted(forms, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def json(self, value: Any) -> Any:
        """``value`` (parsed JSON) with every string in it, keys included, redacted."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self(str(k)): self.json(v) for k, v in value.items()}
        return value

    def body(self, text: str) -> str:
        """A response body redacted: as text, and, when it is JSON that hides a secret in
        an escape (``\\u0073k-…``), re-serialised with its strings redacted."""
        text = self(text)
        if not self._forms:
            return text
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return text
        redacted = self.json(parsed)
        return text if redacted == parsed else json.dumps(redacted, ensure_ascii=False)

    def stream(self) -> StreamRedactor:
        """A redactor for text that arrives in pieces (see ``StreamRedactor``)."""
        return StreamRedactor(self)


class StreamRedactor:
    """Redacts streamed text even when a secret is split across pieces.

    It holds back only the end of the text that could be the start of a secret, until
    more text (or ``flush``) settles it; every piece it returns is safe to show, and text
    that starts no secret passes through at once."""

    def __init__(self, redactor: Redactor) -> None:
        self._redact = redactor
        self._forms = redactor._forms
        self._buffer = ""

    def _held(self, text: str) -> int:
        """The length of the longest end of ``text`` that begins some secret."""
        longest = 0
        for form in self._forms:
            for n in range(min(len(form) - 1, len(text)), longest, -1):
                if text.endswith(form[:n]):
                    longest = n
                    break
        return longest

    def feed(self, text: str) -> str:
        """Add a piece; return the text that is now known to be safe."""
        if not self._forms:
            return text
        redacted = self._redact(self._buffer + text)
        cut = len(redacted) - self._held(redacted)
        self._buffer = redacted[cut:]
        return redacted[:cut]

    def flush(self) -> str:
        """The rest of the text, at the end of the stream."""
        rest, self._buffer = self._redact(self._buffer), ""
        return rest
