"""Print a finished study (`guided-pix2pix study`) as the Markdown table of docs/results.md.

    python benchmarks/study_table.py STUDY_DIR [STUDY_DIR ...]

One table per study and held-out dataset: per scheme the mean +- sample standard deviation over
seeds of each metric and of the guide-sensitivity ratio, parameters, GFLOP per image and
training seconds; then the baselines (no spread: they are not trained). Then, per metric, which
schemes differ from bFT by more than the larger of the two seed spreads ("separated"), so the
reading in the docs follows from the numbers rather than from the eye.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _cell(stat: dict | None, digits: int) -> str:
    if not stat or stat.get("mean") is None:
        return "-"
    std = stat.get("std")
    return f"{stat['mean']:.{digits}f}" + (f" +- {std:.{digits}f}" if std is not None else "")


def _digits(metric: str) -> int:
    return 2 if metric in ("psnr",) or metric.startswith("depth_") else 3


def study_tables(folder: Path) -> str:
    study = json.loads((folder / "study.json").read_text())
    setup, lines = study["setup"], []
    for dataset in study["datasets"]:
        metrics = study["metrics"]
        lines.append(f"**{setup['task']}, {dataset}** ({setup['steps']} steps, seeds per scheme as listed)\n")
        head = ["scheme", "seeds", *metrics, "guide ratio", "parameters", "GFLOP/img", "train s"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name, row in study["schemes"].items():
            cells = [name, str(len(row["seeds"]))]
            cells += [_cell(row["metrics"][dataset].get(m), _digits(m)) for m in metrics]
            cells += [_cell(row["guide_sensitivity"].get(dataset), 3)]
            cells += [
                f"{row['parameters']:,}",
                f"{row['gflop_per_image']:.3f}",
                _cell(row["train_seconds"], 0),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        for name, scores in study["baselines"].get(dataset, {}).items():
            cells = [f"baseline: {name}", "-"]
            cells += [f"{scores[m]:.{_digits(m)}f}" if m in scores else "-" for m in metrics]
            lines.append("| " + " | ".join(cells + ["-", "-", "-", "-"]) + " |")
        lines.append("")
        bft = study["schemes"].get("bft")
        if bft:
            for m in metrics:
                b = bft["metrics"][dataset].get(m) or {}
                if b.get("mean") is None:
                    continue
                verdicts = []
                for name, row in study["schemes"].items():
                    s = row["metrics"][dataset].get(m) or {}
                    if name == "bft" or s.get("mean") is None:
                        continue
                    spread = max(b.get("std") or 0.0, s.get("std") or 0.0)
                    gap = s["mean"] - b["mean"]
                    better = (gap > 0) == study["higher_is_better"][m]
                    tag = "separated" if abs(gap) > spread else "within spread"
                    verdicts.append(f"{name} {'better' if better else 'worse'} by {abs(gap):.3g} ({tag})")
                lines.append(f"- {m}, against bft: " + "; ".join(verdicts))
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="+", type=Path)
    for folder in parser.parse_args().studies:
        print(study_tables(folder))


if __name__ == "__main__":
    main()
