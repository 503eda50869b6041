#!/usr/bin/python3
"""Makes the native engine's own models: small PyTorch networks exported to RTNeural's JSON.

Run with Debian's Python (PyTorch 1.13):  /usr/bin/python3 models/make_native.py

Written to models/native/ (deterministic: fixed seeds), each with PyTorch's whole-stream output
over models/stream_mono.npy (state from zero), float32 .npy [1, N] aligned with the input:

  lstm.json      LSTM(1->8) -> Linear(8->1)
  gru.json       GRU(1->8) -> Linear(8->1)            (PyTorch's GRU is Keras' reset_after)
  conv.json      causal Conv1d(1->4, k3, d2) -> tanh -> Conv1d(4->4, k3, d4, groups 2) ->
                 BatchNorm1d(4) -> PReLU -> Linear(4->1)

  lstm.onnx, gru.onnx, conv.onnx   the same three networks exported by torch.onnx.export (opsets
                 11, 14 and 17, a dynamic time axis), for the native engine's ONNX importer
  dense.onnx     Linear(1->8) -> LeakyReLU(0.2) -> Linear(8->6) -> ELU -> Linear(6->4) -> Sigmoid ->
                 [:, :, 1:3] -> Linear(2->1) (ONNX only: MatMul/Add, activations and a Slice)
  lstm2.onnx     LSTM(1->4, 2 layers, time-major [T, 1, 1]) -> Linear(4->1) (ONNX only, opset 15)

  For the cross-engine test (tests/engines/cross_engine_test.cpp: native, ONNX Runtime and
  LibTorch in one handler):
  dense.pt       the dense network as TorchScript
  conv_window.onnx, conv_window.pt   the convolutional network on windows that carry their own
                 past: no padding, so T samples in give T - 12 out (its receptive field is 13);
                 conv_window.out.npy is its stream from 12 zeros of past

  lstm.nam, wavenet.nam   small NAM files (random weights; fuzz seeds and loader tests: the
                 native engine's NAM conformance uses the staged upstream files)

The JSON export is this script's own code (RTNeural's Keras layout: kernels [in, units], gates in
Keras order). tests/native/own_models_test.cpp checks the native engine against the references.
"""
import json
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "native")


def dense(linear, activation=""):
    return {"type": "dense", "activation": activation, "shape": [None, None, linear.out_features],
            "weights": [linear.weight.detach().numpy().T.tolist(), linear.bias.detach().numpy().tolist()]}


def lstm_layer(lstm):
    # PyTorch's gate order (i, f, g, o) is Keras' (i, f, c, o); one bias is the sum of both.
    w = lstm.weight_ih_l0.detach().numpy().T
    u = lstm.weight_hh_l0.detach().numpy().T
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    return {"type": "lstm", "activation": "tanh", "shape": [None, None, lstm.hidden_size],
            "weights": [w.tolist(), u.tolist(), b.tolist()]}


def gru_layer(gru):
    # PyTorch (r, z, n) -> Keras (z, r, h); the two biases stay apart (reset_after).
    h = gru.hidden_size
    order = np.concatenate([np.arange(h, 2 * h), np.arange(0, h), np.arange(2 * h, 3 * h)])
    w = gru.weight_ih_l0.detach().numpy()[order].T
    u = gru.weight_hh_l0.detach().numpy()[order].T
    b = np.stack([gru.bias_ih_l0.detach().numpy()[order], gru.bias_hh_l0.detach().numpy()[order]])
    return {"type": "gru", "activation": "tanh", "shape": [None, None, h],
            "weights": [w.tolist(), u.tolist(), b.tolist()]}


def conv_layer(conv, activation=""):
    # PyTorch [out, in/groups, k] -> Keras [k, in/groups, out]; causal: left padding only.
    k = conv.kernel_size[0]
    w = conv.weight.detach().numpy().transpose(2, 1, 0)
    return {"type": "conv1d", "activation": activation, "shape": [None, None, conv.out_channels],
            "kernel_size": [k], "dilation": [conv.dilation[0]], "groups": conv.groups,
            "weights": [w.tolist(), conv.bias.detach().numpy().tolist()]}


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell
        self.out = nn.Linear(8, 1)

    def forward(self, x):  # x [1, T]
        y, _ = self.cell(x.reshape(1, -1, 1))
        return self.out(y).reshape(1, -1)


