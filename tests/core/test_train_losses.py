"""Each loss against torch's reference, every target layout, and the evaluation metrics against
scikit-learn."""
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, mean_absolute_error, r2_score

from layerlab.core.specs import TrainSpec
from layerlab.core.train.losses import build_loss
from layerlab.core.train.metrics import accuracy_f1, confusion, evaluate, regression_stats

torch.manual_seed(0)
LOGITS = torch.randn(32, 5)
IDS = torch.randint(0, 5, (32,))


def loss(name, width=5, **kw):
    return build_loss(TrainSpec(loss=name, **kw), width)


def test_cross_entropy_with_and_without_label_smoothing():
    assert torch.allclose(loss("cross_entropy")(LOGITS, IDS), F.cross_entropy(LOGITS, IDS))
    smooth = loss("cross_entropy", label_smoothing=0.1)(LOGITS, IDS)
    assert torch.allclose(smooth, torch.nn.CrossEntropyLoss(label_smoothing=0.1)(LOGITS, IDS))
    assert not torch.allclose(smooth, F.cross_entropy(LOGITS, IDS))


def test_cross_entropy_per_position_sequences():
    out, y = torch.randn(4, 7, 11), torch.randint(0, 11, (4, 7))
    ref = F.cross_entropy(out.permute(0, 2, 1), y)     # torch's [B, C, T] layout
    assert torch.allclose(loss("cross_entropy", 11)(out, y), ref, atol=1e-6)


def test_bce_binary_one_unit_with_class_ids():
    out, y = torch.randn(16, 1), torch.randint(0, 2, (16,))
    ref = F.binary_cross_entropy_with_logits(out[:, 0], y.float())
    assert torch.allclose(loss("bce_logits", 1)(out, y), ref)


def test_bce_multi_label_float_targets_and_one_vs_rest_ids():
    out, y = torch.randn(16, 4), torch.randint(0, 2, (16, 4)).float()
    assert torch.allclose(loss("bce_logits", 4)(out, y), F.binary_cross_entropy_with_logits(out, y))
    ids = torch.randint(0, 4, (16,))
    ref = F.binary_cross_entropy_with_logits(out, F.one_hot(ids, 4).float())
    assert torch.allclose(loss("bce_logits", 4)(out, ids), ref)


def test_hinge_is_multi_margin():
    assert torch.allclose(loss("hinge")(LOGITS, IDS), torch.nn.MultiMarginLoss()(LOGITS, IDS))


@pytest.mark.parametrize("name,ref", [("mse", F.mse_loss), ("mae", F.l1_loss),
                                      ("huber", lambda a, b: F.huber_loss(a, b, delta=0.5))])
def test_regression_losses(name, ref):
    out, y = torch.randn(20, 3), torch.randn(20, 3) * 2
    assert torch.allclose(loss(name, 3, huber_delta=0.5)(out, y), ref(out, y))
    col, flat = torch.randn(20, 1), torch.randn(20)                  # [B] target meets a [B, 1] output
    assert torch.allclose(loss(name, 1, huber_delta=0.5)(col, flat), ref(col, flat[:, None]))


def test_huber_delta_matters():
    out, y = torch.zeros(10, 1), torch.full((10, 1), 3.0)
    assert float(loss("huber", 1, huber_delta=1.0)(out, y)) == pytest.approx(2.5)
    assert float(loss("huber", 1, huber_delta=2.0)(out, y)) == pytest.approx(4.0)


def test_accuracy_and_macro_f1_match_sklearn():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 6, (500,), generator=g)
    pred = torch.where(torch.rand(500, generator=g) < 0.6, y, torch.randint(0, 6, (500,), generator=g))
    pred[pred == 5] = 4                             # class 5 never predicted
    acc, f1 = accuracy_f1(confusion(pred, y, 7))    # class 6 absent from both: ignored like sklearn
    assert float(acc) == pytest.approx(float((pred == y).float().mean()))
    assert float(f1) == pytest.approx(f1_score(y.numpy(), pred.numpy(), average="macro"))


def test_mae_and_r2_match_sklearn_including_multi_output():
    g = torch.Generator().manual_seed(2)
    y = torch.randn(100, 3, generator=g)
    pred = y + 0.3 * torch.randn(100, 3, generator=g)
    mae, r2 = regression_stats(pred, y)
    assert float(mae) == pytest.approx(mean_absolute_error(y.numpy(), pred.numpy()))
    assert float(r2) == pytest.approx(r2_score(y.numpy(), pred.numpy()))


def test_evaluate_reports_loss_and_metrics_in_eval_mode():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Dropout(0.9))
    x, y = torch.randn(50, 2), torch.randint(0, 3, (50,))
    lf = loss("cross_entropy", 3)
    out = evaluate(model, lf, x, y, "classification", 3, predict=lambda o: o.argmax(-1), batch=16)
    with torch.no_grad():
        logits = model[0](x)
    assert set(out) == {"val_loss", "val_accuracy", "val_f1", "val_balanced_accuracy"}
    assert out["val_loss"] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert out["val_accuracy"] == pytest.approx(float((logits.argmax(1) == y).float().mean()))
    assert model.training                                             # mode restored
