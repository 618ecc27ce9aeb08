// Request and connection counters for the /_test/ endpoints. Control requests (stats, reset)
// are not counted, and neither is a connection that carried only control requests, so that
// asking for the numbers does not change them.

const EPOCH = Symbol('statsEpoch');
const KIND = Symbol('statsKind');  // 'idle' | 'control' | 'data'

export function createStats() {
  let epoch = 0;
  let requests = 0;
  let accepted = 0;
  let controlOnly = 0;
  let byPath = new Map();

  return {
    onConnection(socket) {
      socket[EPOCH] = epoch;
      socket[KIND] = 'idle';
      accepted++;
    },
    onRequest(socket, path, control) {
      const current = socket[EPOCH] === epoch;
      if (control) {
        if (current && socket[KIND] === 'idle') {
          socket[KIND] = 'control';
          controlOnly++;
        }
        return;
      }
      if (current && socket[KIND] === 'control') controlOnly--;
      socket[KIND] = 'data';
      requests++;
      byPath.set(path, (byPath.get(path) ?? 0) + 1);
    },
    // Connections accepted before a reset are no longer counted, even if they carry requests.
    reset() {
      epoch++;
      requests = 0;
      accepted = 0;
      controlOnly = 0;
      byPath = new Map();
    },
    snapshot() {
      return { requests, connections: accepted - controlOnly,
        byPath: Object.fromEntries(byPath) };
    },
  };
}
