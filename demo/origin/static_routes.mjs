// Fingerprint-style static assets: immutable, cacheable for a year.
import { sendBody, strongEtag } from './respond.mjs';

const LAST_MODIFIED = new Date(Date.UTC(2024, 0, 8, 8, 0, 0)).toUTCString();

const APP_JS = `// Work order board: fetches the list and renders one row per order.
const list = document.querySelector('#orders');
async function load(page = 1) {
  const res = await fetch('/api/v1/work-orders?page=' + page + '&per_page=25');
  const { data, meta } = await res.json();
  list.replaceChildren(...data.map((wo) => {
    const li = document.createElement('li');
    li.className = 'wo wo-' + wo.status;
    li.textContent = wo.number + ' ' + wo.title + ' - ' + wo.site.name;
    return li;
  }));
  document.querySelector('#total').textContent = String(meta.total);
}
load();
`;

const APP_CSS = `:root { --accent: #0b6e4f; --muted: #6b7280; }
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #111827; }
header { background: var(--accent); color: white; padding: 12px 24px; }
.wo { padding: 8px 24px; border-bottom: 1px solid #e5e7eb; }
.wo-completed { color: var(--muted); text-decoration: line-through; }
.wo-urgent { font-weight: 600; }
`;

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <rect width="64" height="64" rx="12" fill="#0b6e4f"/>
  <path d="M16 20h32v6H24v6h20v6H24v6h24v6H16z" fill="#fff"/>
</svg>
`;

const ASSETS = new Map([
  ['/static/app.js', ['text/javascript; charset=utf-8', APP_JS]],
  ['/static/app.css', ['text/css; charset=utf-8', APP_CSS]],
  ['/static/logo.svg', ['image/svg+xml', LOGO_SVG]],
].map(([path, [type, text]]) => [path, { type, body: Buffer.from(text), etag: strongEtag(text) }]));

// Returns false when the path is not a static asset.
export function handleStatic(req, res, url) {
  const asset = ASSETS.get(url.pathname);
  if (!asset) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
    res.end();
    return true;
  }
  sendBody(req, res, 200, asset.body, {
    'Content-Type': asset.type,
    'Cache-Control': 'public, max-age=31536000, immutable',
    ETag: asset.etag,
    'Last-Modified': LAST_MODIFIED,
  });
  return true;
}
