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


COMPARISON_COLUMNS = ("status", "prior_number", "current_number", "prior_volume_ml", "current_volume_ml",
                      "volume_change_percent", "prior_longest_mm", "current_longest_mm", "diameter_change_percent",
                      "target", "distance_mm")


def comparison_csv_text(result: dict) -> str:
    """One row per lesion pair of a follow-up comparison (matched, resolved, new)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COMPARISON_COLUMNS)
    targets = result["recist"]["baseline_targets"]
    for m in result["matched"]:
        p, c = m["prior"], m["current"]
        w.writerow(["matched", p["number"], c["number"], p["volume_ml"], c["volume_ml"], m["volume_change_percent"],
                    p["longest_diameter_mm"], c["longest_diameter_mm"], m["diameter_change_percent"], m["target"],
                    m["distance_mm"]])
    for les in result["resolved"]:
        w.writerow(["resolved", les["number"], "", les["volume_ml"], 0, -100.0, les["longest_diameter_mm"], 0, -100.0,
                    les["number"] in targets, ""])
    for les in result["new"]:
        w.writerow(["new", "", les["number"], "", les["volume_ml"], "", "", les["longest_diameter_mm"], "", False, ""])
    return buf.getvalue()
