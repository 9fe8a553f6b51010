/**
 * The gallery's script and style, inlined into index.html and allowed by their hashes in its Content-Security-
 * Policy (so the page needs no file beside it and no inline handler could run). Plain ES2020 for any browser.
 * Every name, path and field of the catalog reaches the page through textContent, a property or an encoded URL:
 * never through innerHTML or a markup string.
 */

export const GALLERY_SCRIPT = String.raw`(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('catalog').textContent);
  const assets = data.assets;
  const PAGE = 120;
  const byId = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const href = (path) => path.split('/').map(encodeURIComponent).join('/');
  const bytes = (n) => {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let v = n;
    let u = 0;
    while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
    return u === 0 ? v + ' B' : v.toFixed(v < 10 ? 1 : 0) + ' ' + units[u];
  };
  const day = (iso) => (iso ? iso.slice(0, 10) + ' ' + iso.slice(11, 16) : 'no date');
  const IMAGE = /\.(png|jpe?g|webp|gif|avif)$/i;
  const mainOf = (a) => a.files.find((f) => f.role === 'main');
  const thumbOf = (a) => {
    const main = mainOf(a);
    if (a.mediaType === 'image' && main && main.state === 'ok' && IMAGE.test(main.path)) {
      const preview = a.files.find((f) => f.role === 'preview' && f.state === 'ok' && IMAGE.test(f.path));
      return preview || main;
    }
    return a.files.find((f) => f.role === 'preview' && f.state === 'ok' && IMAGE.test(f.path));
  };
  const sizeOf = (a) => a.files.reduce((n, f) => n + f.bytes, 0);
  const problemOf = (f) =>
    f.state === 'missing' ? 'missing' : f.state === 'damaged' ? 'damaged: ' + bytes(f.actualBytes) + ' on disk, ' + bytes(f.bytes) + ' expected' : '';
  // Search covers the name, the prompt, the seed, the model and the file names.
  for (const a of assets) {
    a.search = [a.name, a.prompt || '', a.seed || '', a.model || '', a.files.map((f) => f.path).join(' ')].join(' ').toLowerCase();
  }

  // Totals.
  const count = (key) => assets.reduce((m, a) => m.set(a[key], (m.get(a[key]) || 0) + 1), new Map());
  const types = count('mediaType');
  const models = new Map();
  for (const a of assets) if (a.model) models.set(a.model, (models.get(a.model) || 0) + 1);
  const deletedCount = assets.filter((a) => a.fate && a.fate.state === 'deleted').length;
  const accounts = count('account');
  const files = assets.flatMap((a) => a.files);
  const missing = files.filter((f) => f.state === 'missing').length;
  const damaged = files.filter((f) => f.state === 'damaged').length;
  const totals = [
    assets.length + ' assets',
    files.length + ' files',
    bytes(files.reduce((n, f) => n + f.bytes, 0)),
    [...types].map(([t, n]) => n + ' ' + t).join(', '),
  ];
  if (deletedCount) totals.push(deletedCount + ' deleted on Runway, kept here');
  byId('totals').textContent = totals.join(' · ');
  if (missing || damaged) {
    const warn = byId('problems');
    warn.textContent = missing + ' missing, ' + damaged + ' damaged: run runway-backup backup with the same --out to fetch them again';
    warn.hidden = false;
  }
  byId('generated').textContent = 'Made ' + day(data.generatedAt);

  const fill = (select, map, label) => {
    for (const key of [...map.keys()].sort()) {
      const option = el('option', '', (key || label) + ' (' + map.get(key) + ')');
      option.value = key;
      select.append(option);
    }
  };
  fill(byId('type'), types, 'other');
  fill(byId('account'), accounts, 'default account');
  if (accounts.size < 2) byId('account').hidden = true;
  fill(byId('model'), models, 'no model');
  if (models.size === 0) byId('model').hidden = true;

  // Media are attached only when their card comes near the viewport.
  const loader = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const img = entry.target;
      loader.unobserve(img);
      img.src = img.dataset.src;
    }
  }, { rootMargin: '600px' });

  const openPlayer = (box, a, main) => {
    const player = el(a.mediaType === 'audio' ? 'audio' : 'video', 'player');
    player.controls = true;
    player.preload = 'metadata';
    player.src = href(main.path);
    if (player.tagName === 'VIDEO') player.playsInline = true;
    const note = el('p', 'unplayable', 'This browser cannot play this file; use "Open file".');
    note.hidden = true;
    player.addEventListener('error', () => { note.hidden = false; });
    box.replaceChildren(player, note);
    player.play().catch(() => {});
  };

  const card = (a) => {
    const main = mainOf(a);
    const node = el('article', 'card');
    node.dataset.type = a.mediaType;
    node.dataset.assetId = a.assetId;
    const box = el('div', 'media ' + a.mediaType);
    const thumb = thumbOf(a);
    if (thumb) {
      const img = el('img');
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      img.dataset.src = href(thumb.path);
      img.addEventListener('error', () => { box.classList.add('broken'); img.remove(); });
      box.append(img);
      loader.observe(img);
    } else {
      box.append(el('span', 'icon', a.mediaType));
    }
    const playable = main && main.state === 'ok' && (a.mediaType === 'video' || a.mediaType === 'audio');
    if (playable) {
      const play = el('button', 'play', '▶');
      play.type = 'button';
      play.title = 'Play';
      play.addEventListener('click', () => openPlayer(box, a, main));
      box.append(play);
    }
    node.append(box);
    const body = el('div', 'body');
    const title = el('h2', 'name', a.name || '(no name)');
    title.title = a.name;
    title.tabIndex = 0;
    title.addEventListener('click', () => openDetail(a));
    title.addEventListener('keydown', (e) => { if (e.key === 'Enter') openDetail(a); });
    body.append(title);
    const badges = el('p', 'badges');
    if (a.favorite) badges.append(el('span', 'badge fav', '★ favourite'));
    if (a.fate && a.fate.state === 'deleted') badges.append(el('span', 'badge deleted', 'deleted on Runway'));
    if (a.fate && a.fate.state === 'out-of-reach') badges.append(el('span', 'badge reach', 'out of reach'));
    if (a.model) badges.append(el('span', 'badge model', a.model));
    if (badges.childNodes.length) body.append(badges);
    body.append(el('p', 'meta', day(a.createdAt) + ' · ' + a.mediaType + ' · ' + bytes(sizeOf(a)) + (a.account ? ' · ' + a.account : '')));
    for (const f of a.files) {
      const problem = problemOf(f);
      if (!problem) continue;
      body.append(el('p', 'problem', (f.role === 'main' ? 'file' : 'preview ' + (f.index + 1)) + ' ' + problem));
    }
    if (main) {
      const link = el('a', 'open', main.state === 'ok' ? 'Open file' : 'Open file (' + main.state + ')');
      link.href = href(main.path);
      link.target = '_blank';
      link.rel = 'noopener';
      body.append(link);
    }
    node.append(body);
    return node;
  };

  // The detail view: everything the record holds, as text; the player and links point at the files beside the page.
  const dialog = byId('detail');
  const row = (list, label, value) => {
    if (value === undefined || value === null || value === '') return;
    list.append(el('dt', '', label), el('dd', '', String(value)));
  };
  const openDetail = (a) => {
    const main = mainOf(a);
    const box = el('div', 'large');
    if (main && main.state === 'ok' && (a.mediaType === 'video' || a.mediaType === 'audio')) {
      const player = el(a.mediaType === 'audio' ? 'audio' : 'video', 'player');
      player.controls = true;
      player.preload = 'metadata';
      player.src = href(main.path);
      box.append(player);
    } else {
      const thumb = thumbOf(a);
      if (thumb) { const img = el('img'); img.alt = ''; img.src = href(thumb.path); box.append(img); }
    }
    const head = el('h2', 'detail-name', a.name || '(no name)');
    const parts = [box, head];
    if (a.fate && a.fate.state === 'deleted') parts.push(el('p', 'badge deleted', 'deleted on Runway ' + day(a.fate.since) + ': kept here'));
    if (a.fate && a.fate.state === 'out-of-reach') parts.push(el('p', 'badge reach', 'out of reach of the listing since ' + day(a.fate.since)));
    if (a.prompt) {
      const prompt = el('div', 'prompt');
      const text = el('p', 'prompt-text', a.prompt);
      const copy = el('button', 'copy', 'Copy prompt');
      copy.type = 'button';
      copy.addEventListener('click', () => {
        const done = () => { copy.textContent = 'Copied'; };
        if (navigator.clipboard) navigator.clipboard.writeText(a.prompt).then(done, () => { copy.textContent = 'Select and copy'; });
      });
      prompt.append(text, copy);
      parts.push(prompt);
    }
    const list = el('dl', 'facts');
    row(list, 'Seed', a.seed);
    row(list, 'Model', a.model);
    if (a.settings) for (const key of Object.keys(a.settings)) {
      const v = a.settings[key];
      row(list, key, typeof v === 'string' ? v : JSON.stringify(v));
    }
    row(list, 'Dimensions', a.width && a.height ? a.width + ' × ' + a.height : '');
    row(list, 'Duration', a.duration !== undefined ? a.duration + ' s' : '');
    row(list, 'Created', day(a.createdAt));
    row(list, 'Folder', a.folder);
    row(list, 'Favourite', a.favorite === undefined ? '' : a.favorite ? 'yes' : 'no');
    row(list, 'Type', a.mediaType);
    row(list, 'Asset id', a.assetId);
    parts.push(list);
    const links = el('ul', 'links');
    const link = (label, path) => {
      const item = el('li');
      const anchor = el('a', '', label);
      anchor.href = href(path);
      anchor.target = '_blank';
      anchor.rel = 'noopener';
      item.append(anchor);
      links.append(item);
    };
    for (const f of a.files) link((f.role === 'main' ? 'File' : 'Preview ' + f.index) + ' (' + bytes(f.bytes) + (f.state === 'ok' ? '' : ', ' + f.state) + ')', f.path);
    if (a.sidecar) link('Metadata (JSON)', a.sidecar);
    parts.push(links);
    byId('detail-body').replaceChildren(...parts);
    if (typeof dialog.showModal === 'function') dialog.showModal(); else dialog.setAttribute('open', '');
  };
  byId('close').addEventListener('click', () => { byId('detail-body').replaceChildren(); dialog.close(); });

  let shown = [];
  let rendered = 0;
  const grid = byId('grid');
  const more = () => {
    const end = Math.min(shown.length, rendered + PAGE);
    const fragment = document.createDocumentFragment();
    for (let i = rendered; i < end; i++) fragment.append(card(shown[i]));
    grid.append(fragment);
    rendered = end;
  };
  const apply = () => {
    const type = byId('type').value;
    const account = byId('account').value;
    const model = byId('model').value;
    const favorites = byId('favorites').checked;
    const deleted = byId('deleted').checked;
    const terms = byId('search').value.toLowerCase().split(/\s+/).filter(Boolean);
    const oldest = byId('sort').value === 'oldest';
    shown = assets.filter((a) =>
      (type === '*' || a.mediaType === type) &&
      (account === '*' || a.account === account) &&
      (model === '*' || a.model === model) &&
      (!favorites || a.favorite === true) &&
      (!deleted || (a.fate && a.fate.state === 'deleted')) &&
      terms.every((t) => a.search.includes(t)));
    shown.sort((x, y) => (x.createdAt === y.createdAt ? 0 : (x.createdAt < y.createdAt) === oldest ? -1 : 1));
    grid.replaceChildren();
    rendered = 0;
    more();
    byId('shown').textContent = 'Showing ' + shown.length + ' of ' + assets.length;
    byId('empty').hidden = shown.length > 0;
  };
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && rendered < shown.length) more();
  }, { rootMargin: '800px' }).observe(byId('more'));
  for (const id of ['type', 'account', 'model', 'favorites', 'deleted', 'sort']) byId(id).addEventListener('change', apply);
  byId('search').addEventListener('input', apply);
  apply();
  document.body.dataset.ready = 'true';
})();
`;

