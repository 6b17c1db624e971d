"""URL validation modelled on TDLib's ``LinkManager::check_link``.

Telegram validates text-link URLs and inline-button URLs with the same routine: no
scheme means ``http://``; only http, https and ``tg://`` are accepted; an http(s) host
must contain a dot; the result is normalised (lower-case host, ``/`` path).  The reason
strings below are the ones the real Bot API embeds in its error descriptions, e.g.
``inline keyboard button URL 'not-a-url' is invalid: Wrong HTTP URL``.
"""

from __future__ import annotations

import re

__all__ = ["InvalidUrl", "check_link", "link_user_id"]

_TG_USER_RE = re.compile(r"^tg:(?://)?user\?id=(\d+)$", re.IGNORECASE)
_HOST_OK_RE = re.compile(r"^[\w.\-\[\]:]+$", re.UNICODE)


class InvalidUrl(ValueError):
    """Raised with Telegram's reason string (e.g. ``Wrong HTTP URL``)."""


def link_user_id(url: str) -> int | None:
    """Return the user id of a ``tg://user?id=N`` link (rendered as a text_mention)."""
    match = _TG_USER_RE.match(url.strip())
    if match is None:
        return None
    user_id = int(match.group(1))
    return user_id if user_id > 0 else None


def check_link(url: str, *, https_only: bool = False) -> str:
    """Validate and normalise ``url`` the way Telegram does, or raise :class:`InvalidUrl`."""
    link = url.strip()
    lowered = link.lower()
    if lowered.startswith(("tg:", "ton:")):
        scheme, _, rest = link.partition(":")
        if https_only:
            raise InvalidUrl("Only HTTPS links are allowed")
        rest = rest.removeprefix("//")
        host, sep, query = rest.partition("?")
        if not host or not re.fullmatch(r"[A-Za-z0-9_\-]+", host.rstrip("/")):
            raise InvalidUrl(f"Wrong {scheme.lower()} URL")
        return f"{scheme.lower()}://{host.rstrip('/')}{'?' + query if sep else ''}"

    scheme = "http"
    rest = link
    if "://" in link:
        scheme, rest = link.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise InvalidUrl("Unsupported URL protocol")
    elif https_only:
        raise InvalidUrl("Only HTTPS links are allowed")
    if https_only and scheme != "https":
        raise InvalidUrl("Only HTTPS links are allowed")

    cut = len(rest)
    for sep_char in "/?#":
        pos = rest.find(sep_char)
        if pos != -1:
            cut = min(cut, pos)
    authority, path = rest[:cut], rest[cut:]
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        userinfo, hostport = "", authority
    host, colon, port = hostport.partition(":")
    if not host:
        raise InvalidUrl("URL host is empty")
    if colon and (not port.isdigit() or not 0 < int(port) < 65536):
        raise InvalidUrl("Wrong port number specified in the URL")
    if not _HOST_OK_RE.match(host):
        raise InvalidUrl("Wrong URL host")
    if "." not in host:
        raise InvalidUrl("Wrong HTTP URL")
    if not path.startswith("/"):
        path = "/" + path
    auth = f"{userinfo}@" if at else ""
    port_part = f":{port}" if colon else ""
    return f"{scheme}://{auth}{host.lower()}{port_part}{path}"
