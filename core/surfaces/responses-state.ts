import { type RequestContext, StateKey } from "../context.ts"

/**
 * Where the Responses surface meets the plugin that keeps responses (`previous_response_id`,
 * `GET /v1/responses/{id}`): before dispatch the plugin hands the request a keeper; the surface
 * calls it with each finished response before its last byte reaches the client, so a client
 * that saw a response complete can always continue from it.
 */
export interface ResponseKeeper {
  /**
   * A finished response: `input` is every input item it answered (earlier turns included);
   * `upstream` says the provider keeps it itself (OpenAI), the relay only who owns it.
   */
  readonly keep: (response: Readonly<Record<string, unknown>>, input: ReadonlyArray<unknown>, upstream: boolean) => void
}

const KEEPER = new StateKey<ResponseKeeper>("responses/keeper")
const CONTINUED = new StateKey<string>("responses/continued")

export const setResponseKeeper = (ctx: RequestContext, keeper: ResponseKeeper): void => {
  ctx.set(KEEPER, keeper)
}

export const responseKeeper = (ctx: RequestContext): ResponseKeeper | undefined => ctx.get(KEEPER)

/** The request continues a kept response whose turns the keeper put into its input. */
export const setContinued = (ctx: RequestContext, previousId: string): void => {
  ctx.set(CONTINUED, previousId)
}

export const continuedFrom = (ctx: RequestContext): string | undefined => ctx.get(CONTINUED)
