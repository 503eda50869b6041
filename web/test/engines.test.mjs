// JavaScript engines, ONNX Runtime Web and JavaScript pre/post-processing on the inference
// workers, through the package; every output compared sample by sample.
import { heapGrowth, offlineRun, noise, npy, onnxRuntimeWebConfig } from "./util.mjs";

const mono = (engines, hop, extra = {}) => ({
  name: "web-test", engines,
  inputs: [{ name: "in", shape: [1, 1, -1], hop }],
  outputs: [{ name: "out", shape: [1, 1, -1], hop }],
  max_inference_time_ms: 1, context: { worker_threads: 1 }, ...extra,
});
const js = (name, exportName, options = {}) =>
  ({ engine: "js", name, module: "./engines/gain.js", export: exportName, options });

export async function engineTests(legato, check) {
  const input = noise(24000, 7);

  // A synchronous and an asynchronous JavaScript engine: exact, at two block sizes.
  for (const [exportName, block] of [["Gain", 128], ["AsyncGain", 100]]) {
    const handler = await legato.createHandler(mono([js("gain", exportName)], 128));
    handler.prepare(48000, block, { offline: true });
    const output = offlineRun(handler, input, block);
    const latency = handler.latency;
    let wrong = 0;
    for (let n = 0; n < input.length; ++n)
      if (output[n] !== (n >= latency ? 0.5 * input[n - latency] : 0)) ++wrong;
    check(`${exportName} (JavaScript engine), block ${block}: output is 0.5 x input delayed by latency ${latency}`,
          wrong === 0 && handler.statistics().failedInferences === 0, `${wrong} samples differ`);
    handler.dispose();
  }

  // A C++ engine compiled into the module (web/cpp/cpp_engines.cpp: tanh(0.5 x)), on the pool.
  {
    const handler = await legato.createHandler(mono([{ engine: "cpp", name: "example-tanh" }], 128));
    handler.prepare(48000, 97, { offline: true });
    const output = offlineRun(handler, input, 97);
    const latency = handler.latency;
    let worst = 0;
    for (let n = 0; n < input.length; ++n)
      worst = Math.max(worst, Math.abs(output[n] - (n >= latency ? Math.tanh(0.5 * input[n - latency]) : 0)));
    check(`C++ engine compiled in (example-tanh), block 97: tanh(0.5 x) delayed by ${latency} (max error ${worst.toExponential(1)})`,
          worst <= 1.2e-7 && handler.engineNames[0] === "example-tanh", `max error ${worst}`);
    handler.dispose();
    let message = "";
    try { await legato.createHandler(mono([{ engine: "cpp", name: "nope" }], 128)); } catch (e) { message = e.message; }
    check("an unknown C++ engine is refused naming the field and the ones compiled in",
          /engines\[0\]\.name: no C\+\+ engine "nope".*example-tanh/.test(message), message);
  }

  // A stateful JavaScript engine: its state carries from hop to hop; reset() starts it afresh.
  {
    const handler = await legato.createHandler(mono([js("one-pole", "OnePole")], 64, { stateful: true }));
    handler.prepare(48000, 64, { offline: true });
    const reference = new Float32Array(input.length);
    let y = 0;
    for (let n = 0; n < input.length; ++n) reference[n] = y = Math.fround(input[n] + 0.5 * y);
    const check1 = (label) => {
      const output = offlineRun(handler, input, 64);
      const latency = handler.latency;
      let wrong = 0;
      for (let n = 0; n < input.length; ++n)
        if (output[n] !== (n >= latency ? reference[n - latency] : 0)) ++wrong;
      check(`stateful JavaScript engine ${label}: output is the one-pole of the whole stream, delayed by ${latency}`,
            wrong === 0, `${wrong} samples differ`);
    };
    check1("from the start");
    handler.reset();
    check1("after reset()");
    handler.dispose();
  }

  // A failing init() fails prepare() with the engine's message.
  {
    const handler = await legato.createHandler(mono([js("refusing", "Refusing")], 128));
    let message = "";
    try { handler.prepare(48000, 128, { offline: true }); } catch (e) { message = e.message; }
    check("a JavaScript engine whose init() throws fails prepare() with its message",
          /no weights in options/.test(message), message);
    handler.dispose();
  }
  // A missing module or export is refused at createHandler.
  for (const [entry, pattern] of [[{ engine: "js", module: "./engines/none.js" }, /none\.js/],
                                  [js("x", "NoSuchClass"), /no class export "NoSuchClass"/],
                                  [{ engine: "js" }, /engines\[0\]\.module: is required/]]) {
    let message = "";
    try { await legato.createHandler(mono([entry], 128)); } catch (e) { message = e.message; }
    check(`a bad JavaScript engine entry is refused: ${pattern}`, pattern.test(message), message);
  }

  // JavaScript pre/post-processing on the inference worker around a C++ engine (bypass).
  {
    const handler = await legato.createHandler(mono([{ engine: "bypass" }], 128, {
      processor: { module: "./engines/gain.js", export: "DoubleQuarter" },
    }));
    handler.prepare(48000, 128, { offline: true });
    const output = offlineRun(handler, input, 128);
    const latency = handler.latency;
    let wrong = 0;
    for (let n = 0; n < input.length; ++n)
      if (output[n] !== (n >= latency ? 0.5 * input[n - latency] : 0)) ++wrong;
    check(`JavaScript pre/post-processing around bypass: output is 0.5 x input delayed by ${latency}`,
          wrong === 0, `${wrong} samples differ`);
    handler.dispose();
  }

  // Engine switching: C++ bypass, then the JavaScript gain, without a new prepare().
  {
    const handler = await legato.createHandler(mono([{ engine: "bypass" }, js("gain", "Gain")], 128));
    handler.prepare(48000, 128, { offline: true });
    check("engine names", handler.engineNames.join() === "bypass,gain", handler.engineNames.join());
    const first = offlineRun(handler, input.subarray(0, 4096), 128);
    handler.setEngine("gain");
    const second = offlineRun(handler, input.subarray(4096, 8192), 128);
    const latency = handler.latency;
    // Hops submitted after the switch run on the gain: from 4096 + latency on, output = 0.5 x.
    let wrong = 0;
    for (let n = latency; n < 4096; ++n) if (first[n] !== input[n - latency]) ++wrong;
    for (let n = latency; n < 4096; ++n) if (second[n] !== 0.5 * input[4096 + n - latency]) ++wrong;
    check(`setEngine("gain") mid-stream: bypass before, 0.5 x after, each delayed by ${latency}`,
          wrong === 0 && handler.engine === 1, `${wrong} samples differ`);
    handler.dispose();
  }

  // 200 create/prepare/dispose cycles with a JavaScript engine return the heap to its baseline.
  {
    const growth = await heapGrowth(legato, async () => {
      const handler = await legato.createHandler(mono([js("gain", "Gain")], 128));
      handler.prepare(48000, 128, { offline: true });
      handler.dispose();
    });
    check("200 JavaScript-engine handler cycles leave the heap at its baseline", growth <= 4096,
          `${growth} bytes more in use`);
  }

  // A Context with two inference threads, shared by two handlers.
  {
    const context = legato.createContext({ workers: 2 });
    const a = await legato.createHandler(mono([{ engine: "bypass" }], 64), { context });
    const b = await legato.createHandler(mono([js("gain", "Gain")], 64), { context });
    a.prepare(48000, 64, { offline: true });
    b.prepare(48000, 64, { offline: true });
    const outA = offlineRun(a, input.subarray(0, 4800), 64);
    const outB = offlineRun(b, input.subarray(0, 4800), 64);
    let wrong = 0;
    for (let n = a.latency; n < 4800; ++n) if (outA[n] !== input[n - a.latency]) ++wrong;
    for (let n = b.latency; n < 4800; ++n) if (outB[n] !== 0.5 * input[n - b.latency]) ++wrong;
    check("a Context with 2 workers serves two handlers exactly", wrong === 0, `${wrong} samples differ`);
    a.dispose(); b.dispose(); context.dispose(); context.dispose();
    let message = "";
    try { legato.createContext({ workers: 9 }); } catch (e) { message = e.message; }
    check("a Context with too many workers is refused naming the field", /workers must be between 1 and 4/.test(message), message);
  }

  await onnxRuntimeWebTests(legato, check);
}

// ONNX Runtime Web on the project's own models, against the references the native engines
// match (models/*.out.npy: PyTorch on the whole stream).
async function onnxRuntimeWebTests(legato, check) {
  const stream = await npy("/repo/models/stream_mono.npy");
  for (const name of ["cnn_past", "lstm_state"]) {
    const handler = await legato.createHandler(await onnxRuntimeWebConfig(name));
    handler.prepare(48000, 128, { offline: true });
    const reference = await npy(`/repo/models/${name}.out.npy`);
    const output = offlineRun(handler, stream.data, 128);
    const latency = handler.latency;
    let worst = 0;
    for (let n = latency; n < stream.data.length; ++n)
      worst = Math.max(worst, Math.abs(output[n] - reference.data[n - latency]));
    let early = 0;
    for (let n = 0; n < latency; ++n) early = Math.max(early, Math.abs(output[n]));
    const stats = handler.statistics();
    check(`onnxruntime-web ${name}: output is the reference delayed by latency ${latency} (max error ${worst.toExponential(2)})`,
          worst <= 2e-5 && early === 0 && stats.failedInferences === 0,
          `max error ${worst}, pre-roll ${early}, ${stats.failedInferences} failed`);
    handler.dispose();
  }
}