export const GALLERY_STYLE = `
:root { color-scheme: dark; --bg: #111; --card: #1c1c1e; --muted: #9a9aa0; --accent: #7cc4ff; --bad: #ff7a6b; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: #eee; font: 14px/1.4 system-ui, sans-serif; }
header { position: sticky; top: 0; z-index: 2; background: #111e; padding: 12px 16px; border-bottom: 1px solid #333; }
h1 { font-size: 18px; margin: 0 0 4px; }
.totals, .generated, .shown { color: var(--muted); margin: 0 0 8px; }
.problems { color: var(--bad); margin: 0 0 8px; }
.controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
input, select { background: #222; color: #eee; border: 1px solid #444; border-radius: 6px; padding: 6px 8px; font: inherit; }
input[type=search] { min-width: 260px; flex: 1; max-width: 480px; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 14px; padding: 16px; }
.card { background: var(--card); border-radius: 10px; overflow: hidden; display: flex; flex-direction: column; }
.media { position: relative; aspect-ratio: 16 / 9; background: #000; display: flex; align-items: center; justify-content: center; }
.media img, .media video { width: 100%; height: 100%; object-fit: cover; }
.media audio { width: 92%; }
.media.broken::after { content: 'cannot display'; color: var(--bad); }
.icon { color: var(--muted); text-transform: uppercase; letter-spacing: 2px; }
.play { position: absolute; inset: auto auto 10px 10px; width: 44px; height: 44px; border-radius: 50%; border: 0; background: #000a; color: #fff; font-size: 18px; cursor: pointer; }
.play:hover { background: var(--accent); color: #000; }
.body { padding: 8px 10px 10px; display: flex; flex-direction: column; gap: 4px; }
.name { font-size: 13px; font-weight: 600; margin: 0; overflow: hidden; text-overflow: ellipsis; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow-wrap: anywhere; }
.meta { color: var(--muted); font-size: 12px; margin: 0; overflow-wrap: anywhere; }
.problem { color: var(--bad); font-size: 12px; margin: 0; }
.unplayable { color: var(--bad); font-size: 12px; position: absolute; bottom: 0; }
.open { color: var(--accent); font-size: 12px; }
.empty { color: var(--muted); padding: 16px; }
.name { cursor: pointer; }
.badges { display: flex; flex-wrap: wrap; gap: 4px; margin: 0; }
.badge { font-size: 11px; border-radius: 4px; padding: 1px 5px; background: #333; color: #ddd; margin: 0; }
.badge.deleted { background: #5a1d18; color: #ffb3a8; }
.badge.reach { background: #4a4014; color: #ffe9a0; }
.badge.fav { background: #1d3a5a; color: #bfe0ff; }
dialog { background: var(--card); color: #eee; border: 1px solid #444; border-radius: 10px; width: min(960px, 94vw); max-height: 92vh; overflow: auto; }
dialog::backdrop { background: #000c; }
.large video, .large img { width: 100%; max-height: 60vh; object-fit: contain; background: #000; }
.large audio { width: 100%; }
.detail-name { font-size: 16px; overflow-wrap: anywhere; }
.prompt { display: flex; gap: 8px; align-items: flex-start; }
.prompt-text { white-space: pre-wrap; overflow-wrap: anywhere; flex: 1; margin: 0; background: #111; padding: 8px; border-radius: 6px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.links a, #close, .copy { color: var(--accent); }
button.copy, #close { background: #222; border: 1px solid #444; border-radius: 6px; padding: 4px 8px; cursor: pointer; }
`;
