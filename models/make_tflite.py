#!/usr/bin/python3
"""Makes the TensorFlow Lite versions of Legato's own test models, from the same weights.

Run with Debian's Python after make_models.py:  /usr/bin/python3 models/make_tflite.py

There is no TensorFlow here: each model is written as a JSON description of the TFLite
flatbuffer schema and turned into a .tflite file by `flatc -b` with the schema that
scripts/setup.sh installs (/opt/legato-deps/tflite-schema/schema.fbs; override with
TFLITE_SCHEMA). Weights come from the TorchScript files (<model>.pt). Only version 1 builtin
operators are used, so that the TensorFlow Lite 2.2.0 runtime Legato builds against registers
them all. The output is deterministic: the same weights give byte-identical files.

Layouts follow TFLite's habit of channels last:

  cnn_past.tflite       audio_in [1, 1, T, 1] (NHWC, W = time) -> audio_out [1, 1, T - 40, 1]
  stereo.tflite         audio_in [1, 1, T, 2]                  -> audio_out [1, 1, T - 2, 2]
  gain.tflite           audio_in [1, T, 1], gain [1]           -> audio_out [1, T, 1], peak [1]
  lstm_internal.tflite  audio_in [1, T, 1] -> audio_out [1, T, 1]; LSTM state in variable tensors
  hybrid.tflite         windows [B, 32, 1] -> audio_out [B, 1]; the LSTM over the 8 conv steps is
                        unrolled (see make_hybrid for why)
  bad/newer_operator.tflite  FULLY_CONNECTED version 9: TFLite 2.2 cannot register it
  bad/custom_operator.tflite a custom operator no runtime has ("LegatoWarble")
  bad/int32_input.tflite     an int32 input and output (RESHAPE)

Every file is made with a default size (T = 296 / 258 / 256, B = 64); Legato resizes the
inputs to the configured hop at load. The models are checked against the PyTorch references
by tests/engines/tflite_test.cpp (there is no TFLite runtime for Python here).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.environ.get("TFLITE_SCHEMA", "/opt/legato-deps/tflite-schema/schema.fbs")


class Graph:
    """One-subgraph TFLite model being assembled as the schema's JSON form."""

    def __init__(self, description):
        self.description = description
        self.buffers = [{}]  # buffer 0: the empty sentinel the schema requires
        self.tensors = []
        self.operator_codes = []
        self.operators = []
        self.inputs = []
        self.outputs = []

    def tensor(self, name, shape, data=None, dtype="FLOAT32", variable=False):
        """Adds a tensor; `data` (a numpy array) makes it a constant. Returns its index."""
        if data is not None:
            array = np.array(data, dtype="<f4" if dtype == "FLOAT32" else "<i4", order="C")
            assert list(array.shape) == list(shape), (name, array.shape, shape)
            self.buffers.append({"data": list(array.tobytes())})
        else:
            # Activations and variable tensors get their own empty buffer, as the TFLite
            # converter does (variable tensors must not share the sentinel's data).
            self.buffers.append({})
        entry = {"shape": [int(d) for d in shape], "type": dtype,
                 "buffer": len(self.buffers) - 1, "name": name}
        if variable:
            entry["is_variable"] = True
        self.tensors.append(entry)
        return len(self.tensors) - 1

    def const(self, name, array, dtype="FLOAT32"):
        array = np.asarray(array)
        return self.tensor(name, array.shape, array, dtype)

    def op(self, code, inputs, outputs, options_type=None, options=None, version=1):
        key = (code, version)
        codes = [(c["builtin_code"], c["version"]) for c in self.operator_codes]
        if key not in codes:
            self.operator_codes.append({"builtin_code": code, "version": version})
            codes.append(key)
        entry = {"opcode_index": codes.index(key), "inputs": inputs, "outputs": outputs}
        if options_type is not None:
            entry["builtin_options_type"] = options_type
            entry["builtin_options"] = options or {}
        self.operators.append(entry)

    def write(self, path):
        model = {
            "version": 3,
            "description": self.description,
            "operator_codes": self.operator_codes,
            "subgraphs": [{"tensors": self.tensors, "inputs": self.inputs,
                           "outputs": self.outputs, "operators": self.operators,
                           "name": "main"}],
            "buffers": self.buffers,
        }
        with tempfile.TemporaryDirectory() as tmp:
            name = os.path.splitext(os.path.basename(path))[0]
            source = os.path.join(tmp, name + ".json")
            with open(source, "w") as f:
                json.dump(model, f)
            subprocess.run(["flatc", "-b", "-o", tmp, SCHEMA, source], check=True)
            shutil.copyfile(os.path.join(tmp, name + ".tflite"), path)
        print(f"{os.path.relpath(path, HERE)}: {os.path.getsize(path)} bytes", flush=True)

    # Operators used below (all version 1).

    def conv1d(self, x, weight, bias, name, out_shape, dilation=1, stride=1):
        """PyTorch Conv1d as CONV_2D on NHWC [N, 1, T, C] (H = 1, W = time), VALID padding.
        PyTorch's weight [out, in, k] becomes TFLite's filter [out, 1, k, in]."""
        weight = weight.numpy()
        filt = weight.transpose(0, 2, 1)[:, None, :, :]
        w = self.const(name + "/filter", filt)
        b = self.const(name + "/bias", bias.numpy())
        y = self.tensor(name, out_shape)
        self.op("CONV_2D", [x, w, b], [y], "Conv2DOptions",
                {"padding": "VALID", "stride_w": stride, "stride_h": 1,
                 "fused_activation_function": "NONE", "dilation_w_factor": dilation,
                 "dilation_h_factor": 1})
        return y

    def unary(self, code, x, name, shape):
        y = self.tensor(name, shape)
        self.op(code, [x], [y])
        return y

    def binary(self, code, a, b, name, shape, options_type):
        y = self.tensor(name, shape)
        self.op(code, [a, b], [y], options_type, {"fused_activation_function": "NONE"})
        return y

    def fully_connected(self, x, weight, bias, name, shape):
        """y = x W^T + b over the last dimension; W is [units, inputs] as in PyTorch (an array,
        or the index of a constant tensor to share one between operators)."""
        w = weight if isinstance(weight, int) else self.const(name + "/weights", weight)
        b = -1 if bias is None else self.const(name + "/bias", bias)
        y = self.tensor(name, shape)
        self.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions",
                {"fused_activation_function": "NONE", "weights_format": "DEFAULT"})
        return y

    def reshape(self, x, new_shape, name, shape):
        s = self.const(name + "/shape", np.array(new_shape), "INT32")
        y = self.tensor(name, shape)
        self.op("RESHAPE", [x, s], [y], "ReshapeOptions", {"new_shape": list(new_shape)})
        return y


