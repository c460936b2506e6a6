"""Reports: one content dict, written as PDF, JSON and CSV. No Qt."""

from .document import build_report
from .pdf import write_pdf
from .tables import write_csv, write_json

__all__ = ["build_report", "write_csv", "write_json", "write_pdf"]
