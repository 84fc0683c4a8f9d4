"""Google-shaped API errors of the local mailbox."""
from __future__ import annotations

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED",
          500: "INTERNAL", 503: "UNAVAILABLE"}


class ApiError(Exception):
    """An error answered in Google's JSON error shape with Gmail's status codes."""

    def __init__(self, code: int, message: str, reason: str, status: str | None = None,
                 domain: str = "global", headers: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason
        self.status = status or STATUS.get(code, "UNKNOWN")
        self.domain = domain
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message,
                          "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
                          "status": self.status}}