def weights(model):
    module = torch.jit.load(os.path.join(HERE, model + ".pt"))
    return {k: v.detach().to(torch.float32) for k, v in module.state_dict().items()}


def make_cnn_past(path, T=296):
    w = weights("cnn_past")
    g = Graph("Legato test model cnn_past (make_tflite.py): dilated CNN, past context 40")
    x = g.tensor("audio_in", [1, 1, T, 1])
    h = g.conv1d(x, w["c1.weight"], w["c1.bias"], "c1", [1, 1, T - 8, 8])
    h = g.unary("TANH", h, "c1/tanh", [1, 1, T - 8, 8])
    h = g.conv1d(h, w["c2.weight"], w["c2.bias"], "c2", [1, 1, T - 40, 8], dilation=4)
    h = g.unary("TANH", h, "c2/tanh", [1, 1, T - 40, 8])
    y = g.conv1d(h, w["c3.weight"], w["c3.bias"], "audio_out", [1, 1, T - 40, 1])
    g.inputs, g.outputs = [x], [y]
    g.write(path)


def make_stereo(path, T=258):
    w = weights("stereo")
    g = Graph("Legato test model stereo (make_tflite.py): channel-mixing conv, past context 2")
    x = g.tensor("audio_in", [1, 1, T, 2])
    h = g.conv1d(x, w["conv.weight"], w["conv.bias"], "conv", [1, 1, T - 2, 2])
    y = g.unary("TANH", h, "audio_out", [1, 1, T - 2, 2])
    g.inputs, g.outputs = [x], [y]
    g.write(path)


def make_gain(path, T=256):
    # MUL broadcasts [1, T, 1] * [1] (TFLite 2.2 broadcasts up to 4-D); REDUCE_MAX over axes
    # 1 and 2 without keep_dims leaves [1], the same shape as the PyTorch model's peak.
    g = Graph("Legato test model gain (make_tflite.py): audio * gain, peak = max |audio|")
    x = g.tensor("audio_in", [1, T, 1])
    gain = g.tensor("gain", [1])
    y = g.binary("MUL", x, gain, "audio_out", [1, T, 1], "MulOptions")
    a = g.unary("ABS", x, "abs", [1, T, 1])
    axes = g.const("peak/axes", np.array([1, 2]), "INT32")
    peak = g.tensor("peak", [1])
    g.op("REDUCE_MAX", [a, axes], [peak], "ReducerOptions", {"keep_dims": False})
    g.inputs, g.outputs = [x, gain], [y, peak]
    g.write(path)


