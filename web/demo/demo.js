// The Legato web demo: a generated or uploaded signal through a Legato node (AudioWorklet) in
// a 48 kHz AudioContext, with the handler's live statistics and engine switching.
import { Legato } from "../dist/index.js";
import { setUpNativeDemo } from "./native.js";

const sampleRate = 48000;
const $ = (id) => document.getElementById(id);
const engines = new URL("./engines.js", import.meta.url).href;
const js = (name, exportName, options) => ({ engine: "js", name, module: engines, export: exportName, options });

// A mono hop-128 config around `list` (every engine sees the same tensors).
const mono128 = (name, list) => ({
  name, engines: list,
  inputs: [{ name: "in", shape: [1, 1, -1], hop: 128 }],
  outputs: [{ name: "out", shape: [1, 1, -1], hop: 128 }],
  max_inference_time_ms: 2, context: { worker_threads: 1 },
});

// One of the repository's models (models/<name>.json), its native engines replaced by ONNX
// Runtime Web plus a JavaScript soft clipper on the same tensors (so the engine can switch).
async function repoModel(name) {
  const config = await (await fetch(`/repo/models/${name}.json`)).json();
  config.engines = [
    { engine: "onnxruntime-web", name: "onnxruntime-web", model: `/repo/models/${name}.onnx` },
    js("js tanh drive", "TanhDrive", { drive: 4, level: 0.4 }),
  ];
  config.max_inference_time_ms = 4;  // at most one hop period (256 samples = 5.3 ms)
  return config;
}

const presets = {
  cnn_past: {
    label: "cnn_past — causal CNN (ONNX Runtime Web)",
    description: "models/cnn_past: causal convolution, hop 256, 40 samples of past context.",
    engines: ["onnxruntime-web", "js tanh drive"],
    config: () => repoModel("cnn_past"),
  },
  lstm_state: {
    label: "lstm_state — stateful LSTM (ONNX Runtime Web)",
    description: "models/lstm_state: LSTM, hop 256, its state carried between inferences.",
    engines: ["onnxruntime-web", "js tanh drive"],
    config: () => repoModel("lstm_state"),
  },
  js: {
    label: "JavaScript engines (hop 128)",
    description: "Engines written in JavaScript (demo/engines.js), and C++ bypass, on the same mono tensors.",
    engines: ["js tanh drive", "js gain 0.5", "bypass"],
    config: async () => mono128("javascript", [
      js("js tanh drive", "TanhDrive", { drive: 6, level: 0.4 }),
      js("js gain 0.5", "Gain", { gain: 0.5 }),
      { engine: "bypass" },
    ]),
  },
  bypass: {
    label: "C++ bypass (hop 128)",
    description: "The C++ bypass engine alone: output = input, delayed by the latency.",
    engines: ["bypass"],
    config: async () => mono128("bypass", [{ engine: "bypass" }]),
  },
};

// --- generated signals -----------------------------------------------------------------------

/** Four bars of plucked saw notes: bright attack, exponential decay, a one-pole low-pass. */
function pluckLoop(context) {
  const seconds = 4;
  const buffer = context.createBuffer(1, seconds * sampleRate, sampleRate);
  const data = buffer.getChannelData(0);
  const notes = [45, 52, 57, 60, 64, 57, 52, 48, 45, 52, 55, 59, 62, 59, 55, 50];
  const step = (seconds * sampleRate) / notes.length;
  notes.forEach((note, k) => {
    const frequency = 440 * 2 ** ((note - 69) / 12);
    let phase = 0;
    let low = 0;
    const start = Math.round(k * step);
    for (let n = 0; n < 2 * step && start + n < data.length; ++n) {
      const t = n / sampleRate;
      phase = (phase + frequency / sampleRate) % 1;
      const saw = 2 * phase - 1;
      const cutoff = 0.05 + 0.5 * Math.exp(-t * 12);
      low += cutoff * (saw - low);
      data[start + n] += 0.45 * Math.exp(-t * 5) * low;
    }
  });
  return buffer;
}

/** Short bursts of decaying noise, two per second. */
function noiseBursts(context) {
  const buffer = context.createBuffer(1, 2 * sampleRate, sampleRate);
  const data = buffer.getChannelData(0);
  let state = 12345;
  for (let n = 0; n < data.length; ++n) {
    state = (state * 1103515245 + 12345) >>> 0;
    const t = (n % (sampleRate / 2)) / sampleRate;
    data[n] = ((state / 4294967296) * 2 - 1) * 0.5 * Math.exp(-t * 18);
  }
  return buffer;
}

// --- the page --------------------------------------------------------------------------------

let legato = null;
let running = null;  // {context, handler, legatoNode, input, output, source, timer}
let fileBuffer = null;
let fileBytes = null;

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

function fillEngines() {
  const preset = presets[$("model").value];
  $("model-description").textContent = preset.description;
  $("engine").replaceChildren(...preset.engines.map((name, k) => new Option(name, String(k))));
  $("engine").disabled = preset.engines.length < 2;
  $("engine-note").textContent = preset.engines.length < 2 ? "(one engine in this config)" : "(switchable while playing)";
}

async function makeBuffer(context) {
  const kind = $("source").value;
  if (kind === "pluck") return pluckLoop(context);
  if (kind === "bursts") return noiseBursts(context);
  if (!fileBytes) throw new Error("choose an audio file first");
  fileBuffer ??= await context.decodeAudioData(fileBytes.slice(0));
  return fileBuffer;
}

