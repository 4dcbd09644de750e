"""The request as the REST handlers see it, and the response they give back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .errors import invalid_body

JSON_TYPE = "application/json; charset=utf-8"
OBJECT_MEDIA = "application/vnd.pgrst.object+json"
OBJECT_TYPE = OBJECT_MEDIA + "; charset=utf-8"


@dataclass
class Request:
    method: str
    name: str  # table or function
    params: list[tuple[str, str]]  # query string in order, duplicates kept
    headers: dict[str, str]  # lower-cased names
    body: bytes
    prefer: dict[str, str]
    claims: dict
    role: str

    @property
    def query(self) -> dict[str, str]:
        return dict(self.params)

    @property
    def singular(self) -> bool:
        return OBJECT_MEDIA in self.headers.get("accept", "")

    @property
    def representation(self) -> bool:
        return self.prefer.get("return") == "representation"

    def json_body(self, *, empty=None):
        """The parsed body; PGRST102 when it is not JSON."""
        if not self.body.strip():
            if empty is not None:
                return empty
            raise invalid_body()
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise invalid_body()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload, headers: dict | None = None) -> "Response":
        return cls(status, json.dumps(payload).encode(), {"Content-Type": JSON_TYPE, **(headers or {})})
