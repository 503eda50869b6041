#!/usr/bin/python3
"""Makes Legato's own small test models and their reference data.

Run with Debian's Python (PyTorch 1.13, ONNX 1.12):  /usr/bin/python3 models/make_models.py

Every model is deterministic (fixed seeds) and saved as TorchScript (.pt) and, where ONNX can
express it, ONNX (opset 17). The TensorFlow Lite versions are made from the same weights by
make_tflite.py. Reference data, computed by PyTorch over a whole stream (zeros before the
start, state from zero), is saved as float32 .npy:

  stream_mono.npy    [1, N]  the test signal        stream_stereo.npy  [2, N]
  <model>.out.npy    [C, N]  the model's output, aligned with the input (no latency)

See models/README.md for each model's tensors and how to stream it.
"""
import os
import sys

import numpy as np
import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
N = 8192  # samples in the reference stream
OPSET = 17


def signal(channels, seed):
    """Decaying partials plus a little noise, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(N) / 48000.0
    out = np.zeros((channels, N))
    for c in range(channels):
        for _ in range(4):
            f = rng.uniform(80.0, 2000.0)
            onset = rng.integers(0, N // 2)
            env = np.where(np.arange(N) >= onset, np.exp(-6.0 * np.maximum(t - t[onset], 0)), 0)
            out[c] += 0.4 * env * np.sin(2 * np.pi * f * t)
        out[c] += 0.02 * rng.standard_normal(N)
    return np.clip(out, -1, 1).astype(np.float32)


class CnnPast(nn.Module):
    """Stateless dilated 1-D CNN: [1, 1, T] -> [1, 1, T - 40] (receptive field 41)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(1, 8, 9)
        self.c2 = nn.Conv1d(8, 8, 9, dilation=4)
        self.c3 = nn.Conv1d(8, 1, 1)

    def forward(self, x):
        return self.c3(torch.tanh(self.c2(torch.tanh(self.c1(x)))))


class LstmState(nn.Module):
    """LSTM(16) + Linear with explicit state: (x [1,T,1], h [1,1,16], c [1,1,16]) -> (y, h, c)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 16, batch_first=True)
        self.fc = nn.Linear(16, 1)

    def forward(self, x, h, c):
        y, (h2, c2) = self.lstm(x, (h, c))
        return self.fc(y), h2, c2


class LstmInternal(nn.Module):
    """The same LSTM keeping its state inside the module between calls: x [1,T,1] -> y."""

    def __init__(self, base: LstmState):
        super().__init__()
        self.lstm = base.lstm
        self.fc = base.fc
        self.register_buffer("h", torch.zeros(1, 1, 16))
        self.register_buffer("c", torch.zeros(1, 1, 16))

    def forward(self, x):
        y, (h, c) = self.lstm(x, (self.h, self.c))
        self.h.copy_(h)
        self.c.copy_(c)
        return self.fc(y)


class Hybrid(nn.Module):
    """CNN + LSTM over a batch of sliding windows: [B, 1, 32] -> [B, 1], one sample per window."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 4, 4, stride=4)
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        features = torch.tanh(self.conv(x)).transpose(1, 2)  # [B, 8, 4]
        y, _ = self.lstm(features)
        return self.fc(y[:, -1, :])


class Gain(nn.Module):
    """Two inputs, two outputs: (audio [1,1,T], gain [1]) -> (gain * audio, peak [1] = max |audio|)."""

    def forward(self, x, gain):
        # An explicit axis: PyTorch 1.13 exports a full reduction as an invalid ReduceMax.
        return x * gain, torch.abs(x).reshape(1, -1).amax(dim=1)


class Stereo(nn.Module):
    """Channel-mixing stereo model: [1, 2, T] -> [1, 2, T - 2] (receptive field 3)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 2, 3)

    def forward(self, x):
        return torch.tanh(self.conv(x))


class Methods(nn.Module):
    """Entry points other than forward, returning a tensor, a tuple and a list."""

    def forward(self, x):
        return 2.0 * x

    @torch.jit.export
    def encode(self, x):
        return 3.0 * x, x + 1.0

    @torch.jit.export
    def decode(self, x):
        return [x - 1.0]


def bad_models():
    """ONNX models that must be refused with a clear error: an int64 input, an unknown op."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("audio_in", TensorProto.INT64, [1, 1, 256])
    y = helper.make_tensor_value_info("audio_out", TensorProto.INT64, [1, 1, 256])
    graph = helper.make_graph([helper.make_node("Identity", ["audio_in"], ["audio_out"])],
                              "int64_input", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "bad", "int64_input.onnx"))

    x = helper.make_tensor_value_info("audio_in", TensorProto.FLOAT, [1, 1, 256])
    y = helper.make_tensor_value_info("audio_out", TensorProto.FLOAT, [1, 1, 256])
    node = helper.make_node("Warble", ["audio_in"], ["audio_out"], domain="org.legato.test")
    graph = helper.make_graph([node], "unknown_operator", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("org.legato.test", 1)])
    onnx.save(model, os.path.join(HERE, "bad", "unknown_operator.onnx"))


