// Late inferences on the web: a JavaScript engine that stalls for 40 ms on every 50th hop, run
// through a Legato node in a real AudioContext at latency 1024 (21 ms). The stalled hops must be
// substituted and counted as natively (late, substituted frames), every other sample exact.
import { playThrough } from "./util.mjs";

export async function lateTests(legato, check) {
  const context = new AudioContext({ sampleRate: 48000 });
  const handler = await legato.createHandler({
    name: "stalling", late_policy: "silence",
    engines: [{ engine: "js", name: "stalling", module: "./engines/gain.js", export: "StallingGain",
                options: { every: 50, ms: 40 } }],
    inputs: [{ name: "in", shape: [1, 1, -1], hop: 128 }],
    outputs: [{ name: "out", shape: [1, 1, -1], hop: 128 }],
    max_inference_time_ms: 1, context: { worker_threads: 1 },
  });
  handler.prepare(48000, 128, { latency: 1024 });
  const latency = handler.latency;
  const node = await legato.createNode(context, handler);
  const { source, output, length, gaps, recorded } = await playThrough(context, node, 2);
  let wrong = 0;
  let silentWhereWrong = 0;
  for (let f = latency; f < length; ++f) {
    if (!recorded(f) || !recorded(f - latency) || output[f] === 0.5 * source[f - latency]) continue;
    ++wrong;
    if (output[f] === 0) ++silentWhereWrong;
  }
  const stats = handler.statistics();
  const lost = stats.lateInferences + stats.expiredInferences + stats.droppedInferences;
  console.log(`stalling JS engine: ${stats.inferencesSubmitted} hops, ${stats.lateInferences} late, ` +
              `${stats.expiredInferences} expired, ${stats.substitutedFrames} substituted, ${wrong} differing, ` +
              `${gaps} quanta unrecorded`);
  check("stalling JavaScript engine: hops it could not deliver in time were late and counted",
        stats.lateInferences + stats.expiredInferences >= 10,
        JSON.stringify(stats));
  check("stalling JavaScript engine: every differing sample was substituted (silence), the rest exact",
        wrong <= stats.substitutedFrames && silentWhereWrong === wrong && wrong > 0,
        `${wrong} differ (${silentWhereWrong} silent), ${stats.substitutedFrames} substituted`);
  check("stalling JavaScript engine: substituted frames are whole hops of the lost inferences",
        stats.substitutedFrames % 128 === 0 && stats.substitutedFrames >= 128 * Math.min(lost, 1),
        `${stats.substitutedFrames} frames, ${lost} lost`);
  node.dispose();
  await context.close();
  handler.dispose();
}
