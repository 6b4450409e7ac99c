/**
 * The review page: Preact components bundled by Vite into dist/ui, served by the service at /
 * (assets under /ui/). JSX goes through esbuild (no Babel preset needed); nothing loads from a CDN.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: "/ui/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: path.resolve(here, "../dist/ui"),
    emptyOutDir: true,
    // Every asset is a file under /ui/assets: the page's CSP allows no inline script or data: font.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  logLevel: "warn",
});
