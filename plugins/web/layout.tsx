/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from "hono"
import type { ContentfulStatusCode } from "hono/utils/http-status"
import type { Child } from "hono/jsx"
import type { HtmlEscapedString } from "hono/utils/html"

export interface LayoutProps {
  readonly title: string
  /** Where the page's stylesheet is served. */
  readonly stylesheet: string
  /** A script served by the page's own plugin, if it needs one. */
  readonly script?: string
  /** Links in the top bar. */
  readonly nav?: Child
  readonly children?: Child
}

/** The frame of every page: landmarks, a skip link to the content, the stylesheet. */
export const Layout = (props: LayoutProps) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="no-referrer" />
      <title>{props.title}</title>
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href={props.stylesheet} />
      {props.script === undefined ? null : <script src={props.script} defer />}
    </head>
    <body>
      <a class="skip" href="#content">Skip to content</a>
      <header class="top">
        <div class="bar">
          <a class="brand" href="/docs">Rocket Relay</a>
          <nav aria-label="Main">{props.nav}</nav>
        </div>
      </header>
      <main id="content" tabindex={-1}>{props.children}</main>
    </body>
  </html>
)

/**
 * Headers for the relay's own pages: scripts and styles only from the relay itself (so an
 * injected tag cannot run), no framing, no referrer leaking paths.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
}

/** Renders a page as a complete HTML response, keeping headers already set on `c` (cookies). */
export const htmlPage = async (
  c: Context,
  page: HtmlEscapedString | Promise<HtmlEscapedString>,
  status: ContentfulStatusCode = 200,
  headers: Readonly<Record<string, string>> = {}
): Promise<Response> => c.html(`<!doctype html>${await page}`, status, { ...PAGE_HEADERS, ...headers })
