"""Bot API error values, shaped exactly like Telegram's error responses.

Everything the emulator rejects is raised as :class:`ApiError` so that the HTTP layer
can turn it into ``{"ok": false, "error_code": N, "description": "...", "parameters": ...}``
in one place, and so that PTB maps it onto the same exception classes it would raise
against the real server (``BadRequest``, ``Forbidden``, ``RetryAfter``, ``ChatMigrated``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "bad_request",
    "conflict",
    "forbidden",
    "lower_first",
    "query_too_old",
    "too_many_requests",
]

#: The description Telegram uses for unknown, expired or already answered query ids.
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """A Bot API error response (HTTP status + description + optional parameters)."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would send for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.description!r}, {self.parameters!r})"


def lower_first(message: str) -> str:
    """Lower-case the first letter like the Bot API does with TDLib messages.

    The Bot API keeps messages such as ``BUTTON_DATA_INVALID`` (second character is an
    upper-case letter or ``_``) verbatim and lower-cases the first letter of prose.
    """
    if len(message) >= 2 and (message[1] == "_" or "A" <= message[1] <= "Z"):
        return message
    return message[:1].lower() + message[1:]


def bad_request(message: str, parameters: dict[str, Any] | None = None) -> ApiError:
    """400 ``Bad Request: <message>``."""
    return ApiError(400, f"Bad Request: {message}", parameters)


def forbidden(message: str) -> ApiError:
    """403 ``Forbidden: <message>``."""
    return ApiError(403, f"Forbidden: {message}")


def conflict(message: str) -> ApiError:
    """409 ``Conflict: <message>`` (concurrent getUpdates, webhook set)."""
    return ApiError(409, f"Conflict: {message}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 with ``parameters.retry_after``, exactly as Telegram's flood control answers."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def query_too_old() -> ApiError:
    """400 for unknown/expired/answered callback and inline query ids."""
    return bad_request(QUERY_TOO_OLD)
