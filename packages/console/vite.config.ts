import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The console is built into dist/ and served by the PatchPilot server, under its CSP
// (script-src 'self'): no inline scripts, so no module-preload polyfill injected into the page.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
  },
});
