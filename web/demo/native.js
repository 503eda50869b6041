// The demo page's in-worklet mode: a NAM (.nam) or RTNeural JSON model run by the native engine
// inside the AudioWorklet (createNativeNode), with no SharedArrayBuffer, so it works on pages
// without cross-origin isolation. A generated plucked-string signal (Karplus-Strong) or an
// uploaded file goes through it; a model chosen while playing replaces the running one at a
// quantum boundary (NativeWorkletNode.load()). The per-quantum cost is measured on the main
// thread by the package's measureWorkletCost() (the worklet scope has no clock finer than 1 ms):
// OfflineAudioContext renders through the node, per quantum. A slimmable NAM model's size
// follows a slider (the node's slimmableSize AudioParam).
import { createNativeNode, measureWorkletCost } from "../dist/index.js";

const sampleRate = 48000;
const quantumMs = (128 / sampleRate) * 1000;  // 2.667 ms: the audio thread's budget per quantum
const $ = (id) => document.getElementById(id);
const models = {
  "wavenet.nam": "/repo/models/native/wavenet.nam",
  "slimmable.nam": "/repo/models/native/slimmable.nam",
  "lstm.nam": "/repo/models/native/lstm.nam",
  "lstm.json": "/repo/models/native/lstm.json",
  "gru.json": "/repo/models/native/gru.json",
  "conv.json": "/repo/models/native/conv.json",
};

let running = null;  // {context, node, source, input}
let dropped = null;  // {name, bytes} of a model file the user chose
let audioFile = null;  // ArrayBuffer of an uploaded audio file

/** [main thread] Four seconds of plucked-string notes (Karplus-Strong: a noise burst in a
 *  delay line of one period, averaged and damped on every pass), like a picked guitar. */
function plucks(context) {
  const seconds = 4;
  const buffer = context.createBuffer(1, seconds * sampleRate, sampleRate);
  const data = buffer.getChannelData(0);
  const notes = [40, 47, 52, 55, 59, 64, 59, 55];  // E2 B2 E3 G3 B3 E4 ...
  let seed = 22222;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
  notes.forEach((note, k) => {
    const period = Math.round(sampleRate / (440 * 2 ** ((note - 69) / 12)));
    const line = Float32Array.from({ length: period }, () => 0.5 * random());
    const start = Math.round((k * data.length) / notes.length);
    for (let n = 0; start + n < data.length && n < 2 * sampleRate; ++n) {
      const i = n % period;
      const next = line[(i + 1) % period];
      data[start + n] += line[i];
      line[i] = 0.996 * 0.5 * (line[i] + next);
    }
  });
  return buffer;
}

/** [main thread] The chosen model: a dropped/chosen file's bytes, or a project model's URL. */
function chosenModel() {
  const key = $("native-model").value;
  return key === "file" ? dropped.bytes : models[key];
}

/** [main thread] The model's cost per render quantum in the worklet, node included: the
 *  package's own measurement (offline renders through the node, the one createModelNode()
 *  decides by). */
async function measure(model) {
  const bytes = typeof model === "string" ? await (await fetch(model)).arrayBuffer() : model;
  return measureWorkletCost(bytes, sampleRate);
}

function setStatus(text, kind = "") {
  $("native-status").textContent = text;
  $("native-status").className = kind;
}

/** [main thread] The size slider's reading: which of the model's sizes the value selects, and
 *  the description of the model that size runs. */
function showSize() {
  const sizes = running?.node.sizes ?? [0];
  const value = Number($("native-size").value);
  const index = sizes.filter((start) => start <= value).length - 1;
  $("native-size").disabled = sizes.length < 2;
  $("native-size-value").textContent = sizes.length > 1
    ? `${value.toFixed(2)}: ${index + 1} of ${sizes.length}${index === sizes.length - 1 ? " (full)" : ""}`
    : running ? "– (one size)" : "–";
  if (running) $("native-description").textContent = running.node.sizeDescriptions[index];
}

/** [main thread] Shows what the node runs and measures its cost (after a start or a switch). */
async function describe(node) {
  $("native-format").textContent = node.format;
  showSize();  // and the description
  $("native-cost").textContent = "measuring…";
  $("native-headroom").textContent = "–";
  const cost = await measure(chosenModel());
  $("native-cost").textContent = `${(cost * 1000).toFixed(1)} µs`;
  $("native-cost").dataset.value = String(cost);
  const headroom = quantumMs / Math.max(cost, 1e-6);
  $("native-headroom").textContent = `${headroom.toFixed(0)}× real time (${((100 * cost) / quantumMs).toFixed(1)} % of ${quantumMs.toFixed(2)} ms)`;
  $("native-headroom").classList.toggle("warn", headroom < 2);
}

