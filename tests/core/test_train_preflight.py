"""Every set-up mismatch is reported before training, naming the layer and the fix."""
import pytest
import torch

from layerlab.core.train import preflight

from .test_train_helpers import dataset, project

DIGITS = dataset(torch.randn(100, 1, 8, 8), torch.arange(100) % 10, name="digits")
DIABETES = dataset(torch.randn(40, 10), torch.randn(40, 1) * 50 + 150, task="regression", name="diabetes")
TOKENS = dataset(torch.randint(0, 20, (40, 6)), torch.randint(0, 20, (40, 6)), num_classes=20, name="reverse")


def digits_net(units=10, head=(), **training):
    return project(("Input", {"shape": [1, 8, 8]}), "Flatten", ("Dense", {"units": units}), *head, "Output",
                   names=["x", "flat", "logits", *[f"h{i}" for i in range(len(head))], "out"], **training)


def errors(p, ds):
    return [str(x) for x in preflight(p, ds) if x.severity == "error"]


def warnings(p, ds):
    return [str(x) for x in preflight(p, ds) if x.severity == "warning"]


def test_a_good_setup_has_no_problems():
    assert preflight(digits_net(), DIGITS) == []


def test_output_width_versus_classes():
    assert errors(digits_net(units=3), DIGITS) == [
        "Dense 'logits' gives 3 outputs but digits has 10 classes: set units to 10"]


def test_input_shape_versus_data():
    p = project(("Input", {"shape": [2]}), ("Dense", {"units": 10}), "Output", names=["x", "logits", "out"])
    assert errors(p, DIGITS) == ["Input 'x' takes [B, 2] but digits gives [B, 1, 8, 8]: set its shape to 1, 8, 8"]


def test_softmax_before_cross_entropy():
    p = digits_net(head=(("Softmax", {}),))
    msg = errors(p, DIGITS)
    assert len(msg) == 1 and msg[0].startswith("Softmax 'h0' comes right before the Output, but cross_entropy "
                                                "applies log-softmax itself: delete the Softmax")


def test_sigmoid_before_bce_logits():
    p = project(("Input", {"shape": [1, 8, 8]}), "Flatten", ("Dense", {"units": 1}), "Sigmoid", "Output",
                names=["x", "flat", "logits", "sig", "out"], loss="bce_logits")
    ds = dataset(torch.randn(40, 1, 8, 8), torch.arange(40) % 2, name="digits")
    assert errors(p, ds) == ["Sigmoid 'sig' comes right before the Output, but bce_logits expects raw logits and "
                             "applies the sigmoid itself: delete the Sigmoid"]


def test_regression_loss_on_class_labels():
    msg = errors(digits_net(loss="mse"), DIGITS)
    assert msg == ["training.loss mse is a regression loss but digits has class labels: use cross_entropy "
                   "(or hinge / bce_logits), or set data.task to regression"]


def test_class_loss_on_a_regression_task_and_its_width():
    p = project(("Input", {"shape": [10]}), ("Dense", {"units": 3}), "Output", names=["x", "head", "out"])
    assert errors(p, DIABETES) == [
        "training.loss cross_entropy needs class labels but diabetes has continuous targets: use mse, mae or huber, "
        "or set data.task to classification",
        "Dense 'head' gives 3 outputs but diabetes has 1 target value: set units to 1"]


def test_bce_on_regression_targets_outside_0_1():
    p = project(("Input", {"shape": [10]}), ("Dense", {"units": 1}), "Output", names=["x", "head", "out"],
                loss="bce_logits")
    assert errors(p, DIABETES)[0].startswith("training.loss bce_logits needs targets in [0, 1] but diabetes has values")


def test_bce_width_for_binary_and_multi_class():
    two = dataset(torch.randn(40, 1, 8, 8), torch.arange(40) % 2, name="digits")
    assert errors(digits_net(units=1, loss="bce_logits"), two) == []
    assert errors(digits_net(units=2, loss="bce_logits"), two) == []
    assert errors(digits_net(units=3, loss="bce_logits"), two) == [
        "Dense 'logits' gives 3 outputs but digits has 2 classes: set units to 1 (binary)"]
    assert errors(digits_net(units=1, loss="bce_logits"), DIGITS) == [
        "Dense 'logits' gives 1 output but digits has 10 classes: set units to 10 (one-vs-rest) or use cross_entropy"]


def test_monitor_must_exist_for_the_task():
    assert errors(digits_net(monitor="val_r2"), DIGITS) == [
        "training.monitor val_r2 needs a regression task but digits is classification: monitor val_loss, "
        "val_accuracy or val_f1"]


def test_per_sample_labels_need_a_flat_output():
    p = project(("Input", {"shape": [1, 8, 8]}), ("Conv2d", {"filters": 10}), "Output", names=["x", "conv", "out"])
    assert errors(p, DIGITS) == ["The Output gives [B, 10, 8, 8] per batch but digits has one class per sample: "
                                 "reduce it to [B, 10]: Flatten or GlobalAvgPool before the last Dense"]


def test_token_inputs_dtype_vocab_and_per_position_width():
    p = project(("Input", {"shape": [6]}), ("Dense", {"units": 20}), "Output", names=["x", "d", "out"])
    assert "Input 'x' takes float32 features but reverse gives int64 token ids: set its dtype to int64" in errors(p, TOKENS)
    p = project(("Input", {"shape": [6], "dtype": "int64"}), ("Embedding", {"vocab": 10, "dim": 8}),
                ("Dense", {"units": 12}), "Output", names=["x", "embed", "logits", "out"])
    assert errors(p, TOKENS) == [
        "Embedding 'embed' has vocab 10 but reverse uses token ids up to 19: set vocab to 20 or more",
        "Dense 'logits' gives 12 outputs per position but reverse has 20 classes: set units to 20"]


def test_settings_and_graph_problems_come_through():
    p = digits_net(lr=0.0)
    assert errors(p, DIGITS) == ["training.lr must be > 0 (got 0.0): try 1e-3 for Adam, 0.1 for SGD"]
    broken = project(("Input", {"shape": [1, 8, 8]}), ("Dense", {"units": 10}), "Output")
    assert any("Flatten" in m for m in errors(broken, DIGITS))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_a_gpu():
    assert errors(digits_net(device="cuda"), DIGITS) == [
        "training.device is cuda but no CUDA GPU is available: set device to auto or cpu"]


def test_warnings_do_not_block():
    tiny = dataset(torch.randn(10, 1, 8, 8), torch.arange(10), torch.randn(0, 1, 8, 8),
                   torch.zeros(0, dtype=torch.long), name="digits")
    w = warnings(digits_net(batch_size=64), tiny)
    assert errors(digits_net(batch_size=64), tiny) == []
    assert any("batch_size 64 is larger than the 10 training samples" in m for m in w)
    assert any("no validation samples" in m for m in w)
    relu_head = warnings(digits_net(head=("ReLU",)), DIGITS)
    assert relu_head == ["ReLU 'h0' comes right before the Output, so logits cannot go negative: delete it: "
                         "end with Dense"]


def test_the_package_export_stays_callable_after_the_submodule_is_imported():
    import importlib

    import layerlab.core.train as train
    importlib.import_module("layerlab.core.train.checks")
    from layerlab.core.train import preflight as p
    assert p(digits_net(), DIGITS) == [] and train.preflight(digits_net(), DIGITS) == []
