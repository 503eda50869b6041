#!/usr/bin/python3
"""Makes small models that each hide a streaming trap `legato check` must detect.

Run with Debian's Python (PyTorch 1.13, ONNX 1.12):  /usr/bin/python3 models/make_traps.py

Written to models/traps/ (deterministic: fixed seeds), with whole-stream references computed by
PyTorch over models/stream_mono.npy (zeros before the start, state from zero), float32 .npy
[1, 8192] aligned with the input, like make_models.py's <model>.out.npy:

  hidden_state.pt        TorchScript LSTM whose forward() assigns its state to module attributes
  lstm_const_state.onnx  ONNX LSTM whose initial state is a graph constant (zeros), not an input
  fixed_window.onnx      ONNX model with a fixed [2048, 1, 1] input: only hop 2048 fits
  cnn_same.onnx          length-keeping causal CNN (zero padding inside): needs past_context 24

See the "Trap models" section of models/README.md for the tensors and the correct configuration.
"""
import os
import sys

import numpy as np
import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "traps")
N = 8192  # samples in the reference stream
OPSET = 17
FIXED = 2048  # fixed_window's window length
HIDDEN = 8


class HiddenState(nn.Module):
    """LSTM(8) + Linear, x [1,T,1] -> y [1,T,1], carrying its state in plain tensor attributes
    that forward() reassigns (prim::SetAttr): hidden state a stateless handler cannot see."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, 1)
        # Plain attributes, not buffers: they are not in state_dict() either.
        self.h = torch.zeros(1, 1, HIDDEN)
        self.c = torch.zeros(1, 1, HIDDEN)

    def forward(self, x):
        y, (h_n, c_n) = self.lstm(x, (self.h, self.c))
        self.h = h_n
        self.c = c_n
        return self.fc(y)


class LstmConstState(nn.Module):
    """LSTM(8) + Linear, audio_in [1,T,1] -> audio_out [1,T,1], whose initial state is a
    constant of the graph (zeros): every inference starts from zero state."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, 1)
        # A forget-gate bias of 7 (gate order i, f, g, o), as a trained long-memory LSTM may
        # have: the state matters for thousands of samples, so no short warm-up window (input
        # past_context) makes up for the reset.
        with torch.no_grad():
            self.lstm.bias_ih_l0[HIDDEN:2 * HIDDEN] = 7.0
            self.lstm.bias_hh_l0[HIDDEN:2 * HIDDEN] = 0.0
        # A fixed-shape buffer (not computed from the input's batch size), so the exporter writes
        # an initializer rather than a ConstantOfShape subgraph. One buffer for both h0 and c0:
        # two equal ones would be deduplicated into an initializer and an Identity of it.
        self.register_buffer("zero_state", torch.zeros(1, 1, HIDDEN))

    def forward(self, x):
        y, _ = self.lstm(x, (self.zero_state, self.zero_state))
        return self.fc(y)


class FixedWindow(nn.Module):
    """Per-sample soft clipper y = 0.5 tanh(2x) on a fixed [2048, 1, 1] (time-major) tensor."""

    def forward(self, x):
        return 0.5 * torch.tanh(2.0 * x)


