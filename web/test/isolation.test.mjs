// Served WITHOUT the cross-origin isolation headers (test/run.mjs, under /plain/): loading
// the module must fail with an error that names both headers, not hang or crash.
import { Legato } from "../dist/index.js";

const results = [];
try {
  await Legato.load();
  results.push({ name: "load() without isolation is refused", ok: false, detail: "it loaded" });
} catch (e) {
  results.push({
    name: "load() without isolation is refused naming both headers",
    ok: !globalThis.crossOriginIsolated &&
        e.message.includes("Cross-Origin-Opener-Policy: same-origin") &&
        e.message.includes("Cross-Origin-Embedder-Policy: require-corp"),
    detail: e.message,
  });
}
window.legatoTestResults = results;
