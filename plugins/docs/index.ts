import { Context as Services, Effect } from "effect"
import type { Context, Hono } from "hono"
import { definePlugin, modelObject, RateTiers } from "../../core/index.ts"
import { requestOrigin, STYLESHEET } from "../web/index.ts"
import { ACCOUNT_ROUTES, contributedRoutes, type DocumentedRoute, PROXIED_ROUTES } from "./endpoints.ts"
import { docsPage } from "./page.tsx"

export interface DocsOptions {
  /** The product's name on the page. */
  readonly title?: string
}

const STYLESHEET_PATH = "/docs/relay.css"

/**
 * The public docs page at `/` and `/docs`: base URLs, authentication, the endpoints this relay
 * serves, its tiers and its priced model catalog, with examples using the URL the reader
 * reached it at. Rendered from the running config on every request; no build step.
 */
export const docs = (options: DocsOptions = {}) =>
  definePlugin("docs", (info) =>
    Effect.sync(() => ({
      routes: (app: Hono) => {
        const startedAt = Date.now()
        // Read at request time: by then every plugin has added its routes.
        const serves = (route: DocumentedRoute) => app.routes.some((r) => r.method === route.method && r.path === route.path)

        const page = async (c: Context) => {
          const providers = new Set((await Effect.runPromise(info.providers.list())).map((provider) => provider.name))
          const models = info.models.filter((model) => providers.has(model.provider)).map((model) => modelObject(model, startedAt))
          const tiers = Services.get(info.services(), RateTiers)
          return docsPage(c, {
            title: options.title ?? "Rocket Relay",
            stylesheet: STYLESHEET_PATH,
            origin: requestOrigin(c.req.raw).origin,
            models,
            tiers: tiers.tiers,
            defaultTier: tiers.defaultTier,
            proxied: [...PROXIED_ROUTES, ...contributedRoutes(info.endpoints())].filter(serves),
            account: ACCOUNT_ROUTES.filter(serves),
            exampleModel: models.find((model) => model.kind === "chat")?.id ?? "gpt-4o-mini",
            consolePath: serves({ method: "GET", path: "/console", description: "" }) ? "/console" : undefined
          })
        }

        app.get("/", page)
        app.get("/docs", page)
        app.get(STYLESHEET_PATH, (c) => c.body(STYLESHEET, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }))
      }
    })))