async function playSource() {
  const r = running;
  if (!r) return;
  const buffer = await makeBuffer(r.context);
  if (running !== r) return;
  r.source?.stop();
  r.source?.disconnect();
  r.source = new AudioBufferSourceNode(r.context, { buffer, loop: true });
  r.source.connect(r.input);
  r.source.start();
}

const number = (x) => Math.round(x).toLocaleString("en-US");
function cell(id, text, warn = false) {
  $(id).textContent = text;
  $(id).classList.toggle("warn", warn);
}

function showStatistics() {
  const r = running;
  if (!r) return;
  const s = r.handler.statistics();
  const latency = r.handler.latency;
  cell("stat-engine", r.handler.engineNames[r.handler.engine] ?? String(r.handler.engine));
  cell("stat-latency", `${number(latency)} samples · ${(1000 * latency / sampleRate).toFixed(1)} ms`);
  cell("stat-completed", number(s.inferencesCompleted));
  cell("stat-late", number(s.lateInferences), s.lateInferences > 0);
  cell("stat-substituted", number(s.substitutedFrames), s.substitutedFrames > 0);
  cell("stat-failed", number(s.failedInferences), s.failedInferences > 0);
  cell("stat-mean", `${s.meanInferenceMs.toFixed(3)} ms`);
  cell("stat-max", `${s.maxInferenceMs.toFixed(3)} ms`);
  cell("stat-bound", `${s.maxInferenceTimeMs.toFixed(1)} ms`);
  for (const [id, value] of [["stat-completed", s.inferencesCompleted], ["stat-latency", latency]])
    $(id).dataset.value = String(value);
}

async function start() {
  $("start").disabled = true;
  $("model").disabled = true;
  setStatus("starting…");
  for (const td of document.querySelectorAll("#stats td:not(#status)")) {
    td.textContent = "–";
    td.className = "";
    delete td.dataset.value;
  }
  const context = new AudioContext({ sampleRate, latencyHint: "playback" });
  let handler = null;
  try {
    const preset = presets[$("model").value];
    handler = await legato.createHandler(await preset.config());
    handler.setEngine(Number($("engine").value));
    handler.prepare(sampleRate, 128, { latency: 1024 });
    const legatoNode = await legato.createNode(context, handler, { channels: 1 });
    // Any source (a stereo file too) is mixed down to the node's one channel.
    const input = new GainNode(context, { channelCount: 1, channelCountMode: "explicit",
                                          channelInterpretation: "speakers" });
    const output = new GainNode(context, { gain: Number($("volume").value) });
    input.connect(legatoNode.node).connect(output).connect(context.destination);
    running = { context, handler, legatoNode, input, output, source: null, timer: 0 };
    await playSource();
    await context.resume();
    running.timer = setInterval(showStatistics, 250);
    showStatistics();
    setStatus(`playing (${context.sampleRate / 1000} kHz)`, "ok");
    $("start").textContent = "Stop";
    $("start").classList.add("playing");
    $("engine").disabled = handler.engineNames.length < 2;
  } catch (e) {
    console.error(e);
    await stop(running ?? { context, handler });
    setStatus(e.message, "error");
  } finally {
    $("start").disabled = false;
  }
}

async function stop(r = running) {
  running = null;
  if (!r) return;
  clearInterval(r.timer);
  r.source?.stop();
  r.legatoNode?.dispose();
  if (r.context.state !== "closed") await r.context.close();
  await new Promise((resolve) => setTimeout(resolve, 0));  // the node's memory goes first
  r.handler?.dispose();
  $("start").textContent = "Start";
  $("start").classList.remove("playing");
  $("model").disabled = false;
  fillEngines();
  setStatus("stopped");
}

async function main() {
  setUpNativeDemo();  // the in-worklet mode needs no isolation: it works even if Legato cannot load
  for (const [key, preset] of Object.entries(presets)) $("model").append(new Option(preset.label, key));
  fillEngines();
  $("model").addEventListener("change", fillEngines);
  $("engine").addEventListener("change", () => {
    if (!running) return;
    try { running.handler.setEngine(Number($("engine").value)); showStatistics(); }
    catch (e) { setStatus(e.message, "error"); }
  });
  $("source").addEventListener("change", () => {
    $("file-label").hidden = $("source").value !== "file";
    if ($("source").value !== "file" || fileBytes) void playSource().catch((e) => setStatus(e.message, "error"));
  });
  $("file").addEventListener("change", async () => {
    const file = $("file").files[0];
    if (!file) return;
    fileBytes = await file.arrayBuffer();
    fileBuffer = null;
    if (running) await playSource().catch((e) => setStatus(`${file.name}: ${e.message}`, "error"));
  });
  $("volume").addEventListener("input", () => {
    if (running) running.output.gain.value = Number($("volume").value);
  });
  $("start").addEventListener("click", () => void (running ? stop() : start()));

  if (!globalThis.crossOriginIsolated) {
    $("isolation").hidden = false;
    $("isolation").textContent = "This page is not cross-origin isolated, so Legato cannot run " +
      "(it needs SharedArrayBuffer). Serve it with the headers\n" +
      "  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n" +
      "for example with `npm run demo` in web/. The in-worklet mode below works without them.";
  }
  try {
    legato = await Legato.load({ jsWorkers: 1 });
    setStatus("ready: press Start");
    $("start").disabled = false;
  } catch (e) {
    setStatus("Legato could not load", "error");
    $("isolation").hidden = false;
    if (globalThis.crossOriginIsolated) $("isolation").textContent = e.message;
    else $("isolation").textContent += `\n\n${e.message}`;
  }
}

await main();