async function signal(context) {
  if ($("native-source").value === "file" && audioFile) return context.decodeAudioData(audioFile.slice(0));
  return plucks(context);
}

async function playSignal() {
  const r = running;
  if (!r) return;
  const buffer = await signal(r.context);
  if (running !== r) return;
  r.source?.stop();
  r.source?.disconnect();
  r.source = new AudioBufferSourceNode(r.context, { buffer, loop: true });
  r.source.connect(r.input);
  r.source.start();
}

/** [main thread] The sliders to the node's AudioParams (gains in dB to linear factors). */
function applyParams() {
  if (!running) return;
  running.node.inputGain.value = 10 ** (Number($("native-in").value) / 20);
  running.node.outputGain.value = 10 ** (Number($("native-out").value) / 20);
  running.node.slimmableSize.value = Number($("native-size").value);
  showSize();
}

async function start() {
  $("native-start").disabled = true;
  setStatus("starting…");
  const context = new AudioContext({ sampleRate, latencyHint: "interactive" });
  try {
    const node = await createNativeNode(context, { model: chosenModel() });
    const input = new GainNode(context, { channelCount: 1, channelCountMode: "explicit", channelInterpretation: "speakers" });
    input.connect(node.node).connect(context.destination);
    running = { context, node, input, source: null };
    applyParams();
    await playSignal();
    await context.resume();
    setStatus(`playing (${context.sampleRate / 1000} kHz, latency 0 samples)`, "ok");
    $("native-start").textContent = "Stop";
    $("native-start").classList.add("playing");
    await describe(node);
  } catch (e) {
    console.error(e);
    await stop({ context, node: running?.node });
    setStatus(e.message, "error");
  } finally {
    $("native-start").disabled = false;
  }
}

async function stop(r = running) {
  running = null;
  if (!r) return;
  r.source?.stop();
  r.node?.dispose();
  if (r.context.state !== "closed") await r.context.close();
  $("native-start").textContent = "Start";
  $("native-start").classList.remove("playing");
  showSize();
  setStatus("stopped");
}

/** [main thread] A model chosen while playing replaces the running one (no gap). */
async function switchModel() {
  const r = running;
  if (!r) return;
  try {
    setStatus("loading the model…");
    const result = await r.node.load(chosenModel());
    setStatus(`playing; switched at frame ${result.frame.toLocaleString("en-US")}`, "ok");
    await describe(r.node);
  } catch (e) {
    setStatus(`${e.message} (the previous model plays on)`, "error");
  }
}

function useModelFile(file) {
  void file.arrayBuffer().then((bytes) => {
    dropped = { name: file.name, bytes: new Uint8Array(bytes) };
    let option = $("native-model").querySelector("option[value=file]");
    if (!option) $("native-model").append(option = new Option("", "file"));
    option.textContent = `${file.name} (your file)`;
    $("native-model").value = "file";
    void switchModel();
  });
}

export function setUpNativeDemo() {
  for (const name of Object.keys(models)) $("native-model").append(new Option(`${name} (project model)`, name));
  $("native-model").addEventListener("change", () => void switchModel());
  $("native-file").addEventListener("change", () => $("native-file").files[0] && useModelFile($("native-file").files[0]));
  const drop = $("native-section");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("drop"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("drop"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("drop");
    if (e.dataTransfer.files[0]) useModelFile(e.dataTransfer.files[0]);
  });
  $("native-source").addEventListener("change", () => void playSignal().catch((e) => setStatus(e.message, "error")));
  $("native-audio").addEventListener("change", async () => {
    const file = $("native-audio").files[0];
    if (!file) return;
    audioFile = await file.arrayBuffer();
    $("native-source").value = "file";
    await playSignal().catch((e) => setStatus(`${file.name}: ${e.message}`, "error"));
  });
  for (const id of ["native-in", "native-out"]) $(id).addEventListener("input", () => {
    $(`${id}-value`).textContent = `${Number($(id).value).toFixed(0)} dB`;
    applyParams();
  });
  $("native-size").addEventListener("input", applyParams);
  $("native-start").addEventListener("click", () => void (running ? stop() : start()));
  $("native-start").disabled = false;
  setStatus("ready: press Start (no SharedArrayBuffer needed)");
}
