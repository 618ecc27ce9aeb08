// The origin HTTP server: demo API, static assets and the /_test/ endpoints behind one handler.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createApi } from './api_routes.mjs';
import { handleStatic } from './static_routes.mjs';
import { createTestRoutes, isControlPath } from './test_routes.mjs';
import { createStats } from './stats.mjs';
import { sendError } from './respond.mjs';

export function createOriginServer() {
  const stats = createStats();
  const api = createApi();
  const testRoutes = createTestRoutes(stats);

  async function handle(req, res) {
    let url;
    try {
      url = new URL(req.url, 'http://origin.invalid');
    } catch {
      stats.onRequest(req.socket, '<invalid>', false);
      return sendError(req, res, 400, 'bad_request', 'invalid request target');
    }
    stats.onRequest(req.socket, url.pathname, isControlPath(url.pathname));
    res.setHeader('X-Request-Id', req.headers['x-request-id'] ?? randomUUID());
    if (url.pathname.startsWith('/_test/')) return testRoutes(req, res, url);
    if (handleStatic(req, res, url) || api(req, res, url)) return;
    sendError(req, res, 404, 'not_found', `no route for ${url.pathname}`);
  }

  const server = http.createServer({
    requestTimeout: 0,          // slow uploads and /_test/hang must not be cut by the origin
    maxHeaderSize: 1 << 20,     // header limits are the proxy's to enforce, not ours
  }, (req, res) => {
    Promise.resolve(handle(req, res)).catch((err) => {
      if (!res.headersSent) sendError(req, res, 500, 'internal', String(err?.message ?? err));
      else res.destroy();
    });
  });
  // Longer than the proxy's pool idle timeout, as with typical backends behind a proxy.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (socket) => stats.onConnection(socket));
  return server;
}
