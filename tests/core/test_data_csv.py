"""CSV files: target choice, one-hot text features, task detection, and bad cells refused (naming
column and row) or imputed with train statistics."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from layerlab.core.data import DataError, load
from layerlab.core.specs import DataSpec


def _csv(tmp_path, text, name="data.csv"):
    (tmp_path / name).write_text(text)
    return name


def _load(tmp_path, text, **kw):
    kw.setdefault("preprocessing", "none")
    return load(DataSpec(dataset="csv", path=_csv(tmp_path, text), **kw), base_dir=tmp_path)


def _rows(n, fmt):
    return "".join(fmt(i) for i in range(n))


def test_numeric_csv_last_column_is_the_target(tmp_path):
    text = "a,b,label\n" + _rows(60, lambda i: f"{i},{i * 0.5},{i % 3}\n")
    ds = _load(tmp_path, text)
    assert ds.task == "classification" and ds.num_classes == 3 and ds.class_names == ["0", "1", "2"]
    assert ds.feature_names == ["a", "b"] and ds.input_shape == (2,)
    assert ds.name == "data.csv"
    # rows keep their values: b = a / 2
    assert torch.allclose(ds.raw_x_train[:, 1], ds.raw_x_train[:, 0] * 0.5)


def test_text_features_are_one_hot_encoded(tmp_path):
    colors = ["red", "green", "blue"]
    text = "size,color,y\n" + _rows(30, lambda i: f"{i},{colors[i % 3]},{i % 2}\n")
    ds = _load(tmp_path, text, val_fraction=0.0, test_fraction=0.0)
    assert ds.feature_names == ["size", "color=blue", "color=green", "color=red"]
    x = ds.raw_x_train
    assert torch.all(x[:, 1:].sum(1) == 1)                   # exactly one indicator per row
    for row in x:                                            # the indicator matches the colour
        assert ds.feature_names[1 + int(row[1:].argmax())] == f"color={colors[int(row[0]) % 3]}"


def test_target_column_by_name_and_text_labels(tmp_path):
    text = "species,petal,sepal\n" + _rows(40, lambda i: f"{'cat' if i % 2 else 'dog'},{i},{-i}\n")
    ds = _load(tmp_path, text, target="species")
    assert ds.class_names == ["cat", "dog"] and ds.feature_names == ["petal", "sepal"]
    x, y = ds.raw_x_train, ds.y_train
    assert torch.equal(y, 1 - (x[:, 0].long() % 2))          # odd rows are cats (class 0)


def test_auto_task_rules(tmp_path):
    reg = _load(tmp_path, "x,y\n" + _rows(50, lambda i: f"{i},{i * 1.37}\n"))
    assert reg.task == "regression" and reg.y_train.shape[1:] == (1,) and reg.y_train.dtype == torch.float32
    assert reg.num_classes == 0 and reg.class_names == []
    many_ints = _load(tmp_path, "x,y\n" + _rows(50, lambda i: f"{i},{i}\n"))
    assert many_ints.task == "regression"                      # > 20 distinct whole numbers
    few_ints = _load(tmp_path, "x,y\n" + _rows(50, lambda i: f"{i},{i % 5}\n"))
    assert few_ints.task == "classification" and few_ints.num_classes == 5
    forced = _load(tmp_path, "x,y\n" + _rows(50, lambda i: f"{i},{i % 5}\n"), task="regression")
    assert forced.task == "regression"
    with pytest.raises(DataError, match="holds text"):
        _load(tmp_path, "x,y\n" + _rows(20, lambda i: f"{i},{'ab'[i % 2]}\n"), task="regression")


def test_non_numeric_junk_names_column_and_row(tmp_path):
    text = "age,height,y\n30,1.7,0\n41,1.8,1\n35,abc,0\n22,1.5,1\n" + _rows(20, lambda i: f"{i},1.6,{i % 2}\n")
    with pytest.raises(DataError) as e:
        _load(tmp_path, text)
    msg = str(e.value)
    assert "'height'" in msg and "data row 3" in msg and "'abc'" in msg and "impute" in msg
    assert "\n" not in msg


def test_missing_value_names_column_and_row(tmp_path):
    text = "age,height,y\n30,1.7,0\n41,1.8,1\n35,1.6,0\n,1.5,1\n" + _rows(20, lambda i: f"{i},1.6,{i % 2}\n")
    with pytest.raises(DataError) as e:
        _load(tmp_path, text)
    msg = str(e.value)
    assert "'age'" in msg and "missing value" in msg and "data row 4" in msg and '"impute"' in msg


def test_missing_target_is_never_filled(tmp_path):
    text = "a,y\n1,0\n2,\n" + _rows(20, lambda i: f"{i},{i % 2}\n")
    with pytest.raises(DataError) as e:
        _load(tmp_path, text, options={"impute": "mean"})
    assert "target column 'y'" in str(e.value) and "data row 2" in str(e.value) and "drop" in str(e.value)
    ds = _load(tmp_path, text, options={"impute": "drop"})
    assert sum(ds.sizes) == 21 and any("dropped 1 row" in n for n in ds.notes)


def _gappy(n=40):
    rows = []
    for i in range(n):
        a = "" if i % 10 == 3 else ("junk" if i % 10 == 7 else str(float(i)))
        rows.append(f"{a},{i % 4},{'xy'[i % 2]},{i % 2}\n")
    return "a,b,c,y\n" + "".join(rows)


def test_impute_mean_uses_train_statistics_only(tmp_path):
    ds = _load(tmp_path, _gappy(), options={"impute": "mean"})
    x = ds.raw_x_train[:, 0]
    # 8 gaps (missing + junk) were filled; all filled cells carry the same value
    present = torch.tensor([float(i) for i in range(40) if i % 10 not in (3, 7)])
    whole = [v for v in torch.cat([x, _raw_col(ds)]).tolist() if v not in present.tolist()]
    assert len(whole) == 8 and len(set(whole)) == 1
    fill = whole[0]
    # ... which is the mean of the train split's present values, not of all the data
    train_present = [v for v in x.tolist() if v != fill]
    assert fill == pytest.approx(np.mean(train_present), rel=1e-5)
    assert fill != pytest.approx(float(present.mean()), rel=1e-4)
    assert any(n.startswith("a: 8 missing values filled with the train mean") for n in ds.notes)


def _raw_col(ds):
    return torch.cat([ds.x_val, ds.x_test])[:, 0]    # preprocessing "none": val/test are raw


def test_impute_median_and_drop(tmp_path):
    med = _load(tmp_path, _gappy(), options={"impute": "median"})
    assert torch.isfinite(med.raw_x_train).all() and sum(med.sizes) == 40
    assert any("train median" in n for n in med.notes)
    drop = _load(tmp_path, _gappy(), options={"impute": "drop"})
    assert sum(drop.sizes) == 32 and any("dropped 8 rows" in n for n in drop.notes)


def test_missing_text_cell_with_impute_fills_indicators(tmp_path):
    text = "c,y\n" + _rows(30, lambda i: f"{'' if i == 4 else 'pq'[i % 2]},{i % 2}\n")
    with pytest.raises(DataError, match="column 'c' has a missing value at data row 5"):
        _load(tmp_path, text)
    ds = _load(tmp_path, text, options={"impute": "mean"})
    all_x = torch.cat([ds.raw_x_train, ds.x_val, ds.x_test])
    assert torch.isfinite(all_x).all() and ds.feature_names == ["c=p", "c=q"]


@pytest.mark.parametrize("text, opts, words", [
    ("", {}, ["empty"]),
    ("a,b\n", {}, ["no data rows"]),
    ("a;b;c\n1;2;3\n", {}, ["';'"]),
    ('a,b\n1,2\n3,4,5,6\n', {}, ["cannot be parsed"]),
    ("a,b\n1,2\n", {"impute": "zero"}, ["impute", "'mean'"]),
    ("a,b\n1,2\n", {"colour": 1}, ["'colour'", "impute"]),
    ("a,empty,y\n1,,0\n2,,1\n", {}, ["'empty'", "no values"]),
])
def test_bad_files_and_options_are_data_errors(tmp_path, text, opts, words):
    with pytest.raises(DataError) as e:
        _load(tmp_path, text, options=opts)
    for w in words:
        assert w in str(e.value)


def test_unknown_target_and_missing_file(tmp_path):
    _csv(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match="no column 'label'.*'a', 'b'"):
        load(DataSpec(dataset="csv", path="data.csv", target="label"), base_dir=tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load(DataSpec(dataset="csv", path="nope.csv"), base_dir=tmp_path)


def test_too_many_categories_refused(tmp_path):
    text = "name,y\n" + _rows(150, lambda i: f"person{i},{i % 2}\n")
    with pytest.raises(DataError, match="150 distinct text values"):
        _load(tmp_path, text)
    assert _load(tmp_path, text, options={"max_categories": 200}).input_shape == (150,)


def test_csv_standardized_with_train_stats(tmp_path):
    text = "a,b,y\n" + _rows(100, lambda i: f"{i},{(i * 7) % 13},{i % 2}\n")
    ds = load(DataSpec(dataset="csv", path=_csv(tmp_path, text)), base_dir=tmp_path)
    assert ds.preprocessor.kind == "standardize" and ds.preprocessor.fitted_on == 70
    assert ds.x_train.mean(0).abs().max() < 1e-5


def test_saved_pandas_index_column_is_dropped(tmp_path):
    import pandas as pd
    df = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30) % 7, "y": np.arange(30) % 2})
    df.to_csv(tmp_path / "with_index.csv")          # writes an unnamed 0..N-1 first column
    ds = load(DataSpec(dataset="csv", path="with_index.csv"), base_dir=tmp_path)
    assert ds.feature_names == ["a", "b"] and any("row index" in n for n in ds.notes)


def test_bool_target_keeps_its_labels_and_continuous_classes_refused(tmp_path):
    ds = _load(tmp_path, "x,flag\n" + _rows(30, lambda i: f"{i},{'True' if i % 3 else 'False'}\n"))
    assert ds.task == "classification" and ds.class_names == ["False", "True"]
    with pytest.raises(DataError, match="looks continuous"):
        _load(tmp_path, "x,y\n" + _rows(60, lambda i: f"{i},{i * 0.37}\n"), task="classification")
