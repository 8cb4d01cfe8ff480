"""Structured logs in which a NIK never appears unmasked, nor a person's name under a name key,
nor the values of a database error's details: each line redacted as dead letters are."""

import json
import logging
import sys
from datetime import UTC, datetime

from ots_runtime.redaction import mask_nik_digits, redact_text


def mask_niks(text: str) -> str:
    """`3509014501010001` becomes `************0001` wherever 16 digits stand alone."""
    return mask_nik_digits(text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        if record.exc_info:
            entry["error"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", service: str = "ots") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger(service).debug("logging configured")
