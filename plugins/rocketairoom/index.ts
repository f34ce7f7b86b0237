import { Effect } from "effect"
import { definePlugin } from "../../core/index.ts"
import { rocketChat } from "./chat.ts"

/**
 * The RocketAIRoom product's own API, `POST /v1/chat` (and `/byok/v1/chat`): a relay serves and
 * advertises it only with this plugin (config/rocketairoom.config.ts declares it).
 */
export const rocketAIRoom = () => definePlugin("rocketairoom", () => Effect.succeed({ endpoints: [rocketChat] }))
