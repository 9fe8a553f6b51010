import { createHash } from 'node:crypto';
import { GALLERY_MARKER } from '../store/own-files.js';
import { GALLERY_SCRIPT, GALLERY_STYLE } from './browser.js';
import type { GalleryCatalog } from './catalog.js';

export { GALLERY_MARKER };

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Nothing from elsewhere: the script and style run only by their hashes (so no inline handler, no injected script
 * does), media come from the folder itself (`'self'` over http, `file:` when opened from disk), no other origin.
 */
export const GALLERY_CSP = [
  "default-src 'none'",
  `script-src ${hash(GALLERY_SCRIPT)}`,
  `style-src ${hash(GALLERY_STYLE)}`,
  "img-src 'self' file:",
  "media-src 'self' file:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * JSON that cannot end its `<script>` block nor open a comment or CDATA there: `<`, `>` and `&` become unicode
 * escapes, which JSON.parse reads back as the same characters. U+2028/U+2029 too, for older parsers.
 */
export function jsonForScript(value: unknown): string {
  // One pass: the catalogue of thousands of assets is about a megabyte, and each pass was another copy of it.
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => SCRIPT_ESCAPES[c] ?? c);
}

const SCRIPT_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** The whole page: one file that needs nothing but the media beside it. */
export function renderGalleryPage(catalog: GalleryCatalog): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${GALLERY_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
${GALLERY_MARKER}
<title>Runway backup</title>
<style>${GALLERY_STYLE}</style>
</head>
<body>
<header>
<h1>Runway backup</h1>
<p class="totals" id="totals"></p>
<p class="problems" id="problems" hidden></p>
<div class="controls">
<input type="search" id="search" placeholder="Search names, prompts, seeds, models" aria-label="Search names, prompts, seeds and models">
<select id="type" aria-label="Media type"><option value="*">All types</option></select>
<select id="account" aria-label="Account"><option value="*">All accounts</option></select>
<select id="model" aria-label="Model"><option value="*">All models</option></select>
<label><input type="checkbox" id="favorites"> Favourites</label>
<label><input type="checkbox" id="deleted"> Deleted on Runway</label>
<select id="sort" aria-label="Sort"><option value="newest">Newest first</option><option value="oldest">Oldest first</option></select>
<span class="shown" id="shown"></span>
<span class="generated" id="generated"></span>
</div>
</header>
<main id="grid"></main>
<p class="empty" id="empty" hidden>Nothing matches.</p>
<div id="more"></div>
<dialog id="detail" aria-label="Asset details"><button type="button" id="close">Close</button><div id="detail-body"></div></dialog>
<script type="application/json" id="catalog">${jsonForScript(catalog)}</script>
<script>${GALLERY_SCRIPT}</script>
</body>
</html>
`;
}
