"""Saliency maps with Captum and conv feature maps, for one sample at a time.

`saliency` answers "which parts of this input drove the prediction": vanilla gradient,
SmoothGrad (gradients averaged over noisy copies), integrated gradients (zero baseline) for
any float-input model, Grad-CAM for conv models. Token-id inputs cannot be differentiated, so
they are attributed at the Embedding's output and summed per token. Captum differentiates with
torch.autograd.grad, so the parameters' .grad (the trainer's) are never touched.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .probes import layer_modules, probe_mode, type_of_class

METHODS = ("gradient", "smoothgrad", "integrated_gradients", "gradcam")
CONVS = (nn.Conv1d, nn.Conv2d)


def _parts(model):
    """(torch module, input per-sample shape or None, named layer modules) for a Compiled or a module."""
    from ..compiler import Compiled
    if isinstance(model, Compiled):
        return model.module, tuple(model.input_type.shape), layer_modules(model)
    return model, None, [(n, m) for n, m in model.named_children()]


def _batch_of_one(x, shape, module) -> torch.Tensor:
    """x as a batch of one on the model's device."""
    x = torch.as_tensor(x)
    p = next(module.parameters(), None)
    if p is not None:
        x = x.to(p.device)
    if shape is not None and x.dim() == len(shape) + 1 and x.shape[0] == 1:
        return x  # already a batch of one
    return x.unsqueeze(0)


def _forward(module, position: int):
    """Model outputs as [B, K]: a per-position output [B, T, V] is read at `position`."""
    def forward(x):
        out = module(x)
        if out.dim() > 2:
            out = out[:, position] if out.dim() == 3 else out.reshape(out.shape[0], -1)
        return out
    return forward


def saliency(model, x, target: int | None = None, method: str = "gradient", layer: str | None = None,
             position: int = -1, samples: int = 16, steps: int = 32) -> np.ndarray:
    """Attribution for one sample `x` (shaped like the network's input, batch axis optional)
    toward output `target` (default: the predicted class / output 0). Returns a float32 array
    shaped like the sample: |gradient| (gradient, smoothgrad), signed contributions
    (integrated_gradients), or the Grad-CAM map upsampled to the input's H×W (or L) and
    repeated over its channels. For token ids the result is one value per token.

    model: a Compiled (preferred: its input shape disambiguates batching) or an nn.Module.
    layer: Grad-CAM's conv layer by name (default: the last conv layer).
    position: which position of a per-position output [B, T, V] to explain (default the last).
    samples / steps: SmoothGrad's noisy copies / integrated gradients' path steps."""
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel, Saliency

    if method not in METHODS:
        raise ValueError(f"unknown saliency method {method!r}: use one of {', '.join(METHODS)}")
    module, shape, mods = _parts(model)
    inp = _batch_of_one(x, shape, module)
    fwd = _forward(module, position)
    with probe_mode(module, no_grad=False):
        if target is None:
            with torch.no_grad():
                target = int(fwd(inp)[0].argmax())
        if not inp.is_floating_point():
            return _token_saliency(fwd, inp, target, method, mods, steps)
        inp = inp.detach().float().requires_grad_()
        if method == "gradient":
            attr = Saliency(fwd).attribute(inp, target=target)
        elif method == "smoothgrad":
            # noise at 15% of the input's range, as the SmoothGrad paper recommends
            spread = float(inp.detach().max() - inp.detach().min()) or 1.0
            attr = NoiseTunnel(Saliency(fwd)).attribute(inp, nt_type="smoothgrad", nt_samples=samples,
                                                         nt_samples_batch_size=samples, stdevs=0.15 * spread,
                                                         target=target)
        elif method == "integrated_gradients":
            attr = IntegratedGradients(fwd).attribute(inp, baselines=torch.zeros_like(inp), target=target,
                                                      n_steps=steps, internal_batch_size=steps)
        else:
            name, conv = _gradcam_layer(mods, layer)
            spatial = tuple(inp.shape[2:])
            if conv.weight.dim() - 2 != len(spatial):
                raise ValueError(f"Grad-CAM maps the conv layer '{name}' back onto the input, but the input "
                                 f"{list(inp.shape[1:])} is not an image or signal of the same rank: pick "
                                 "gradient, smoothgrad or integrated_gradients")
            cam = LayerGradCam(fwd, conv).attribute(inp, target=target, relu_attributions=True)
            mode = "bilinear" if len(spatial) == 2 else "linear"
            cam = LayerAttribution.interpolate(cam, spatial, mode)  # [1, 1, *spatial]
            attr = cam.expand(inp.shape)
    return attr[0].detach().float().cpu().numpy().copy()