class CnnSame(nn.Module):
    """Causal CNN keeping its length, [1,1,T] -> [1,1,T]: Conv1d(1,4,9) + tanh +
    Conv1d(4,1,9, dilation 2), each left-padded with zeros inside the model. Receptive field
    1 + 8 + 16 = 25, so a window sees real past only with past_context >= 24."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(1, 4, 9)
        self.c2 = nn.Conv1d(4, 1, 9, dilation=2)
        # The left padding as constant zeros to concatenate: the same as F.pad(x, (8, 0)) and
        # F.pad(x, (16, 0)), but exported as Concat with an initializer instead of a Pad whose
        # pads are computed by a dozen nodes.
        self.register_buffer("pad1", torch.zeros(1, 1, 8))
        self.register_buffer("pad2", torch.zeros(1, 4, 16))

    def forward(self, x):
        x = torch.tanh(self.c1(torch.cat([self.pad1, x], dim=2)))
        return self.c2(torch.cat([self.pad2, x], dim=2))


def seeded(make, seed):
    torch.manual_seed(seed)
    model = make()
    model.eval()
    return model


def save(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array, dtype="<f4"))


def export_onnx(model, args, name, dynamic):
    path = os.path.join(OUT, name)
    torch.onnx.export(model, args, path, input_names=["audio_in"], output_names=["audio_out"],
                      dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
    loaded = onnx.load(path)
    onnx.checker.check_model(loaded)
    return loaded


def dims(value_info):
    return [d.dim_param if d.dim_param else d.dim_value
            for d in value_info.type.tensor_type.shape.dim]


def check_const_state(model):
    """The LSTM's initial_h / initial_c (inputs 5 and 6) must be initializers, Constant outputs
    or absent, never graph inputs."""
    graph = model.graph
    constants = {i.name for i in graph.initializer}
    constants |= {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    inputs = [i.name for i in graph.input]
    assert inputs == ["audio_in"], inputs
    lstms = [n for n in graph.node if n.op_type == "LSTM"]
    assert len(lstms) == 1, [n.op_type for n in graph.node]
    lstm = lstms[0]
    for k, what in ((5, "initial_h"), (6, "initial_c")):
        name = lstm.input[k] if len(lstm.input) > k else ""
        assert name == "" or name in constants, (what, name)
        print(f"  LSTM {what}: {'absent' if not name else repr(name) + ' (constant)'}")


def receptive_field(model, length=256, at=100):
    """Impulse test: which outputs change when one input sample does (from a zero input)."""
    with torch.no_grad():
        x = torch.zeros(1, 1, length)
        base = model(x)
        x[0, 0, at] = 1.0
        changed = torch.nonzero((model(x) - base).abs().reshape(-1) > 0).reshape(-1)
    first, last = int(changed[0]), int(changed[-1])
    assert first == at, f"not causal: output {first} depends on input {at}"
    assert len(changed) == last - first + 1
    return last - first + 1


def streamed(model, x, hop, past, shape):
    """Streams x [1, N] through a length-keeping model, each run on an input of `shape` (-1 =
    past + hop samples) with `past` samples of real past context (zeros before the start), and
    keeps the last `hop` outputs of each run: what Legato does with a stateless handler."""
    padded = torch.cat([torch.zeros(1, past), x], dim=1)
    out = [model(padded[:, s:s + past + hop].reshape(shape)).reshape(1, -1)[:, past:]
           for s in range(0, x.shape[1], hop)]
    return torch.cat(out, dim=1)


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript writes a module's Final constants in set order, which follows the string
        # hash: without a fixed hash seed, hidden_state.pt differs from run to run.
        os.execve(sys.executable, [sys.executable] + sys.argv,
                  dict(os.environ, PYTHONHASHSEED="0"))
    os.makedirs(OUT, exist_ok=True)
    mono = np.load(os.path.join(HERE, "stream_mono.npy"))
    assert mono.shape == (1, N) and mono.dtype == np.float32, (mono.shape, mono.dtype)
    x = torch.from_numpy(mono)

    with torch.no_grad():
        # 1. Hidden state in attributes that forward() reassigns.
        hidden = seeded(HiddenState, 21)
        scripted = torch.jit.script(hidden)
        path = os.path.join(OUT, "hidden_state.pt")
        scripted.save(path)  # saved before any call: state zero
        y = hidden(x.reshape(1, N, 1))
        save("hidden_state.out.npy", y.reshape(1, N).numpy())
        loaded = torch.jit.load(path)
        assert "prim::SetAttr" in str(loaded.graph), "forward() does not assign attributes"
        assert float(loaded.h.abs().max()) == 0 and float(loaded.c.abs().max()) == 0
        half = N // 2
        y1 = loaded(x[:, :half].reshape(1, half, 1))
        y2 = loaded(x[:, half:].reshape(1, N - half, 1))  # carries state from the first call
        err = (torch.cat([y1, y2], dim=1).reshape(1, N) - y.reshape(1, N)).abs().max()
        print(f"hidden_state.pt: prim::SetAttr in forward; two calls vs whole stream {err:.2e}")
        assert err < 1e-5

        def restarted(v):  # what a stateless handler runs: the loaded (zero) state every time
            hidden.h = torch.zeros(1, 1, HIDDEN)
            hidden.c = torch.zeros(1, 1, HIDDEN)
            return hidden(v)

        err = (streamed(restarted, x, 256, 0, (1, -1, 1)) - y.reshape(1, N)).abs().max()
        print(f"  hop 256 from zero state every run (stateless): max abs error {err:.2e}")
        assert err > 1e-3

        # 2. LSTM whose initial state is a graph constant.
        const = seeded(LstmConstState, 22)
        y = const(x.reshape(1, N, 1))
        save("lstm_const_state.out.npy", y.reshape(1, N).numpy())
        model = export_onnx(const, torch.zeros(1, 64, 1), "lstm_const_state.onnx",
                            {"audio_in": {1: "hop"}, "audio_out": {1: "hop"}})
        print("lstm_const_state.onnx:", [n.op_type for n in model.graph.node])
        check_const_state(model)
        y1 = const(x[:, :half].reshape(1, half, 1))
        y2 = const(x[:, half:].reshape(1, N - half, 1))  # restarts from zero state
        err = (torch.cat([y1, y2], dim=1).reshape(1, N) - y.reshape(1, N)).abs().max()
        print(f"  two calls (state reset) vs whole stream {err:.2e}")
        assert err > 1e-3
        for past in (0, 256, 1024, 2048):  # a warm-up window only shrinks the error
            err = (streamed(const, x, 256, past, (1, -1, 1)) - y.reshape(1, N)).abs()
            print(f"  hop 256, past_context {past:4d}: max abs error vs whole stream "
                  f"{err.max():.2e}, after sample 4096 {err[:, 4096:].max():.2e}")

        # 3. Fixed input shape [2048, 1, 1].
        fixed = FixedWindow().eval()
        windows = x.reshape(N // FIXED, FIXED, 1, 1)  # consecutive 2048-sample windows
        y = torch.cat([fixed(w) for w in windows], dim=0)
        save("fixed_window.out.npy", y.reshape(1, N).numpy())
        model = export_onnx(fixed, torch.zeros(FIXED, 1, 1), "fixed_window.onnx", None)
        shapes = [dims(v) for v in (*model.graph.input, *model.graph.output)]
        print("fixed_window.onnx:", [n.op_type for n in model.graph.node], shapes)
        assert shapes == [[FIXED, 1, 1], [FIXED, 1, 1]], shapes

        # 4. Length-keeping causal CNN: receptive field 25, needs past_context 24.
        cnn = seeded(CnnSame, 24)
        # Zeros before the start of the *input* (as a stream is): the model's own padding would
        # instead put zeros before the start of each layer (c1's output of a zero input is
        # tanh(bias), not 0), which changes the first 16 outputs.
        y = cnn(torch.cat([torch.zeros(1, 24), x], dim=1).reshape(1, 1, -1))[..., 24:]
        save("cnn_same.out.npy", y.reshape(1, N).numpy())
        model = export_onnx(cnn, torch.zeros(1, 1, 256), "cnn_same.onnx",
                            {"audio_in": {2: "time"}, "audio_out": {2: "time"}})
        print("cnn_same.onnx:", [n.op_type for n in model.graph.node])
        field = receptive_field(cnn)
        print(f"  receptive field (impulse test): {field} samples -> past_context {field - 1}")
        assert field == 25
        err = (cnn(x.reshape(1, 1, N)) - y).abs().reshape(-1)
        print(f"  model's own padding at the start differs from the reference in the first "
              f"{int(torch.nonzero(err > 0).max()) + 1} samples (max {float(err.max()):.2e})")
        for past in (24, 23, 0):
            err = (streamed(cnn, x, 256, past, (1, 1, -1)) - y.reshape(1, N)).abs().max()
            print(f"  hop 256, past_context {past:2d}: max abs error vs whole stream {err:.2e}")
            assert (err < 1e-5) == (past >= 24)

    runtime_check()
    return 0


def runtime_check():
    """Loads every file again; runs the ONNX files with onnxruntime when it is installed."""
    for name in sorted(os.listdir(OUT)):
        path = os.path.join(OUT, name)
        if name.endswith(".onnx"):
            onnx.checker.check_model(onnx.load(path))
        elif name.endswith(".pt"):
            torch.jit.load(path)
        elif name.endswith(".npy"):
            assert np.load(path).shape == (1, N)
        print(f"  {name:26s} {os.path.getsize(path):6d} bytes")
    try:
        import onnxruntime
    except ImportError:
        print("onnxruntime not installed: ONNX files not run")
        return
    x = np.load(os.path.join(HERE, "stream_mono.npy"))
    for name, feed in (("lstm_const_state", x.reshape(1, N, 1)),
                       ("cnn_same", x.reshape(1, 1, N)),
                       ("fixed_window", None)):
        session = onnxruntime.InferenceSession(os.path.join(OUT, name + ".onnx"),
                                               providers=["CPUExecutionProvider"])
        if feed is None:
            y = np.concatenate([session.run(None, {"audio_in": w})[0]
                                for w in x.reshape(N // FIXED, FIXED, 1, 1)])
        else:
            y = session.run(None, {"audio_in": feed})[0]
        ref = np.load(os.path.join(OUT, name + ".out.npy"))
        err = np.abs(y.reshape(1, N) - ref).max()
        print(f"onnxruntime {name}: max abs error vs reference {err:.2e}")
        assert err < 1e-5


if __name__ == "__main__":
    sys.exit(main())
