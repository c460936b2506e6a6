"""Write the model card (JSON for the app, Markdown for people). Reading it is ``segment.modelcard``."""

from __future__ import annotations

import json
from pathlib import Path

from ..io.atomic import atomic_write_text

CARD_JSON = "model_card.json"


def load_card_json(folder: str | Path) -> dict:
    p = Path(folder) / CARD_JSON
    return json.loads(p.read_text()) if p.exists() else {"nets": {}}


def update_card(folder: str | Path, name: str, entry: dict) -> dict:
    folder = Path(folder)
    card = load_card_json(folder)
    card.setdefault("nets", {})[name] = entry
    atomic_write_text(folder / CARD_JSON, json.dumps(card, indent=2) + "\n")
    return card