def _gradcam_layer(mods, layer: str | None) -> tuple[str, nn.Module]:
    convs = [(n, m) for n, m in mods if isinstance(m, CONVS)]
    if layer is None:
        if not convs:
            raise ValueError("Grad-CAM needs a convolutional layer and this network has none: pick "
                             "gradient, smoothgrad or integrated_gradients")
        return convs[-1]
    found = dict(mods).get(layer)
    if found is None or not isinstance(found, CONVS):
        kind = type_of_class(type(found).__name__)
        what = "is not a layer of this network" if found is None else f"is a {kind}, not a conv layer"
        choices = ", ".join(n for n, _ in convs) or "none here; use another method"
        raise ValueError(f"Grad-CAM needs a Conv1d/Conv2d layer, and '{layer}' {what}: pick one of {choices}")
    return layer, found


def _token_saliency(fwd, inp, target, method, mods, steps) -> np.ndarray:
    """Token ids: attribute at the Embedding's output, one value per token."""
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

    if method in ("smoothgrad", "gradcam"):
        raise ValueError(f"{method} does not work on token ids (they cannot take noise or form an image): "
                         "pick integrated_gradients or gradient")
    emb = next((m for _, m in mods if isinstance(m, nn.Embedding)), None)
    if emb is None:
        raise ValueError("the input is token ids but the network has no Embedding to attribute at: "
                         "add an Embedding after the Input")
    if method == "integrated_gradients":  # baseline: token 0 everywhere (the padding id)
        attr = LayerIntegratedGradients(fwd, emb).attribute(inp, baselines=torch.zeros_like(inp), target=target,
                                                            n_steps=steps, internal_batch_size=steps)
        per_token = attr.sum(-1)
    else:
        grad = LayerGradientXActivation(fwd, emb, multiply_by_inputs=False).attribute(inp, target=target)
        per_token = grad.norm(dim=-1)
    return per_token[0].detach().float().cpu().numpy().copy()


def feature_maps(compiled, x, layer_name: str) -> np.ndarray:
    """The output of layer `layer_name` for one sample: [C, H, W] for Conv2d/pooling layers
    ([C, L] for 1-D ones), as a float32 numpy copy."""
    mods = dict(layer_modules(compiled))
    module = mods.get(layer_name)
    if module is None:
        maps = ", ".join(n for n, m in mods.items() if isinstance(m, CONVS)) or "none in this network"
        raise ValueError(f"there is no layer named {layer_name!r}: pick a conv layer ({maps})")
    grabbed = []
    handle = module.register_forward_hook(lambda _m, _i, out: grabbed.append(out))
    try:
        with probe_mode(compiled.module):
            compiled.module(_batch_of_one(x, tuple(compiled.input_type.shape), compiled.module))
    finally:
        handle.remove()
    out = grabbed[0][0]
    if out.dim() < 2:
        maps = ", ".join(n for n, m in mods.items() if isinstance(m, CONVS)) or "none in this network"
        raise ValueError(f"'{layer_name}' outputs flat features {list(out.shape)}, not feature maps: pick a conv "
                         f"layer ({maps})")
    return out.detach().float().cpu().numpy().copy()
