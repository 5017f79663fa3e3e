"""The learned answer decision: which sentence answers, and whether hoidap answers, shows the closest
passages, or says the documents do not address the question.

Three logistic models over named features, trained by `eval/train_decision.py` and stored as plain
JSON (one file per embedding model in `rag/decisions/`, never pickle):

- `ranker`: P(a candidate sentence holds the answer), from the sentence's features; it orders them.
- `answer`: P(the best sentence answers the question), from question-level features; calibrated
  (Platt) on held-out folds of the dev sets, so its threshold reads as a probability.
- `about`: P(the documents answer the question at all), the same features; calibrated the same way.

Outcome: `answer` when P(answer) clears its threshold, else `none` when P(about) is under its
threshold, else `closest`. Which file is used follows the index's embedding model; a model without
a file of its own gets `default.json` (fitted on the packaged model: its probabilities are then
less well calibrated, and `explain` says which file decided).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rag.errors import HoidapError

DECISIONS = Path(__file__).with_name("decisions")
DEFAULT_FILE = "default.json"
FORMAT = 1
TOP_REASONS = 4  # features shown in `explain` as the ones that moved a probability most


@dataclass(frozen=True)
class Logistic:
    """A logistic model over named features, optionally followed by a Platt sigmoid."""

    coef: dict[str, float]
    intercept: float
    mean: dict[str, float]  # features are standardised before the dot product
    scale: dict[str, float]
    platt: tuple[float, float] | None = None  # (a, b): p = 1 / (1 + exp(a * z + b))

    def z(self, features: dict[str, float]) -> float:
        """The linear score (log-odds before calibration)."""
        return self.intercept + sum(
            w * (features[name] - self.mean[name]) / self.scale[name] for name, w in self.coef.items()
        )

    def probability(self, features: dict[str, float]) -> float:
        z = self.z(features)
        if self.platt is not None:
            a, b = self.platt
            return _sigmoid(-(a * z + b))
        return _sigmoid(z)

    def reasons(self, features: dict[str, float], n: int = TOP_REASONS) -> list[dict[str, float | str]]:
        """The features that moved the score most from an average candidate, signed."""
        moved = {
            name: w * (features[name] - self.mean[name]) / self.scale[name] for name, w in self.coef.items()
        }
        top = sorted(moved, key=lambda name: -abs(moved[name]))[:n]
        return [{"feature": name, "value": round(features[name], 4), "effect": round(moved[name], 3)} for name in top]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Logistic:
        platt = data.get("platt")
        return cls(
            coef={k: float(v) for k, v in data["coef"].items()},
            intercept=float(data["intercept"]),
            mean={k: float(v) for k, v in data["mean"].items()},
            scale={k: float(v) or 1.0 for k, v in data["scale"].items()},
            platt=(float(platt[0]), float(platt[1])) if platt else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "coef": self.coef,
            "intercept": self.intercept,
            "mean": self.mean,
            "scale": self.scale,
            "platt": list(self.platt) if self.platt else None,
        }


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Decision:
    """The three models and the two thresholds, as trained for one embedding model."""

    ranker: Logistic
    answer: Logistic
    about: Logistic
    answer_threshold: float  # P(answer) at or above which hoidap answers
    about_threshold: float  # P(about) under which hoidap says the documents do not address it
    second: float  # P(right) at or above which a runner-up sentence is said with the best one
    model: str  # the embedding model it was trained for
    file: str  # the file it came from, for `explain`

    @classmethod
    def from_json(cls, data: dict[str, Any], file: str) -> Decision:
        if data.get("format") != FORMAT:
            raise HoidapError(f"{file} is not a hoidap decision file of format {FORMAT}; rerun eval/train_decision.py")
        t = data["thresholds"]
        return cls(
            ranker=Logistic.from_json(data["ranker"]),
            answer=Logistic.from_json(data["answer"]),
            about=Logistic.from_json(data["about"]),
            answer_threshold=float(t["answer"]),
            about_threshold=float(t["about"]),
            second=float(t["second"]),
            model=str(data["model"]),
            file=file,
        )


def model_key(model: str) -> str:
    """The file name stem for an embedding model: its last path or hub name part, lower case
    ("google/embeddinggemma-300m" and "/srv/models/embeddinggemma-300m" are both "embeddinggemma-300m")."""
    name = model.rstrip("/").replace("\\", "/").split("/")[-1].lower()
    return "".join(ch if ch.isalnum() or ch in "-._" else "-" for ch in name) or "model"


def decision_path(model: str, folder: Path = DECISIONS) -> Path:
    """The decision file for `model`: its own when there is one, else the documented default."""
    own = folder / f"{model_key(model)}.json"
    return own if own.is_file() else folder / DEFAULT_FILE


@cache
def load_decision(path: Path) -> Decision:
    """The decision stored at `path`; raises HoidapError with the fix when it is missing or damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Decision.from_json(data, path.name)
    except FileNotFoundError:
        raise HoidapError(f"no decision file at {path}; reinstall hoidap or run eval/train_decision.py") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HoidapError(f"the decision file {path} is damaged ({exc}); reinstall hoidap or rerun "
                          "eval/train_decision.py") from None


def decision_for(model: str) -> Decision:
    """The decision the answerer uses for an index built with `model`."""
    return load_decision(decision_path(model))
