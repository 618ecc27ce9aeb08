// Incremental HTTP/1.x response decoder, strict about framing, so tests see exactly what the
// proxy put on the wire: Content-Length, chunked, close-delimited and bodiless responses.

const MAX_HEAD = 1 << 20;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

export class FramingError extends Error {}

function parseHead(text) {
  if (/[^\r]\n/.test(text) || text.startsWith('\n')) throw new FramingError('bare LF in head');
  const [statusLine, ...lines] = text.split('\r\n');
  const m = statusLine.match(/^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/);
  if (!m) throw new FramingError(`bad status line ${JSON.stringify(statusLine)}`);
  const rawHeaders = lines.map((line) => {
    const i = line.indexOf(':');
    if (i <= 0 || /^[ \t]/.test(line)) throw new FramingError(`bad header ${JSON.stringify(line)}`);
    return [line.slice(0, i), line.slice(i + 1).trim()];
  });
  return { httpVersion: m[1], statusCode: Number(m[2]), reason: m[3] ?? '', rawHeaders };
}

function makeResponse(head) {
  const headers = {};
  for (const [name, value] of head.rawHeaders) {
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return { ...head, headers, trailers: [], bodyChunks: [], bodyBytes: 0, complete: false,
    framing: 'none', headerValues: (name) => head.rawHeaders
      .filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v) };
}

// `onResponse(resp)` when a head is parsed, `onBody(resp, chunk)` for body bytes,
// `onComplete(resp)` when a response is complete. `isHead(i)` says whether the i-th
// (final, non-1xx) response answers a HEAD request. `keepBody` collects bodies in resp.body.
export class ResponseDecoder {
  constructor({ isHead = () => false, keepBody = true, onResponse, onBody, onComplete } = {}) {
    Object.assign(this, { isHead, keepBody, onResponse, onBody, onComplete });
    this.buf = Buffer.alloc(0);
    this.state = 'head';
    this.current = null;
    this.finalCount = 0;
    this.responses = [];
  }

  push(data) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    while (this.step()) { /* keep decoding while progress is made */ }
  }

  // The connection ended: a close-delimited body completes, anything else stays incomplete.
  end() {
    if (this.state === 'close') this.finish();
    this.ended = true;
  }

  get pending() {
    return this.state !== 'head' || this.buf.length > 0;
  }

  body(resp, chunk) {
    if (chunk.length === 0) return;
    resp.bodyBytes += chunk.length;
    if (this.keepBody) resp.bodyChunks.push(chunk);
    this.onBody?.(resp, chunk);
  }

  finish() {
    const resp = this.current;
    resp.complete = true;
    resp.body = Buffer.concat(resp.bodyChunks);
    this.current = null;
    this.state = 'head';
    this.onComplete?.(resp);
  }

  take(n) {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  line() {
    const i = this.buf.indexOf(CRLF);
    if (i < 0) {
      if (this.buf.length > MAX_HEAD) throw new FramingError('line too long');
      return null;
    }
    const text = this.take(i + 2).subarray(0, i).toString('latin1');
    if (text.includes('\n')) throw new FramingError('bare LF in chunked framing');
    return text;
  }

  step() {
    switch (this.state) {
      case 'head': return this.stepHead();
      case 'length': {
        if (this.buf.length === 0) return false;
        const chunk = this.take(Math.min(this.remaining, this.buf.length));
        this.remaining -= chunk.length;
        this.body(this.current, chunk);
        if (this.remaining === 0) this.finish();
        return true;
      }
      case 'chunk-size': {
        const text = this.line();
        if (text === null) return false;
        const m = text.match(/^([0-9A-Fa-f]+)[ \t]*(;.*)?$/);
        if (!m) throw new FramingError(`bad chunk size line ${JSON.stringify(text)}`);
        this.remaining = parseInt(m[1], 16);
        this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
        return true;
      }
      case 'chunk-data': {
        if (this.buf.length === 0) return false;
        const chunk = this.take(Math.min(this.remaining, this.buf.length));
        this.remaining -= chunk.length;
        this.body(this.current, chunk);
        if (this.remaining === 0) this.state = 'chunk-end';
        return true;
      }
      case 'chunk-end': {
        if (this.buf.length < 2) return false;
        if (!this.take(2).equals(CRLF)) throw new FramingError('chunk data not followed by CRLF');
        this.state = 'chunk-size';
        return true;
      }
      case 'trailers': {
        const text = this.line();
        if (text === null) return false;
        if (text === '') this.finish();
        else this.current.trailers.push(text);
        return true;
      }
      case 'close': {
        if (this.buf.length === 0) return false;
        this.body(this.current, this.take(this.buf.length));
        return false;
      }
      default: throw new Error(`bad state ${this.state}`);
    }
  }

  stepHead() {
    const end = this.buf.indexOf(HEAD_END);
    if (end < 0) {
      if (this.buf.length > MAX_HEAD) throw new FramingError('response head too large');
      return false;
    }
    const resp = makeResponse(parseHead(this.take(end + 4).subarray(0, end).toString('latin1')));
    this.current = resp;
    this.responses.push(resp);
    const interim = resp.statusCode >= 100 && resp.statusCode < 200 && resp.statusCode !== 101;
    resp.interim = interim;
    const forHead = !interim && this.isHead(this.finalCount);
    if (!interim) this.finalCount++;
    this.onResponse?.(resp);
    const te = resp.headers['transfer-encoding'];
    const cl = resp.headerValues('content-length');
    if (interim || forHead || resp.statusCode === 204 || resp.statusCode === 304) {
      this.finish();
    } else if (te !== undefined) {
      if (!/(^|,)\s*chunked\s*$/i.test(te)) throw new FramingError(`unexpected TE ${te}`);
      if (cl.length) throw new FramingError('both Transfer-Encoding and Content-Length');
      resp.framing = 'chunked';
      this.state = 'chunk-size';
    } else if (cl.length) {
      if (new Set(cl).size !== 1 || !/^\d+$/.test(cl[0])) {
        throw new FramingError(`bad Content-Length ${cl.join(',')}`);
      }
      resp.framing = 'length';
      this.remaining = Number(cl[0]);
      this.state = 'length';
      if (this.remaining === 0) this.finish();
    } else {
      resp.framing = 'close';
      this.state = 'close';
    }
    return true;
  }
}

// Splits everything a connection delivered into responses. The last one may be incomplete
// (complete: false) when the connection ended early. headRequests: indexes of HEAD requests.
export function parseRawResponses(buf, { headRequests = [], eof = true } = {}) {
  const decoder = new ResponseDecoder({ isHead: (i) => headRequests.includes(i) });
  decoder.push(buf);
  if (eof) decoder.end();
  for (const resp of decoder.responses) resp.body ??= Buffer.concat(resp.bodyChunks);
  return decoder.responses.filter((r) => !r.interim);
}