class FaultyLength(torch.nn.Module):
    """Returns one sample too few whenever the window starts above 0.5: a run-time fault (an
    output of the wrong size) that only the engine wrapper's per-run shape check can catch."""

    def forward(self, x):
        if bool(x[0, 0, 0] > 0.5):
            return x[:, :, 1:]
        return -x


def faulty_models():
    """TorchScript models that fail at run time, not at load time (fault injection)."""
    torch.jit.script(FaultyLength()).save(os.path.join(HERE, "bad", "faulty_length.pt"))


def seeded(make, seed):
    torch.manual_seed(seed)
    model = make()
    model.eval()
    return model


def save(name, array):
    np.save(os.path.join(HERE, name), np.ascontiguousarray(array, dtype="<f4"))


def export_onnx(model, args, name, inputs, outputs, dynamic):
    path = os.path.join(HERE, name)
    torch.onnx.export(model, args, path, input_names=inputs, output_names=outputs,
                      dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def main():
    mono = signal(1, 1)
    stereo = signal(2, 2)
    save("stream_mono.npy", mono)
    save("stream_stereo.npy", stereo)
    x = torch.from_numpy(mono)

    with torch.no_grad():
        # 1. Stateless CNN with past context.
        cnn = seeded(CnnPast, 11)
        padded = torch.cat([torch.zeros(1, 40), x], dim=1).reshape(1, 1, -1)
        save("cnn_past.out.npy", cnn(padded).reshape(1, N).numpy())
        torch.jit.script(cnn).save(os.path.join(HERE, "cnn_past.pt"))
        export_onnx(cnn, torch.zeros(1, 1, 296), "cnn_past.onnx", ["audio_in"], ["audio_out"],
                    {"audio_in": {2: "window"}, "audio_out": {2: "hop"}})

        # 2. LSTM with explicit state, and 3. the same weights keeping state inside.
        lstm = seeded(LstmState, 12)
        zero = torch.zeros(1, 1, 16)
        y, _, _ = lstm(x.reshape(1, N, 1), zero, zero)
        save("lstm_state.out.npy", y.reshape(1, N).numpy())
        torch.jit.script(lstm).save(os.path.join(HERE, "lstm_state.pt"))
        export_onnx(lstm, (torch.zeros(1, 64, 1), zero, zero), "lstm_state.onnx",
                    ["audio_in", "h_in", "c_in"], ["audio_out", "h_out", "c_out"],
                    {"audio_in": {1: "hop"}, "audio_out": {1: "hop"}})
        internal = LstmInternal(lstm).eval()
        torch.jit.script(internal).save(os.path.join(HERE, "lstm_internal.pt"))
        save("lstm_internal.out.npy", y.reshape(1, N).numpy())

        # 4. Hybrid CNN + LSTM over sliding windows of 32 samples.
        hybrid = seeded(Hybrid, 13)
        padded = torch.cat([torch.zeros(1, 31), x], dim=1).reshape(-1)
        windows = padded.unfold(0, 32, 1).reshape(N, 1, 32)  # window n ends at sample n
        save("hybrid.out.npy", hybrid(windows).reshape(1, N).numpy())
        torch.jit.script(hybrid).save(os.path.join(HERE, "hybrid.pt"))
        export_onnx(hybrid, torch.zeros(64, 1, 32), "hybrid.onnx", ["windows"], ["audio_out"],
                    {"windows": {0: "batch"}, "audio_out": {0: "batch"}})

        # 5. Two inputs (audio, gain) and a non-streamed second output (peak).
        gain = Gain().eval()
        processed, _ = gain(x.reshape(1, 1, N), torch.tensor([0.5]))
        save("gain.out.npy", processed.reshape(1, N).numpy())
        torch.jit.script(gain).save(os.path.join(HERE, "gain.pt"))
        export_onnx(gain, (torch.zeros(1, 1, 256), torch.tensor([0.5])), "gain.onnx",
                    ["audio_in", "gain"], ["audio_out", "peak"],
                    {"audio_in": {2: "hop"}, "audio_out": {2: "hop"}})

        # 6. Stereo with channel mixing.
        st = seeded(Stereo, 14)
        padded = torch.cat([torch.zeros(2, 2), torch.from_numpy(stereo)], dim=1).reshape(1, 2, -1)
        save("stereo.out.npy", st(padded).reshape(2, N).numpy())
        torch.jit.script(st).save(os.path.join(HERE, "stereo.pt"))
        export_onnx(st, torch.zeros(1, 2, 258), "stereo.onnx", ["audio_in"], ["audio_out"],
                    {"audio_in": {2: "window"}, "audio_out": {2: "hop"}})

        # 7. Entry points and output kinds (TorchScript only).
        torch.jit.script(Methods()).save(os.path.join(HERE, "methods.pt"))

    os.makedirs(os.path.join(HERE, "bad"), exist_ok=True)
    bad_models()
    faulty_models()
    return 0


if __name__ == "__main__":
    sys.exit(main())