def lstm_gates(w, prefix):
    """PyTorch's stacked LSTM weights (gate order i, f, g, o) split per gate, with the two
    biases summed, as TFLite takes them."""
    hidden = w[prefix + "weight_hh_l0"].shape[1]
    split = lambda t: [t[k * hidden:(k + 1) * hidden].numpy() for k in range(4)]
    bias = w[prefix + "bias_ih_l0"] + w[prefix + "bias_hh_l0"]
    return split(w[prefix + "weight_ih_l0"]), split(w[prefix + "weight_hh_l0"]), split(bias)


def make_lstm_internal(path, T=256):
    w = weights("lstm_internal")
    hidden = 16
    g = Graph("Legato test model lstm_internal (make_tflite.py): LSTM(16) + Linear, state in "
              "variable tensors")
    x = g.tensor("audio_in", [1, T, 1])
    w_in, w_rec, b = lstm_gates(w, "lstm.")
    gates = ["input", "forget", "cell", "output"]
    input_weights = [g.const(f"lstm/input_to_{n}_weights", w_in[k]) for k, n in enumerate(gates)]
    recurrent = [g.const(f"lstm/recurrent_to_{n}_weights", w_rec[k])
                 for k, n in enumerate(gates)]
    biases = [g.const(f"lstm/{n}_gate_bias", b[k]) for k, n in enumerate(gates)]
    # The recurrent state: variable tensors the op reads and overwrites on every invoke, so it
    # carries from one invoke to the next until the interpreter resets them.
    h = g.tensor("lstm/output_state", [1, hidden], variable=True)
    c = g.tensor("lstm/cell_state", [1, hidden], variable=True)
    seq = g.tensor("lstm/output", [1, T, hidden])
    none = [-1]
    g.op("UNIDIRECTIONAL_SEQUENCE_LSTM",
         [x] + input_weights + recurrent + none * 3 + biases + none * 2 + [h, c] + none * 4,
         [seq], "UnidirectionalSequenceLSTMOptions",
         {"fused_activation_function": "TANH", "cell_clip": 0.0, "proj_clip": 0.0,
          "time_major": False})
    # FULLY_CONNECTED version 1 flattens to [T, 1]; RESHAPE restores [1, T, 1].
    fc = g.fully_connected(seq, w["fc.weight"].numpy(), w["fc.bias"].numpy(), "fc", [T, 1])
    y = g.reshape(fc, [1, -1, 1], "audio_out", [1, T, 1])
    g.inputs, g.outputs = [x], [y]
    g.write(path)


def make_hybrid(path, B=64):
    """Conv(4, kernel 4, stride 4) + tanh, LSTM(8) over the 8 conv steps from zero state for
    every window, last step, Linear.

    TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM keeps its state in variable tensors of a fixed
    [batch, units] shape, and the C API can only resize graph inputs: a batch of windows
    resized at load (B = hop) makes the op refuse its state tensors ("NumElements(
    activation_state) != n_batch * n_output" in TFLite 2.2; tests/engines/tflite_test.cpp
    shows it with lstm_internal at batch 2). So the LSTM is unrolled
    over its 8 steps with FULLY_CONNECTED, SPLIT, LOGISTIC, TANH, MUL and ADD; it then has no
    state at all (every window starts from zero, as in PyTorch) and any batch size works.
    The conv is a FULLY_CONNECTED too: with kernel = stride = 4 it maps each group of 4
    samples to 4 features, and FULLY_CONNECTED (version 1) flattens [B, 32, 1] into the 8 B
    rows [4 samples] it needs.
    """
    w = weights("hybrid")
    steps, features, hidden = 8, 4, 8
    g = Graph("Legato test model hybrid (make_tflite.py): conv + LSTM(8) over sliding windows "
              "(unrolled), one output sample per window")
    x = g.tensor("windows", [B, 32, 1])

    # Row (b, t) = window b's conv step t: [8 B, 4] features, then their input projections to
    # the 4 gates (i, f, g, o) x 8 units, with both LSTM biases.
    conv = g.fully_connected(x, w["conv.weight"].numpy()[:, 0, :], w["conv.bias"].numpy(),
                             "conv", [B * steps, features])
    feat = g.unary("TANH", conv, "conv/tanh", [B * steps, features])
    bias = (w["lstm.bias_ih_l0"] + w["lstm.bias_hh_l0"]).numpy()
    proj = g.fully_connected(feat, w["lstm.weight_ih_l0"].numpy(), bias,
                             "lstm/input_projection", [B * steps, 4 * hidden])
    proj = g.reshape(proj, [-1, steps * 4 * hidden], "lstm/input_projection/per_window",
                     [B, steps * 4 * hidden])
    axis = g.const("lstm/split_axis", np.array(1), "INT32")
    per_step = [g.tensor(f"lstm/step{t}/input_gates", [B, 4 * hidden]) for t in range(steps)]
    g.op("SPLIT", [axis, proj], per_step, "SplitOptions", {"num_splits": steps})

    w_hh = g.const("lstm/recurrent_weights", w["lstm.weight_hh_l0"].numpy())  # [32, 8]
    gate_axis = g.const("lstm/gate_axis", np.array(1), "INT32")
    shape = [B, hidden]
    h = c = None
    for t in range(steps):
        name = f"lstm/step{t}"
        z = per_step[t]
        if h is not None:
            r = g.fully_connected(h, w_hh, None, name + "/recurrent", [B, 4 * hidden])
            z = g.binary("ADD", z, r, name + "/gates", [B, 4 * hidden], "AddOptions")
        parts = [g.tensor(f"{name}/{n}", shape) for n in ("i", "f", "g", "o")]
        g.op("SPLIT", [gate_axis, z], parts, "SplitOptions", {"num_splits": 4})
        i = g.unary("LOGISTIC", parts[0], name + "/i_act", shape)
        cell = g.unary("TANH", parts[2], name + "/g_act", shape)
        o = g.unary("LOGISTIC", parts[3], name + "/o_act", shape)
        ig = g.binary("MUL", i, cell, name + "/i_times_g", shape, "MulOptions")
        if c is None:  # zero initial state: c = i * g
            c = ig
        else:
            f = g.unary("LOGISTIC", parts[1], name + "/f_act", shape)
            fc = g.binary("MUL", f, c, name + "/f_times_c", shape, "MulOptions")
            c = g.binary("ADD", fc, ig, name + "/c", shape, "AddOptions")
        tc = g.unary("TANH", c, name + "/c_act", shape)
        h = g.binary("MUL", o, tc, name + "/h", shape, "MulOptions")

    y = g.fully_connected(h, w["fc.weight"].numpy(), w["fc.bias"].numpy(), "audio_out", [B, 1])
    g.inputs, g.outputs = [x], [y]
    g.write(path)


