// Requests through node's own HTTP client, as an ordinary well-behaved client would send them.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// Resolves {status, headers, rawHeaders, body (Buffer), bytes, sha256}. `body` may be a
// string/Buffer or an iterable/async iterable of chunks (streamed with backpressure);
// `keepBody: false` only hashes the response body. `onRequest(req)` sees the request object
// (its 'finish' event says the request has been handed to the socket).
export function request(port, { method = 'GET', path = '/', headers = {}, body, agent = false,
  host = '127.0.0.1', timeoutMs = 30000, keepBody = true, onResponse, onRequest } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, headers, agent }, (res) => {
      onResponse?.(res);
      const hash = createHash('sha256');
      const parts = [];
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
        hash.update(chunk);
        if (keepBody) parts.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        rawHeaders: res.rawHeaders, body: Buffer.concat(parts), bytes,
        sha256: hash.digest('hex'), complete: res.complete }));
      res.on('error', reject);
    });
    onRequest?.(req);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out: ${path}`)));
    req.on('error', reject);
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      pipeline(Readable.from(body, { objectMode: false }), req).catch(reject);
    }
  });
}

export async function getJson(port, path, options = {}) {
  const res = await request(port, { path, ...options });
  return { ...res, json: JSON.parse(res.body.toString('utf8')) };
}
