// Runs in headless Chromium (test/run.mjs serves it cross-origin isolated): the core built to
// WebAssembly, its worker pool as pthreads on one shared memory, driven through the package.
import { Legato } from "../dist/index.js";
import { nodeTests } from "./node.test.mjs";
import { heapGrowth } from "./util.mjs";
import { engineTests } from "./engines.test.mjs";
import { runnerTests } from "./runner.test.mjs";
import { lateTests } from "./late.test.mjs";
import { paramTests } from "./param.test.mjs";
import { offlineTests } from "./offline.test.mjs";
import { customTests } from "./custom.test.mjs";

const results = [];
function check(name, ok, detail = "") {
  results.push({ name, ok: Boolean(ok), detail: String(detail) });
}

const bypass = (hop) => ({
  name: "bypass",
  engines: [{ engine: "bypass" }],
  inputs: [{ name: "in", shape: [1, 1, -1], hop }],
  outputs: [{ name: "out", shape: [1, 1, -1], hop }],
  max_inference_time_ms: 1,
  context: { worker_threads: 1 },
});

try {
  check("page is cross-origin isolated", globalThis.crossOriginIsolated);
  const legato = await Legato.load();

  // The same validation messages as native, as an Error naming the field.
  try {
    await legato.createHandler({ ...bypass(64), inputs: [{ name: "in", shape: [1, 1, -1], hop: 0 }] });
    check("invalid config is refused", false, "no error");
  } catch (e) {
    check("invalid config is refused naming the field", /inputs\[0\]\.hop/.test(e.message), e.message);
  }

  // Exactness: bypass output == input delayed by exactly latency(), every host block size.
  for (const [hop, block] of [[64, 128], [128, 37], [256, 256]]) {
    const handler = await legato.createHandler(bypass(hop));
    handler.prepare(48000, block, { offline: true });
    const latency = handler.latency;
    const frames = 48000;
    const input = new Float32Array(frames);
    for (let n = 0; n < frames; ++n) input[n] = Math.sin(n * 0.01) * 0.5 + ((n * 7919) % 13) / 100;
    const output = new Float32Array(frames);
    for (let at = 0; at < frames; at += block) {
      const count = Math.min(block, frames - at);
      handler.process(input.subarray(at, at + count), output.subarray(at, at + count));
    }
    let wrong = 0;
    for (let n = 0; n < frames; ++n) {
      const expected = n >= latency ? input[n - latency] : 0;
      if (output[n] !== expected) ++wrong;
    }
    check(`hop ${hop}, block ${block}: output is the input delayed by latency ${latency}`,
          wrong === 0 && latency > 0, `${wrong} samples differ`);
    handler.dispose();
    handler.dispose();  // idempotent
    let threw = false;
    try { handler.latency; } catch { threw = true; }
    check(`hop ${hop}: a disposed handler refuses use`, threw);
  }

  // reset(): the pre-roll restarts, and the output is again exact from there; statistics count.
  {
    const handler = await legato.createHandler(bypass(64));
    handler.prepare(48000, 64, { offline: true });
    const latency = handler.latency;
    const block = new Float32Array(64).fill(0.25);
    const out = new Float32Array(64);
    for (let k = 0; k < 20; ++k) handler.process(block, out);
    handler.reset();
    const after = new Float32Array(64 * 10);
    const ramp = new Float32Array(64 * 10).map((_, n) => n / 1000);
    for (let at = 0; at < ramp.length; at += 64)
      handler.process(ramp.subarray(at, at + 64), after.subarray(at, at + 64));
    let wrong = 0;
    for (let n = 0; n < after.length; ++n)
      if (after[n] !== (n >= latency ? ramp[n - latency] : 0)) ++wrong;
    const stats = handler.statistics();
    check("after reset() the output restarts: silent pre-roll, then the input delayed", wrong === 0,
          `${wrong} samples differ`);
    check("statistics count blocks, frames, inferences and the reset",
          stats.blocks === 30 && stats.frames === 30 * 64 && stats.resets === 1 &&
            stats.inferencesSubmitted === 30 && stats.lateInferences === 0,
          JSON.stringify(stats));
    handler.dispose();
  }

  // 200 create/prepare/dispose cycles leave the heap where it was (after a first cycle, which
  // creates the shared Context's worker pool).
  const growth = await heapGrowth(legato, async () => {
    const handler = await legato.createHandler(bypass(128));
    handler.prepare(48000, 128, { offline: true });
    handler.dispose();
  });
  check("200 create/prepare/dispose cycles leave the heap at its baseline", growth <= 4096,
        `${growth} bytes more in use`);
  // The real-time path in a real AudioContext: process() on the audio worklet thread every
  // quantum, inferences on the worker pool's threads, one shared memory. The worklet checks
  // its output against its input delayed by latency(); a wait on the worklet thread would trap.
  const context = new AudioContext({ sampleRate: 48000 });
  const m = legato.module;
  const handler = await legato.createHandler(bypass(128));
  handler.prepare(48000, 128, { latency: 1024 });
  const contextHandle = m.emscriptenRegisterAudioObject(context);
  m._legato_worklet_self_check(contextHandle, handler.nativeHandle);
  await context.resume();
  const started = performance.now();
  while (m._legato_worklet_frames() < 3 * 48000 && m._legato_worklet_state() >= 0 &&
         performance.now() - started < 20000)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const frames = m._legato_worklet_frames();
  const mismatches = m._legato_worklet_mismatches();
  const substituted = handler.substitutedFrames;
  check("worklet started and rendered 3 s of quanta", frames >= 3 * 48000,
        `state ${m._legato_worklet_state()}, ${frames} frames`);
  check(`worklet output is the input delayed by latency ${handler.latency} (every sample not substituted)`,
        mismatches <= substituted, `${mismatches} samples differ, ${substituted} substituted`);
  check("few substitutions at latency 1024 (8 quanta)", substituted <= frames / 100,
        `${substituted} of ${frames} frames, ${handler.lateInferences} late inferences`);
  console.log(`worklet: ${frames} frames, latency ${handler.latency}, ${handler.lateInferences} late, ` +
              `${substituted} substituted, ${mismatches} differing`);
  await context.close();
  handler.dispose();  // the worklet stopped with its context

  await engineTests(legato, check);
  await runnerTests(legato, check);
  await nodeTests(check);
  await lateTests(legato, check);
  await paramTests(legato, check);
  await offlineTests(legato, check);
  await customTests(legato, check);
} catch (e) {
  check("no unexpected error", false, e && e.stack ? e.stack : e);
}
window.legatoTestResults = results;
