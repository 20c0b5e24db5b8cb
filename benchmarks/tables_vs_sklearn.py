"""minidl's shipped tables against scikit-learn's pipeline on the same split.

    .venv/bin/python benchmarks/tables_vs_sklearn.py [--seeds 5]

For each spec: minidl trains it (`compile_spec(spec).fit()`, seeds S..S+k-1); scikit-learn
gets the same train and test rows (the spec's seeded split of the rows that have a target)
through SimpleImputer (mean; a category of its own for text) + StandardScaler +
OneHotEncoder(handle_unknown="ignore") and an MLP of 32 units (and ridge regression for
numbers). scikit-learn is needed for this comparison only; minidl does not depend on it.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from minidl import compile_spec
from minidl.compiler.program import with_run_seed
from minidl.data.frame import read_frame
from minidl.data.header import read_header
from minidl.data.table import split_rows
from minidl.lang import parse_file

SPECS = Path(__file__).parents[1] / "specs"


def sklearn_scores(spec_path: Path, seed: int) -> dict[str, float]:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    spec = parse_file(spec_path)
    data = spec.data
    path = spec_path.parent / data.train
    frame = read_frame(path, read_header(path))
    frame = frame[frame[list(data.targets)].notna().all(axis=1)].reset_index(drop=True)
    train_rows, test_rows = split_rows(
        str(path), len(frame), data.split, torch.Generator().manual_seed(seed)
    )
    features = [c for c in frame.columns if c not in data.targets and c not in data.ignore]
    text = [c for c in features if frame[c].dtype.kind not in "iuf" or c in data.categorical]
    numbers = [c for c in features if c not in text]
    prepare = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), numbers),
            (
                "text",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="<missing>"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                text,
            ),
        ]
    )
    x = frame[features].astype({c: object for c in text})
    for c in text:
        x[c] = x[c].map(lambda v: "<missing>" if pd.isna(v) else str(v))
    y = frame[list(data.targets)].to_numpy()
    xtr, xte = x.iloc[train_rows.numpy()], x.iloc[test_rows.numpy()]
    ytr, yte = y[train_rows.numpy()], y[test_rows.numpy()]
    if frame[data.targets[0]].dtype.kind in "iuf" and len(np.unique(ytr)) > 2:
        mean, std = ytr.mean(0), ytr.std(0)
        scores = {}
        for name, model in (
            ("mlp", MLPRegressor(hidden_layer_sizes=(32,), max_iter=3000, random_state=seed)),
            ("ridge", Ridge()),
        ):
            fitted = make_pipeline(prepare, model).fit(xtr, ((ytr - mean) / std).ravel())
            predicted = fitted.predict(xte).reshape(len(xte), -1) * std + mean
            scores[f"{name}_r2"] = r2_score(yte, predicted)
            scores[f"{name}_rmse"] = float(np.sqrt(((yte - predicted) ** 2).mean()))
        return scores
    model = make_pipeline(
        prepare, MLPClassifier(hidden_layer_sizes=(32,), max_iter=3000, random_state=seed)
    )
    fitted = model.fit(xtr, ytr.ravel())
    return {"mlp_error": 100 * float((fitted.predict(xte) != yte.ravel()).mean())}


def minidl_scores(spec_path: Path, seed: int) -> dict[str, float]:
    spec = parse_file(spec_path)
    spec = with_run_seed(spec, seed - spec.train.seed)
    final = compile_spec(spec).fit()[-1]
    if final.regression:
        return {"r2": final.test_r2 or 0.0, "rmse": final.test_rmse or 0.0}
    return {"error": final.test_error}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("specs", nargs="*", default=["penguins.mdl", "cars.mdl"])
    args = parser.parse_args()
    for name in args.specs:
        path = SPECS / name
        base = parse_file(path).train.seed
        rows: dict[str, list[float]] = {}
        for seed in range(base, base + args.seeds):
            for key, value in {**minidl_scores(path, seed), **sklearn_scores(path, seed)}.items():
                rows.setdefault(key, []).append(value)
        shown = "   ".join(
            f"{key} {statistics.fmean(v):.4f} ± {statistics.pstdev(v):.4f}"
            for key, v in rows.items()
        )
        print(f"{name} (seeds {base}-{base + args.seeds - 1}): {shown}")


if __name__ == "__main__":
    main()
