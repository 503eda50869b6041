// Legato.createNode() in a real AudioContext: a buffer source -> the Legato node (bypass,
// hop 128) -> a recorder that also taps the source. Every recorded output sample must equal
// the source delayed by exactly latency() samples, unless the handler counted it substituted.
import { Legato } from "../dist/index.js";
import { playThrough } from "./util.mjs";

export async function nodeTests(check) {
  const legato = await Legato.load();
  const context = new AudioContext({ sampleRate: 48000 });
  const handler = await legato.createHandler({
    name: "bypass", engines: [{ engine: "bypass" }],
    inputs: [{ name: "in", shape: [1, 1, -1], hop: 128 }],
    outputs: [{ name: "out", shape: [1, 1, -1], hop: 128 }],
    max_inference_time_ms: 1, context: { worker_threads: 1 },
  });
  handler.prepare(48000, 128);  // real time: the computed latency plus 4 render quanta
  const latency = handler.latency;
  const legatoNode = await legato.createNode(context, handler);

  const seconds = 3;
  const { source: source_, output, length, gaps, recorded } = await playThrough(context, legatoNode, seconds);
  let wrong = 0;
  let compared = 0;
  for (let f = latency; f < length; ++f) {
    if (!recorded(f) || !recorded(f - latency)) continue;
    ++compared;
    if (output[f] !== source_[f - latency]) ++wrong;
  }
  const nonzero = source_.reduce((count, x) => count + (x !== 0 ? 1 : 0), 0);
  const stats = handler.statistics();
  check("createNode: the source played through the node for 3 s", nonzero > 2.5 * 48000,
        `${nonzero} source samples`);
  check(`createNode: output is the source delayed by exactly latency ${latency}`,
        wrong <= stats.substitutedFrames && compared > 0,
        `${wrong} of ${compared} samples differ, ${stats.substitutedFrames} substituted`);
  check("createNode: few substitutions", stats.substitutedFrames <= compared / 100,
        `${stats.substitutedFrames} substituted, ${stats.lateInferences} late`);
  console.log(`node: ${compared} samples compared (${gaps} quanta unrecorded), latency ${latency}, ${stats.lateInferences} late, ` +
              `${stats.substitutedFrames} substituted, ${wrong} differing`);
  legatoNode.dispose();
  await context.close();
  handler.dispose();
}
