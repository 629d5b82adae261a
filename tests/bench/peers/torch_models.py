"""The two benchmark networks written in plain torch.nn, equal to LayerLab's: the digits MLP
(Flatten, Dense 64, ReLU, Dense 10) and the digits_cnn template (Conv-BN-ReLU x3, two max-pools,
dropout 0.3, Dense 10)."""
from torch import nn


def build(kind: str) -> nn.Module:
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding="same", bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*block(1, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 2 * 2, 10))
