"""The paper's Figure 3: mean cosine of the minority classifiers against the imbalance R.

K = 10 classes (K_A = 5 majority, K_B = 5 minority), E_W = 1, E_H = 5,
R = 10^(0.1 i), i = 0..40. Writes figure3.csv and figure3.png into the output directory
(default: ./out).
"""

import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import lpm  # noqa: E402


def main(out="out"):
    os.makedirs(out, exist_ok=True)
    R = 10.0 ** (0.1 * np.arange(41))
    models = [lpm.Model.two_group(5, 5, r, 1.0, 5.0) for r in R]
    sols = lpm.solve_models(models)
    cos = np.array([s.minority_cosine for s in sols])
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0)
    rows = "\n".join(
        f"{float(r)!r},{float(c)!r},{s.gap!r},{s.minority_collapsed}"
        for r, c, s in zip(R, cos, sols)
    )
    _atomic_write(
        os.path.join(out, "figure3.csv"), "R,minority_cosine,gap,minority_collapsed\n" + rows + "\n"
    )
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.semilogx(R, cos, "o-", ms=3)
    ax.axhline(-1 / 9, ls=":", c="gray")
    ax.axvline(R0, ls="--", c="C3", label=f"$R_0$ = {R0:.4g}")
    ax.set_xlabel("imbalance ratio $R$")
    ax.set_ylabel("minority classifier cosine")
    ax.legend()
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=out)
    os.close(fd)
    fig.savefig(tmp, dpi=150)
    os.replace(tmp, os.path.join(out, "figure3.png"))
    print(f"R_0 = {R0:.10g}; wrote {out}/figure3.csv and {out}/figure3.png")


def _atomic_write(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    main(*sys.argv[1:])
