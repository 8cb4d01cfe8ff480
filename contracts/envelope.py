"""CloudEvents 1.0 JSON envelope around every message body."""

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

D = TypeVar("D", bound=BaseModel)


class CloudEvent(BaseModel, Generic[D]):
    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    time: AwareDatetime
    subject: str | None = Field(default=None, max_length=200)
    datacontenttype: Literal["application/json"] = "application/json"
    data: D


class RawCloudEvent(BaseModel):
    """The envelope with `data` left unparsed, for routing before the model is known."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    time: AwareDatetime
    subject: str | None = Field(default=None, max_length=200)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]


def new_event_id() -> str:
    return str(uuid.uuid4())


def envelope(
    data: D, *, type_: str, source: str, subject: str | None, event_id: str | None = None
) -> CloudEvent[D]:
    return CloudEvent[D](
        id=event_id or new_event_id(),
        source=source,
        type=type_,
        time=datetime.now(UTC),
        subject=subject,
        data=data,
    )
