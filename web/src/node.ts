// LegatoNode: the default AudioWorklet node (web/cpp/legato_node.cpp) as Legato.createNode()
// returns it.

import type { InferenceHandler } from "./handler.js";
import { disposeSymbol, neverDisposed } from "./module.js";

/** A handler seen through an object that does not own it (a node runs it; whoever created it
 *  disposes it): everything but dispose(). */
export type HandlerView = Omit<InferenceHandler, "dispose" | typeof Symbol.dispose>;

/** A node made by Legato.createNode() or createWorkletNode(). Owns the memory its audio thread
 *  uses: call dispose(). */
export class LegatoNode {
  private free: (() => void) | undefined;
  private readonly token = {};

  /** @internal */
  constructor(readonly node: AudioWorkletNode, private readonly context: BaseAudioContext,
              free: () => void, private readonly parameterNames: string[],
              /** Samples from the node's input to its output: the handler's latency plus what
               *  the node's own block buffering adds. */
              readonly latency: number,
              /** The handler the node runs: a view (the node does not own it). */
              readonly handler: HandlerView) {
    this.free = free;
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
    const free = this.free;
    if (!free) return;
    this.node.disconnect();
    this.free = undefined;
    neverDisposed.unregister(this.token);
    if (this.context.state === "closed") {
      free();
      return;
    }
    // "statechange" can report "closed" more than once: free exactly once.
    const onChange = () => {
      if (this.context.state !== "closed") return;
      this.context.removeEventListener("statechange", onChange);
      free();
    };
    this.context.addEventListener("statechange", onChange);
  }

  [disposeSymbol](): void {
    this.dispose();
  }
}
