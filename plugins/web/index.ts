/**
 * What the relay's own web pages share (the docs and console plugins): the page frame, its
 * security headers, the stylesheet, and the origin clients reach the relay at. Not a plugin.
 */
export { displayUsd } from "./format.ts"
export { htmlPage, Layout, type LayoutProps, PAGE_HEADERS } from "./layout.tsx"
export { requestOrigin } from "./origin.ts"
export { STYLESHEET } from "./style.ts"
