import { Context, type Effect } from "effect"

/**
 * Messages to every node of a relay: what one node changed that the others hold in memory (a
 * revoked key, a replaced credential, an upstream key put to rest). A message is a hint to
 * drop or update a cache, never the state itself, which stays in its store.
 */
export interface FanoutShape {
  /** Sends `message` to every subscriber of `topic` on every node, this one included; never fails (a node that misses it is told so, see subscribe). */
  readonly publish: (topic: string, message: string) => Effect.Effect<void>
  /**
   * Calls `listener` with each message published on `topic`, from this point on. It is called
   * with `undefined` when messages may have been missed (the channel was down): the subscriber
   * then forgets whatever they could have changed.
   */
  readonly subscribe: (topic: string, listener: (message: string | undefined) => void) => Effect.Effect<void>
}

export class Fanout extends Context.Service<Fanout, FanoutShape>()("relay/Fanout") {}