class Convolutional(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv1d(1, 4, 3, dilation=2)
        self.b = nn.Conv1d(4, 4, 3, dilation=4, groups=2)
        self.norm = nn.BatchNorm1d(4, eps=0.001)
        self.prelu = nn.PReLU(4)
        self.out = nn.Linear(4, 1)

    def forward(self, x):  # x [1, T], causal
        x = x.reshape(1, 1, -1)
        x = torch.tanh(self.a(nn.functional.pad(x, (4, 0))))
        x = self.prelu(self.norm(self.b(nn.functional.pad(x, (8, 0)))))
        return self.out(x.transpose(1, 2)).reshape(1, -1)


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(1, 8)
        self.b = nn.Linear(8, 6)
        self.c = nn.Linear(6, 4)
        self.out = nn.Linear(2, 1)

    def forward(self, x):  # x [1, T]
        x = nn.functional.leaky_relu(self.a(x.reshape(1, -1, 1)), 0.2)
        x = torch.sigmoid(self.c(nn.functional.elu(self.b(x))))
        return self.out(x[:, :, 1:3]).reshape(1, -1)


class Windowed(nn.Module):
    """Convolutional's layers without the causal padding: for engines that run it statelessly on
    windows of past context + hop (T in, T - 12 out)."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):  # x [1, T]
        c = self.conv
        x = torch.tanh(c.a(x.reshape(1, 1, -1)))
        x = c.prelu(c.norm(c.b(x)))
        return c.out(x.transpose(1, 2)).reshape(1, -1)


class Stacked(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTM(1, 4, num_layers=2)
        self.out = nn.Linear(4, 1)

    def forward(self, x):  # x [1, T] -> time-major [T, 1, 1]
        y, _ = self.cell(x.reshape(-1, 1, 1))
        return self.out(y).reshape(1, -1)


def export_onnx(module, x, name, opset):
    # The time axis is dynamic, as the native importer needs it (it streams along it).
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(module, (x[:, :64],), path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {1: "time"}, "output": {1: "time"}},
                      opset_version=opset)
    print(f"{name}.onnx: {os.path.getsize(path)} bytes, opset {opset}")


def main():
    os.makedirs(OUT, exist_ok=True)
    x = torch.from_numpy(np.load(os.path.join(HERE, "stream_mono.npy")).astype(np.float32)).reshape(1, -1)
    torch.manual_seed(20261206)
    models = {}
    lstm = Recurrent(nn.LSTM(1, 8, batch_first=True))
    models["lstm"] = (lstm, [lstm_layer(lstm.cell), dense(lstm.out)])
    gru = Recurrent(nn.GRU(1, 8, batch_first=True))
    models["gru"] = (gru, [gru_layer(gru.cell), dense(gru.out)])
    conv = Convolutional()
    with torch.no_grad():  # running statistics as a trained model would have them
        conv.norm.running_mean.uniform_(-0.2, 0.2)
        conv.norm.running_var.uniform_(0.5, 1.5)
        conv.norm.weight.uniform_(0.5, 1.5)
        conv.norm.bias.uniform_(-0.1, 0.1)
        conv.prelu.weight.uniform_(0.05, 0.3)
    norm = conv.norm
    models["conv"] = (conv, [
        conv_layer(conv.a, "tanh"), conv_layer(conv.b),
        {"type": "batchnorm", "activation": "", "shape": [None, None, 4], "epsilon": norm.eps,
         "weights": [norm.weight.detach().numpy().tolist(), norm.bias.detach().numpy().tolist(),
                     norm.running_mean.numpy().tolist(), norm.running_var.numpy().tolist()]},
        {"type": "prelu", "activation": "", "shape": [None, None, 4],
         "weights": [[conv.prelu.weight.detach().numpy().tolist()]]},
        dense(conv.out)])
    for name, (module, layers) in models.items():
        module.eval()
        with torch.no_grad():
            y = module(x).numpy().astype(np.float32)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({"in_shape": [None, None, 1], "layers": layers}, f)
        np.save(os.path.join(OUT, name + ".out.npy"), y)
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name + '.json'))} bytes, output {y.shape}")
        export_onnx(module, x, name, {"lstm": 11, "gru": 14, "conv": 17}[name])
    windowed = Windowed(conv)
    windowed.eval()
    with torch.no_grad():
        # Its stream from 12 zeros of past: conv's from the 13th sample on (conv pads every
        # layer's input with zeros, this one sees the first layer's response to zeros).
        y = windowed(torch.cat([torch.zeros(1, 12), x], dim=1))
        assert torch.allclose(y[:, 12:], conv(x)[:, 12:], atol=1e-6)
    np.save(os.path.join(OUT, "conv_window.out.npy"), y.numpy().astype(np.float32))
    export_onnx(windowed, x, "conv_window", 17)
    torch.jit.script(windowed).save(os.path.join(OUT, "conv_window.pt"))
    dense_net = Dense()
    dense_net.eval()
    with torch.no_grad():
        y = dense_net(x).numpy().astype(np.float32)
    np.save(os.path.join(OUT, "dense.out.npy"), y)
    export_onnx(dense_net, x, "dense", 13)
    torch.jit.script(dense_net).save(os.path.join(OUT, "dense.pt"))
    stacked = Stacked()
    stacked.eval()
    with torch.no_grad():
        y = stacked(x).numpy().astype(np.float32)
    np.save(os.path.join(OUT, "lstm2.out.npy"), y)
    export_onnx(stacked, x, "lstm2", 15)
    nam_files()


def nam_files():
    rng = np.random.default_rng(20261206)
    weights = lambda n: [round(float(v), 6) for v in rng.uniform(-0.5, 0.5, n)]
    lstm = {"version": "0.5.4", "architecture": "LSTM",
            "config": {"input_size": 1, "hidden_size": 2, "num_layers": 1, "out_channels": 1},
            "metadata": {"name": "legato-native-seed"}, "weights": weights(39), "sample_rate": 48000}
    layer = lambda inp, head, ch, dil, act, gated, bias: {
        "input_size": inp, "condition_size": 1, "head_size": head, "channels": ch, "kernel_size": 3,
        "dilations": dil, "activation": act, "gated": gated, "head_bias": bias}
    wavenet = {"version": "0.5.4", "architecture": "WaveNet",
               "config": {"layers": [layer(1, 2, 3, [1, 2], "Tanh", False, False),
                                     layer(3, 1, 2, [4], "ReLU", True, True)],
                          "head": None, "head_scale": 0.02},
               "weights": weights(147), "sample_rate": 48000}
    for name, data in (("lstm.nam", lstm), ("wavenet.nam", wavenet)):
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f)
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
