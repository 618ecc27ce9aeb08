// Builds proxy YAML configs for tests: listen on a free port, one upstream "app", a catch-all
// uncached route, and whatever the test overrides.

const PLAIN = /^[A-Za-z0-9_./:*\-]+$/;

function scalar(value) {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  return PLAIN.test(text) && !/^[-:]/.test(text) ? text : JSON.stringify(text);
}

// A small block-style YAML emitter for plain objects, arrays and scalars.
export function toYaml(value, indent = '') {
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (item !== null && typeof item === 'object') {
        const inner = toYaml(item, indent + '  ');
        return `${indent}- ${inner.slice(indent.length + 2)}`;
      }
      return `${indent}- ${scalar(item)}\n`;
    }).join('');
  }
  return Object.entries(value).filter(([, v]) => v !== undefined).map(([key, v]) => {
    if (v !== null && typeof v === 'object') {
      const empty = Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
      return empty ? `${indent}${key}: ${Array.isArray(v) ? '[]' : '{}'}\n`
        : `${indent}${key}:\n${toYaml(v, indent + '  ')}`;
    }
    return `${indent}${key}: ${scalar(v)}\n`;
  }).join('');
}

// servers: ["127.0.0.1:PORT", ...]; upstream: extra keys of upstreams.app (timeouts,
// host_header, max_fails...); limits / clientTimeouts / cache / batch: the limits,
// client_timeouts, cache and batch sections.
export function proxyConfig({ servers, workers = 2, limits, clientTimeouts, cache, batch,
  upstream = {}, upstreams, routes, routeClasses } = {}) {
  return toYaml({
    listen: ['127.0.0.1:0'],
    workers,
    limits,
    client_timeouts: clientTimeouts,
    cache,
    batch,
    upstreams: upstreams ?? { app: { servers, ...upstream } },
    route_classes: routeClasses ?? { no_cache: { cache: false } },
    routes: routes ?? [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
  });
}

// The usual case: everything to one origin.
export const configFor = (origin, options = {}) =>
  proxyConfig({ servers: [origin.address], ...options });
