// Response helpers shared by the demo API and the test endpoints.
import { createHash } from 'node:crypto';

export const JSON_TYPE = 'application/json; charset=utf-8';

export function strongEtag(body) {
  return '"' + createHash('sha256').update(body).digest('base64url').slice(0, 22) + '"';
}

// If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
export function notModified(req, etag, lastModified) {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    if (!etag) return false;
    const bare = etag.replace(/^W\//, '');
    return inm.trim() === '*' ||
      inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
  }
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined && lastModified) {
    const since = Date.parse(ims);
    return !Number.isNaN(since) && Date.parse(lastModified) <= since;
  }
  return false;
}

// Sends a complete body with explicit Content-Length; answers 304 when validators match.
export function sendBody(req, res, status, body, headers = {}) {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const etag = headers.ETag;
  const lastModified = headers['Last-Modified'];
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) res.setHeader(name, value);
  }
  const cacheable = req.method === 'GET' || req.method === 'HEAD';
  if (status === 200 && cacheable && notModified(req, etag, lastModified)) {
    res.removeHeader('Content-Type');
    res.writeHead(304);
    res.end();
    return;
  }
  res.setHeader('Content-Length', buf.length);
  res.writeHead(status);
  res.end(req.method === 'HEAD' ? undefined : buf);
}

export function sendJson(req, res, status, value, headers = {}) {
  sendBody(req, res, status, JSON.stringify(value), { 'Content-Type': JSON_TYPE, ...headers });
}

export function sendError(req, res, status, code, message, headers = {}) {
  sendJson(req, res, status, { error: { code, message } },
    { 'Cache-Control': 'no-store', ...headers });
}

// Resolves once the writable can take more data or has closed; callers re-check for close.
export function drained(stream) {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

// Reads a request body completely (for small JSON bodies only), with a size cap.
export function readSmallBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}
