"""Fault injection: the next N matching calls fail or stall the way Telegram's front end does.

A JSON error (429 with ``retry_after``, 403, 500...), nginx's HTML page for 502/503/504
(PTB raises NetworkError), a dropped connection, or only a delay (the call then succeeds).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError, too_many_requests

__all__ = ["Fault", "nginx_page"]

_DESCRIPTIONS = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error"}
_NGINX = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


def nginx_page(status: int) -> str:
    title = f"{status} {_NGINX[status]}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


@dataclass(eq=False)
class Fault:
    """One rule; ``remaining`` counts down as it fires, ``hits`` counts up."""

    method: str | None  # None: any method
    chat_id: int | None = None
    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    disconnect: bool = False
    remaining: int = 1
    hits: int = 0

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method.lower() == method.lower())
            and (self.chat_id is None or self.chat_id == chat_id)
        )

    @property
    def fails(self) -> bool:
        """False for a pure delay."""
        return self.status is not None or self.disconnect

    def error(self) -> ApiError:
        """The JSON error to answer with (not for nginx pages or disconnects)."""
        assert self.status is not None
        if self.status == 429:
            error = too_many_requests(self.retry_after if self.retry_after is not None else 1)
            error.description = self.description or error.description
            return error
        description = self.description or _DESCRIPTIONS.get(self.status, f"Error {self.status}")
        params = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.status, description, params)
