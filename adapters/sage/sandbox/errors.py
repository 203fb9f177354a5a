"""Sage Accounting v3.1 refusals as the sandbox answers them.

Sage answers an error with a JSON array of diagnoses
``[{"$severity", "$dataCode", "$message", "$source"}]`` (developer.sage.com "Frequently
Raised Errors"; ``RecordInvalid`` with a ``$source`` naming the field, ``RecordNotFound``
"Couldn't find record." for an unknown ``contact_id`` per Sage's answer in
Sage/sageone_api_php_sample#32). A request without any ``Authorization`` header gets the
one-field object ``{"error": ...}`` instead, as the live API answers it.
"""

from __future__ import annotations

from typing import Any


class SageError(Exception):
    """One refusal: HTTP status, ``$dataCode``, ``$message`` and ``$source``."""

    def __init__(
        self,
        status: int,
        data_code: str,
        message: str,
        source: str = "",
        *,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{data_code} {message} ({source})")
        self.status = status
        self.data_code = data_code
        self.message = message
        self.source = source
        self.retry_after = retry_after
        self._body = body

    def body(self) -> Any:
        if self._body is not None:
            return self._body
        return [
            {
                "$severity": "error",
                "$dataCode": self.data_code,
                "$message": self.message,
                "$source": self.source,
            }
        ]


def invalid(source: str, message: str) -> SageError:
    return SageError(422, "RecordInvalid", message, source)


def required(source: str) -> SageError:
    return invalid(source, "This field is required.")


def not_found(source: str = "") -> SageError:
    return SageError(404, "RecordNotFound", "Couldn't find record.", source)


def unknown_path(path: str) -> SageError:
    return SageError(404, "NotFound", f"No route matches {path}", "")


def authorization_missing() -> SageError:
    message = "Authorization missing. Please, add an authorization token at the 'Authorization' "
    return SageError(401, "", message, body={"error": message + "HTTP header."})


def token_invalid() -> SageError:
    return SageError(
        401,
        "AccessTokenVerificationError",
        "Access token is invalid (JWT malformed or missing).",
        "Authorization",
    )


def business_denied(business: str) -> SageError:
    return SageError(
        403,
        "MultiUserAccessDenied",
        f"The current user has no access to business {business}.",
        "X-Business",
    )


def throttled(retry_after: float, message: str) -> SageError:
    return SageError(429, "TooManyRequests", message, "", retry_after=retry_after)


def server_error(status: int = 500) -> SageError:
    return SageError(status, "UnexpectedError", "An unexpected error occurred.", "")


def bad_json() -> SageError:
    return SageError(400, "BadRequest", "The request body is not valid JSON.", "")