def make_newer_operator(path):
    """FULLY_CONNECTED version 9 (TFLite 2.2 knows versions 1-6): loading must fail with
    "Didn't find op for builtin opcode 'FULLY_CONNECTED' version '9'"."""
    g = Graph("Legato bad test model: an operator version newer than TFLite 2.2")
    x = g.tensor("audio_in", [1, 4])
    w = g.const("fc/weights", np.ones((1, 4)))
    y = g.tensor("audio_out", [1, 1])
    g.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions",
         {"fused_activation_function": "NONE"}, version=9)
    g.inputs, g.outputs = [x], [y]
    g.write(path)


def make_custom_operator(path):
    """A custom operator no runtime registers (as TensorFlow's Flex ops are to a plain TFLite)."""
    g = Graph("Legato bad test model: a custom operator")
    x = g.tensor("audio_in", [1, 256, 1])
    y = g.tensor("audio_out", [1, 256, 1])
    g.operator_codes.append({"builtin_code": "CUSTOM", "custom_code": "LegatoWarble",
                             "version": 1})
    g.operators.append({"opcode_index": 0, "inputs": [x], "outputs": [y]})
    g.inputs, g.outputs = [x], [y]
    g.write(path)


def make_int32_input(path):
    g = Graph("Legato bad test model: int32 input and output")
    x = g.tensor("audio_in", [1, 256, 1], dtype="INT32")
    y = g.reshape(x, [1, 256, 1], "audio_out", [1, 256, 1])
    g.tensors[y]["type"] = "INT32"
    g.inputs, g.outputs = [x], [y]
    g.write(path)


def main():
    if shutil.which("flatc") is None:
        sys.exit("flatc not found: install Debian's flatbuffers-compiler (scripts/setup.sh)")
    if not os.path.exists(SCHEMA):
        sys.exit(f"TFLite schema not found at {SCHEMA}: run scripts/setup.sh or set TFLITE_SCHEMA")
    make_cnn_past(os.path.join(HERE, "cnn_past.tflite"))
    make_stereo(os.path.join(HERE, "stereo.tflite"))
    make_gain(os.path.join(HERE, "gain.tflite"))
    make_lstm_internal(os.path.join(HERE, "lstm_internal.tflite"))
    make_hybrid(os.path.join(HERE, "hybrid.tflite"))
    os.makedirs(os.path.join(HERE, "bad"), exist_ok=True)
    make_newer_operator(os.path.join(HERE, "bad", "newer_operator.tflite"))
    make_custom_operator(os.path.join(HERE, "bad", "custom_operator.tflite"))
    make_int32_input(os.path.join(HERE, "bad", "int32_input.tflite"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
