// The module's memory: sized by the app at Legato.load(), fixed for the module's life, and a
// full heap is a clear Error naming the option (never a crash). Its own page: each load()
// instantiates a module of its own.
import { Legato } from "../dist/index.js";

const results = [];
function check(name, ok, detail = "") {
  results.push({ name, ok: Boolean(ok), detail: String(detail) });
}

const bypass = {
  name: "bypass",
  engines: [{ engine: "bypass" }],
  inputs: [{ name: "in", shape: [1, 1, -1], hop: 64 }],
  outputs: [{ name: "out", shape: [1, 1, -1], hop: 64 }],
  max_inference_time_ms: 1,
};

async function refused(options) {
  try {
    await Legato.load(options);
    return "loaded";
  } catch (e) {
    return e.message;
  }
}

try {
  for (const memoryMiB of [8, 4096, 20.5]) {
    const message = await refused({ memoryMiB, jsWorkers: 0 });
    check(`memoryMiB ${memoryMiB} is refused naming the option`, /memoryMiB must be .* 16 to 2048/.test(message), message);
  }

  // A block of 1M frames: its rings and buffers (tens of MiB) do not fit in 16 MiB.
  const hugeBlock = 1 << 20;
  const small = await Legato.load({ memoryMiB: 16, jsWorkers: 0 });
  check("memoryMiB 16: the module's memory is 16 MiB", small.memoryBytes === 16 << 20, small.memoryBytes);
  const context = small.createContext({ workers: 1 });
  const baseline = small.heapInUse();
  {
    const handler = await small.createHandler(bypass, { context });
    let message = "prepared";
    try {
      handler.prepare(48000, hugeBlock, { offline: true });
    } catch (e) {
      message = e.message;
    }
    check("a handler that does not fit: prepare() throws 'out of memory' naming memoryMiB",
          /out of memory.*the module's 16 MiB heap.*Legato\.load\(\{ memoryMiB \}\)/.test(message), message);
    handler.dispose();
  }
  {
    // The module is still whole: a normal handler runs exactly after the failure.
    const handler = await small.createHandler(bypass, { context });
    handler.prepare(48000, 128, { offline: true });
    const input = new Float32Array(128 * 40).map((_, n) => Math.sin(n * 0.03));
    const output = new Float32Array(input.length);
    for (let at = 0; at < input.length; at += 128)
      handler.process(input.subarray(at, at + 128), output.subarray(at, at + 128));
    const latency = handler.latency;
    let wrong = 0;
    for (let n = 0; n < input.length; ++n) if (output[n] !== (n >= latency ? input[n - latency] : 0)) ++wrong;
    check("after the failure the same module still runs a handler exactly", wrong === 0, `${wrong} samples differ`);
    handler.dispose();
  }
  const growth = small.heapInUse() - baseline;
  check("the failed prepare() left no memory behind", Math.abs(growth) < 4096, `${growth} bytes`);
  context.dispose();

  const large = await Legato.load({ memoryMiB: 128, jsWorkers: 0 });
  check("memoryMiB 128: the module's memory is 128 MiB", large.memoryBytes === 128 << 20, large.memoryBytes);
  {
    const handler = await large.createHandler(bypass, { context: large.createContext({ workers: 1 }) });
    let message = "prepared";
    try {
      handler.prepare(48000, hugeBlock, { offline: true });
    } catch (e) {
      message = e.message;
    }
    check("with 128 MiB the same 1M-frame handler prepares", message === "prepared", message);
    handler.dispose();
  }
} catch (e) {
  check("memory tests ran without an exception", false, e.stack ?? e);
}
window.legatoTestResults = results;
