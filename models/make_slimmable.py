#!/usr/bin/python3
"""Makes the project's slimmable NAM WaveNet and, for every size it can take, the same model
written out plainly at that size: the reference for the native engine's slimming.

Run with Debian's Python (NumPy):  /usr/bin/python3 models/make_slimmable.py

Written to models/native/ (deterministic: a fixed seed):

  slimmable.nam          two layer arrays, both slimmable (slice_channels_uniform):
                         [in 1, 4 ch, bottleneck 2, k3, dilations 1 2, Tanh gated, head 3]
                         allowed [2, 4] -> [in 4, 3 ch, k2, dilations 4 8, ReLU, head 1 + bias]
                         allowed [1, 2, 3]; sizes 1/3, 1/2 and 2/3 change it
  slimmable-C0-C1.nam    a plain (not slimmable) WaveNet with C0 and C1 channels in its arrays,
                         for each smaller size: 2-1 (sizes [0, 1/3)), 2-2 ([1/3, 1/2)),
                         4-2 ([1/2, 2/3)); [2/3, 1] is the full model

Slimming keeps the first rows and columns of every weight (NeuralAmpModelerCore's
NAM/wavenet/slimmable.cpp): this script does it on the weights as named tensors, while the
engine walks the flat weight list, so the two are independent. tests/native/nam_slimmable_test.cpp
checks that the engine slimmed to each size gives the same bits as the plain file.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "native")

# (channels, bottleneck, kernel, dilations, activation, gated, head_bias, allowed)
ARRAYS = [(4, 2, 3, [1, 2], "Tanh", True, False, [2, 4]),
          (3, 3, 2, [4, 8], "ReLU", False, True, [1, 2, 3])]


def tensors(rng):
    """The full model's weights as named tensors, per array."""
    u = lambda *shape: rng.uniform(-0.5, 0.5, shape).astype(np.float32)
    arrays, inputs = [], 1
    for i, (ch, bn, k, dilations, _, gated, head_bias, _) in enumerate(ARRAYS):
        z = 2 * bn if gated else bn
        head = ARRAYS[i + 1][0] if i + 1 < len(ARRAYS) else 1
        layers = [{"conv": u(z, ch, k), "conv_bias": u(z), "mixin": u(z, 1),
                   "layer1x1": u(ch, bn), "layer1x1_bias": u(ch)} for _ in dilations]
        arrays.append({"rechannel": u(ch, inputs), "layers": layers, "head": u(head, bn),
                       "head_bias": u(head) if head_bias else None})
        inputs = ch
    return arrays, np.float32(0.02)


def slim(arrays, channels):
    """The tensors of the model with channels[i] channels in array i."""
    out = []
    for i, (a, (ch, bn, _, _, _, gated, _, _)) in enumerate(zip(arrays, ARRAYS)):
        c = channels[i]
        b = max(1, bn * c // ch)  # the bottleneck scales with the channels (layer1x1 active)
        z = 2 * b if gated else b
        inputs = 1 if i == 0 else channels[i - 1]
        head = channels[i + 1] if i + 1 < len(ARRAYS) else 1
        out.append({"rechannel": a["rechannel"][:c, :inputs],
                    "layers": [{"conv": l["conv"][:z, :c, :], "conv_bias": l["conv_bias"][:z],
                                "mixin": l["mixin"][:z, :], "layer1x1": l["layer1x1"][:c, :b],
                                "layer1x1_bias": l["layer1x1_bias"][:c]} for l in a["layers"]],
                    "head": a["head"][:head, :b],
                    "head_bias": None if a["head_bias"] is None else a["head_bias"][:head]})
    return out


def flat(arrays, head_scale):
    """NAM's weight order: per array the rechannel, per layer conv (out, in, tap), its bias,
    the input mixin, layer1x1 and its bias; the head rechannel (and bias); last head_scale."""
    parts = []
    for a in arrays:
        parts.append(a["rechannel"].ravel())
        for l in a["layers"]:
            parts += [l["conv"].ravel(), l["conv_bias"], l["mixin"].ravel(), l["layer1x1"].ravel(),
                      l["layer1x1_bias"]]
        parts.append(a["head"].ravel())
        if a["head_bias"] is not None:
            parts.append(a["head_bias"])
    parts.append(np.array([head_scale], np.float32))
    return [float(v) for v in np.concatenate(parts)]


def config(channels, slimmable):
    layers, inputs = [], 1
    for i, (ch, bn, k, dilations, activation, gated, head_bias, allowed) in enumerate(ARRAYS):
        c = channels[i]
        layer = {"input_size": inputs, "condition_size": 1,
                 "head_size": channels[i + 1] if i + 1 < len(ARRAYS) else 1, "channels": c,
                 "bottleneck": max(1, bn * c // ch), "kernel_size": k, "dilations": dilations,
                 "activation": activation, "gated": gated, "head_bias": head_bias}
        if slimmable:
            layer["slimmable"] = {"method": "slice_channels_uniform",
                                  "kwargs": {"allowed_channels": allowed}}
        layers.append(layer)
        inputs = c
    return {"layers": layers, "head": None, "head_scale": 0.02}


def write(name, channels, arrays, head_scale, slimmable):
    data = {"version": "0.7.0", "architecture": "WaveNet", "config": config(channels, slimmable),
            "metadata": {"name": "legato-" + name}, "weights": flat(arrays, head_scale),
            "sample_rate": 48000}
    path = os.path.join(OUT, name + ".nam")
    with open(path, "w") as f:
        json.dump(data, f)
    print(f"{name}.nam: {len(data['weights'])} weights, {os.path.getsize(path)} bytes")


def main():
    arrays, head_scale = tensors(np.random.default_rng(20261206))
    full = [a[0] for a in ARRAYS]
    write("slimmable", full, arrays, head_scale, True)
    for channels in ([2, 1], [2, 2], [4, 2]):
        write("slimmable-%d-%d" % tuple(channels), channels, slim(arrays, channels), head_scale,
              False)


if __name__ == "__main__":
    main()
