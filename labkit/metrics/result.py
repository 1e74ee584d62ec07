"""`MetricResult`: one number, how many images it came from, and which features it used."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class MetricResult:
    """A metric's value with its provenance: sample counts, the feature space, and extras.

    `value` is the headline number (lower is better for FID, KID, SWD and memorisation
    distances; higher is better for class accuracy). `extra` holds secondary numbers such as
    the KID standard deviation or the per-level SWD, all JSON-ready.
    """

    name: str
    value: float
    n_real: int
    n_fake: int
    features: str
    extra: dict[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    def __format__(self, spec: str) -> str:
        return format(float(self.value), spec)

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (the value as a float, NaN kept as NaN)."""
        out = asdict(self)
        out["value"] = float(self.value)
        return out

    def __repr__(self) -> str:
        value = "nan" if math.isnan(self.value) else f"{self.value:.6g}"
        return (f"MetricResult({self.name}={value}, n_real={self.n_real}, n_fake={self.n_fake}, "
                f"features={self.features!r})")
