"""Structured logs in which a NIK never appears unmasked."""

import json
import logging
import re
import sys
from datetime import UTC, datetime

NIK_PATTERN = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{8}([0-9]{4})(?![0-9])")


def mask_niks(text: str) -> str:
    """`3509014501010001` becomes `3509********0001` wherever 16 digits stand alone."""
    return NIK_PATTERN.sub(r"\1********\2", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return mask_niks(json.dumps(entry, ensure_ascii=False))


def configure_logging(level: str = "INFO", service: str = "ots") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger(service).debug("logging configured")
