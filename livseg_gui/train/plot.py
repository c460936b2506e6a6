"""Training curves (validation Dice per epoch) as a PNG for the model card. Needs matplotlib ([train])."""

from __future__ import annotations

from pathlib import Path


def plot_curves(card: dict, out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nets = card.get("nets", {})
    fig, axes = plt.subplots(1, len(nets), figsize=(5.5 * max(1, len(nets)), 4), squeeze=False)
    for ax, (name, e) in zip(axes[0], nets.items()):
        epochs = [h["epoch"] for h in e.get("history", [])]
        for case in e.get("val_cases", []):
            vals = [h["val_dice"].get(case, float("nan")) for h in e["history"]]
            if any(v == v for v in vals):
                ax.plot(epochs, vals, marker="o", label=f"val Dice {case}")
        ax2 = ax.twinx()
        ax2.plot(epochs, [h["loss"] for h in e.get("history", [])], color="grey", ls="--", label="train loss")
        ax2.set_ylabel("train loss (Dice + BCE)")
        ax.set_title(f"{name} ({e.get('architecture')})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation Dice (net resolution)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
