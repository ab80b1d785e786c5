"""Base for vendor payload schemas: known fields typed, custom fields by naming pattern."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """A vendor request body. Unknown keys are refused unless they look like the vendor's
    custom fields (``custom_fields`` regex: Zuora ``…__c``, NetSuite ``custentity…``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    custom_fields: ClassVar[str | None] = None

    @classmethod
    def is_custom(cls, name: str) -> bool:
        return cls.custom_fields is not None and re.fullmatch(cls.custom_fields, name) is not None

    def model_post_init(self, _context: object) -> None:
        for name in self.model_extra or {}:
            if not self.is_custom(name):
                raise ValueError(f"{type(self).__name__} has no field {name!r}")
