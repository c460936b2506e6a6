"""Read the model card: which ONNX files to run and how to pre-process their inputs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError

CARD_JSON = "model_card.json"


@dataclass(frozen=True)
class NetCard:
    name: str
    path: Path
    sha256: str | None
    input_size: int
    context: int
    hu_window: tuple[float, float]
    threshold: float
    roi_margin_mm: float | None
    architecture: str
    mm_per_px: float | None = None  # None: the whole slice is resampled to input_size (older models)
    context_step_mm: float | None = None  # None: adjacent slices as context (older models)
    channels: int | None = None  # input channels when more than the CT slices (the click net's click maps)

    @property
    def in_channels(self) -> int:
        return self.channels or self.context

    def verify(self) -> None:
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} is missing")
        if self.sha256:
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
            if digest != self.sha256:
                raise ModelError(f"{self.path.name} does not match the model card (sha256 differs): corrupt or replaced")


@dataclass(frozen=True)
class ModelCard:
    folder: Path
    raw: dict

    def net(self, name: str) -> NetCard:
        try:
            e = self.raw["nets"][name]
            return NetCard(
                name=name,
                path=self.folder / e["file"],
                sha256=e.get("sha256"),
                input_size=int(e["input_size"]),
                context=int(e["context"]),
                hu_window=(float(e["hu_window"][0]), float(e["hu_window"][1])),
                threshold=float(e.get("threshold", 0.5)),
                roi_margin_mm=float(e["roi_margin_mm"]) if e.get("roi_margin_mm") is not None else None,
                architecture=str(e.get("architecture", "")),
                mm_per_px=float(e["mm_per_px"]) if e.get("mm_per_px") else None,
                context_step_mm=float(e["context_step_mm"]) if e.get("context_step_mm") else None,
                channels=int(e["channels"]) if e.get("channels") else None,
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"{self.folder / CARD_JSON}: entry for the {name} net is missing or incomplete ({exc})") from None

    def summary(self) -> str:
        nets = self.raw.get("nets", {})
        parts = []
        for name in ("liver", "tumour"):
            e = nets.get(name)
            if e:
                parts.append(f"{name}: {e.get('architecture')} {e.get('parameters', 0) / 1e3:.0f}k params, "
                             f"{e.get('input_size')}px, {e.get('epochs')} epochs")
        return "; ".join(parts)

    def report_entry(self) -> dict:
        """What reports say about the models, including their validated accuracy (from the card)."""
        return {"version": self.version, "summary": self.summary(), "validation": self.validation_summary()}

    def validation_summary(self) -> str:
        """One sentence of held-out validation figures, or a plain statement that there are none."""
        cases = (self.raw.get("validation") or {}).get("cases") or {}
        if not cases:
            return "no validation figures in the model card"
        dice = [c["liver"]["dice"] for c in cases.values() if c.get("liver")]
        found = [c["lesions_10mm"] for c in cases.values() if c.get("lesions_10mm")]
        fp = [c["tumour_fp_ml"] for c in cases.values() if c.get("tumour_fp_ml") is not None]
        text = (f"validated on {len(cases)} held-out case(s): liver Dice {min(dice):.3f}-{max(dice):.3f}"
                if dice else f"validated on {len(cases)} held-out case(s)")
        if found:
            text += f"; lesions >= 10 mm found {sum(f[0] for f in found)}/{sum(f[1] for f in found)}"
        if fp:
            text += f"; false tumour up to {max(fp):.1f} mL per case"
        return text + " (see MODEL_CARD.md; few cases: expect errors on other scanners)"

    @property
    def version(self) -> str:
        return str(self.raw.get("version", "unversioned"))


def load_card(folder: str | Path) -> ModelCard:
    folder = Path(folder)
    path = folder / CARD_JSON
    if not folder.is_dir():
        raise ModelError(f"models folder {folder} does not exist")
    if not path.is_file():
        raise ModelError(f"{path} is missing: the models folder needs its model card")
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable model card ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nets"), dict):
        raise ModelError(f"{path}: not a LivSeg model card (no 'nets')")
    return ModelCard(folder, raw)
