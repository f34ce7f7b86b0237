import { Effect, type Scope } from "effect"

/**
 * One client (a connection pool) that several stores use: opened by the first store built on
 * it, closed when the last of their scopes closes, so a relay node holds one pool for all of
 * its stores instead of one each. Opening may fail (a database that cannot be reached, a
 * migration refused): every store built on it then fails to build, with that error.
 */
export class SharedClient<A, I = void> {
  private opened: Promise<A> | undefined
  private users = 0

  constructor(private readonly open: (input: I) => Promise<A>, private readonly close: (client: A) => Promise<void>) {}

  /** The client, for as long as the scope lasts; `input` is what the first user opens it with. */
  use(input: I): Effect.Effect<A, never, Scope.Scope> {
    return Effect.acquireRelease(
    Effect.promise(() => {
      this.users++
      this.opened ??= this.open(input)
      return this.opened.catch((error: unknown) => {
        this.users--
        // A later start may try again (the store may be back by then).
        if (this.users === 0) this.opened = undefined
        throw error
      })
    }),
    (client) =>
      Effect.promise(async () => {
        if (--this.users > 0) return
        this.opened = undefined
        await this.close(client)
      })
    )
  }
}
