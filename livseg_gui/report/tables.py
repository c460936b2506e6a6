"""JSON and CSV outputs of a report dict (see ``document.build_report``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..io.atomic import atomic_write_text
from .document import LESION_FIELDS


def write_json(report: dict, path: str | Path) -> Path:
    return atomic_write_text(path, json.dumps(report, indent=2) + "\n")


def csv_text(report: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(LESION_FIELDS)
    for les in report["lesions"]:
        row = []
        for k in LESION_FIELDS:
            v = les.get(k)
            row.append(";".join(str(x) for x in v) if isinstance(v, list) else ("" if v is None else v))
        w.writerow(row)
    return buf.getvalue()


def write_csv(report: dict, path: str | Path) -> Path:
    return atomic_write_text(path, csv_text(report))
