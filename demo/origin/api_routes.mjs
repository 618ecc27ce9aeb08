// The demo JSON API: the kind of backend the proxy is meant to sit in front of.
import { createHash } from 'node:crypto';
import { createDataset, STATUSES, PRIORITIES, TAGS } from './data.mjs';
import { sendBody, sendJson, sendError, strongEtag, readSmallBody, JSON_TYPE } from './respond.mjs';

// Freshness per resource class: details change more often than lists of sites.
const CC = {
  list: 'public, max-age=60',
  detail: 'public, max-age=60',
  sites: 'public, max-age=300',
  search: 'public, max-age=30',
  dashboard: 'public, max-age=15',
  filterOptions: 'public, max-age=3600',
  private: 'private, no-cache',
  none: 'no-store',
};

const httpDate = (isoTime) => new Date(isoTime).toUTCString();
const latest = (items) => items.reduce((max, o) => (o.updated_at > max ? o.updated_at : max),
  '2024-01-01T00:00:00Z');

export function createApi({ startedAt = Date.now() } = {}) {
  const data = createDataset();

  function page(req, res, url, items, extraMeta = {}) {
    const pageNo = intParam(url, 'page', 1);
    const perPage = intParam(url, 'per_page', 25);
    if (pageNo === null || pageNo < 1 || perPage === null || perPage < 1 || perPage > 100) {
      sendError(req, res, 400, 'bad_request', 'page must be >= 1 and per_page 1..100');
      return null;
    }
    const slice = items.slice((pageNo - 1) * perPage, pageNo * perPage);
    return { data: slice, meta: { page: pageNo, per_page: perPage, total: items.length,
      ...extraMeta } };
  }

  function listWorkOrders(req, res, url) {
    const status = url.searchParams.get('status');
    if (status && !STATUSES.includes(status)) {
      return sendError(req, res, 400, 'bad_request', `unknown status "${status}"`);
    }
    const items = status ? data.workOrders.filter((o) => o.status === status) : data.workOrders;
    const body = page(req, res, url, items);
    if (body) {
      sendJson(req, res, 200, body, { 'Cache-Control': CC.list,
        'Last-Modified': httpDate(latest(body.data)) });
    }
  }

  function showWorkOrder(req, res, url, id) {
    const order = data.workOrders[Number(id) - 1];
    if (!order) return sendError(req, res, 404, 'not_found', `work order ${id} not found`);
    detail(req, res, order, CC.detail);
  }

  function detail(req, res, item, cacheControl) {
    // Serialised once so the ETag is computed on exactly the bytes sent.
    const body = JSON.stringify({ data: item });
    sendBody(req, res, 200, body, { 'Content-Type': JSON_TYPE, 'Cache-Control': cacheControl,
      ETag: strongEtag(body),
      'Last-Modified': httpDate(item.updated_at ?? '2024-01-01T00:00:00Z') });
  }

  async function createWorkOrder(req, res) {
    let input;
    try {
      input = JSON.parse((await readSmallBody(req)).toString('utf8'));
    } catch (err) {
      const status = err.status ?? 400;
      return sendError(req, res, status, 'bad_request', 'body must be a JSON object');
    }
    if (typeof input?.title !== 'string' || input.title.trim() === '') {
      return sendError(req, res, 422, 'invalid', 'title is required');
    }
    const order = data.addWorkOrder(input);
    sendJson(req, res, 201, { data: order }, { 'Cache-Control': CC.none,
      Location: `/api/v1/work-orders/${order.id}` });
  }

  function listSites(req, res, url) {
    const body = page(req, res, url, data.sites);
    if (body) sendJson(req, res, 200, body, { 'Cache-Control': CC.sites });
  }

  function showSite(req, res, url, id) {
    const site = data.sites[Number(id) - 1];
    if (!site) return sendError(req, res, 404, 'not_found', `site ${id} not found`);
    const open = data.workOrders.filter((o) => o.site.id === site.id && o.status === 'open');
    detail(req, res, { ...site, open_work_orders: open.length }, CC.detail);
  }

  function dashboard(req, res) {
    const count = (key, values) => Object.fromEntries(values.map((v) =>
      [v, data.workOrders.filter((o) => o[key] === v).length]));
    sendJson(req, res, 200, { data: {
      total: data.workOrders.length,
      by_status: count('status', STATUSES),
      by_priority: count('priority', PRIORITIES),
      urgent_open: data.workOrders.filter((o) => o.priority === 'urgent' &&
        o.status === 'open').length,
      sites: data.sites.length,
    } }, { 'Cache-Control': CC.dashboard });
  }

  function search(req, res, url) {
    const q = (url.searchParams.get('q') ?? '').trim().toLowerCase();
    if (!q) return sendError(req, res, 400, 'bad_request', 'q is required');
    const hits = data.workOrders.filter((o) => o.title.toLowerCase().includes(q));
    const body = page(req, res, url, hits, { q });
    if (body) sendJson(req, res, 200, body, { 'Cache-Control': CC.search });
  }

  function filterOptions(req, res) {
    sendJson(req, res, 200, { data: {
      statuses: STATUSES,
      priorities: PRIORITIES,
      tags: TAGS,
      sites: data.sites.map(({ id, name }) => ({ id, name })),
      assignees: data.people,
    } }, { 'Cache-Control': CC.filterOptions });
  }

  // Preferences belong to the caller; the user is derived from the credential.
  function preferences(req, res) {
    const credential = req.headers.authorization ?? '';
    const digest = createHash('sha256').update(credential).digest();
    const person = data.people[digest[0] % data.people.length];
    sendJson(req, res, 200, { data: {
      user: person,
      locale: ['en-GB', 'de-DE', 'fr-FR', 'nl-NL'][digest[1] % 4],
      per_page: [25, 50, 100][digest[2] % 3],
      default_status_filter: STATUSES[digest[3] % 2],
    } }, { 'Cache-Control': CC.private, Vary: 'Authorization' });
  }

  function health(req, res) {
    sendJson(req, res, 200, { status: 'ok',
      uptime_s: Math.round((Date.now() - startedAt) / 1000) }, { 'Cache-Control': CC.none });
  }

  const routes = [
    ['GET', /^\/health$/, health],
    ['GET', /^\/api\/v1\/work-orders$/, listWorkOrders],
    ['POST', /^\/api\/v1\/work-orders$/, createWorkOrder],
    ['GET', /^\/api\/v1\/work-orders\/([^/]+)$/, showWorkOrder],
    ['GET', /^\/api\/v1\/sites$/, listSites],
    ['GET', /^\/api\/v1\/sites\/([^/]+)$/, showSite],
    ['GET', /^\/api\/v1\/dashboard$/, dashboard],
    ['GET', /^\/api\/v1\/search$/, search],
    ['GET', /^\/api\/v1\/filter-options$/, filterOptions],
    ['GET', /^\/api\/v1\/me\/preferences$/, preferences],
  ];

  // Returns false when no API route has this path.
  return function handle(req, res, url) {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const matching = routes.filter(([, re]) => re.test(url.pathname));
    if (matching.length === 0) return false;
    const route = matching.find(([m]) => m === method);
    if (!route) {
      const allow = [...new Set(matching.flatMap(([m]) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))];
      sendError(req, res, 405, 'method_not_allowed', `${req.method} not allowed`,
        { Allow: allow.join(', ') });
      return true;
    }
    const [, re, fn] = route;
    const params = url.pathname.match(re).slice(1);
    fn(req, res, url, ...params);
    return true;
  };
}

function intParam(url, name, fallback) {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  return /^\d{1,6}$/.test(raw) ? Number(raw) : null;
}
