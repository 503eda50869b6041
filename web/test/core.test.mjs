// Runs in headless Chromium (test/run.mjs serves it cross-origin isolated): the core built to
// WebAssembly, its worker pool as pthreads on one shared memory, driven through the package.
import { Legato } from "../dist/index.js";

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
    legato.createHandler({ ...bypass(64), inputs: [{ name: "in", shape: [1, 1, -1], hop: 0 }] });
    check("invalid config is refused", false, "no error");
  } catch (e) {
    check("invalid config is refused naming the field", /inputs\[0\]\.hop/.test(e.message), e.message);
  }

  // Exactness: bypass output == input delayed by exactly latency(), every host block size.
  for (const [hop, block] of [[64, 128], [128, 37], [256, 256]]) {
    const handler = legato.createHandler(bypass(hop));
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

  // 200 create/prepare/dispose cycles leave the heap where it was (after a first cycle, which
  // creates the shared Context's worker pool).
  const cycle = () => {
    const handler = legato.createHandler(bypass(128));
    handler.prepare(48000, 128, { offline: true });
    handler.dispose();
  };
  cycle();
  const before = legato.heapInUse();
  for (let k = 0; k < 200; ++k) cycle();
  const growth = legato.heapInUse() - before;
  check("200 create/prepare/dispose cycles leave the heap at its baseline", growth <= 4096,
        `${growth} bytes more in use`);
} catch (e) {
  check("no unexpected error", false, e && e.stack ? e.stack : e);
}
window.legatoTestResults = results;
