// LegatoNode: the default AudioWorklet node (web/cpp/legato_node.cpp) as Legato.createNode()
// returns it.

import { type LegatoModule, disposeSymbol, neverDisposed } from "./module.js";

/** A node made by Legato.createNode(). Owns its C++ run: call dispose(). */
export class LegatoNode {
  private run: number;
  private readonly token = {};

  /** @internal */
  constructor(private readonly m: LegatoModule, readonly node: AudioWorkletNode,
              private readonly context: BaseAudioContext, run: number,
              private readonly parameterNames: string[] = []) {
    this.run = run;
    neverDisposed.register(this, "a LegatoNode", this.token);
  }

  /** [main thread] The AudioParam that drives parameter input `name` (see createNode). */
  parameter(name: string): AudioParam {
    const index = this.parameterNames.indexOf(name);
    const param = index < 0 ? undefined : (this.node.parameters as unknown as ReadonlyMap<string, AudioParam>).get(String(index));
    if (!param) throw new Error(`legato: the node has no AudioParam for "${name}"`);
    return param;
  }

  /** [main thread] Disconnects the node; its C++ memory is freed once the context has closed
   *  (until then the audio thread may still be inside its last quantum). Idempotent. */
  dispose(): void {
    if (this.run === 0) return;
    this.node.disconnect();
    const run = this.run;
    this.run = 0;
    neverDisposed.unregister(this.token);
    if (this.context.state === "closed") {
      this.m._legato_node_destroy(run);
      return;
    }
    // "statechange" can report "closed" more than once: free exactly once.
    const onChange = () => {
      if (this.context.state !== "closed") return;
      this.context.removeEventListener("statechange", onChange);
      this.m._legato_node_destroy(run);
    };
    this.context.addEventListener("statechange", onChange);
  }

  [disposeSymbol](): void {
    this.dispose();
  }
}
