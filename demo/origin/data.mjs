// Deterministic demo data: a fixed seed always yields the same sites, people and work orders,
// so cached and uncached answers can be compared byte for byte.

const BASE_TIME = Date.UTC(2024, 0, 8, 8, 0, 0);
const HOUR = 3600 * 1000;

export const STATUSES = ['open', 'in_progress', 'on_hold', 'completed', 'cancelled'];
export const PRIORITIES = ['low', 'medium', 'high', 'urgent'];
export const TAGS = ['hvac', 'electrical', 'plumbing', 'safety', 'preventive', 'inspection',
  'cleaning', 'it', 'security', 'elevator'];

const CITIES = [
  ['Lyon', 'FR'], ['Hamburg', 'DE'], ['Rotterdam', 'NL'], ['Milan', 'IT'], ['Porto', 'PT'],
  ['Gdansk', 'PL'], ['Ghent', 'BE'], ['Aarhus', 'DK'], ['Valencia', 'ES'], ['Graz', 'AT'],
  ['Leeds', 'GB'], ['Tampere', 'FI'],
];
const SITE_KINDS = ['Warehouse', 'Distribution Center', 'Plant', 'Office', 'Depot', 'Store'];
const FIRST = ['Ana', 'Ben', 'Chloe', 'David', 'Elif', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas',
  'Kasia', 'Luca', 'Mira', 'Noah', 'Olga', 'Pavel'];
const LAST = ['Martin', 'Schulz', 'de Vries', 'Rossi', 'Silva', 'Nowak', 'Peeters', 'Jensen',
  'Garcia', 'Huber', 'Clarke', 'Virtanen'];
const ACTIONS = ['Replace', 'Inspect', 'Repair', 'Service', 'Calibrate', 'Clean', 'Test',
  'Upgrade'];
const ASSETS = ['HVAC filter', 'fire extinguishers', 'loading dock door', 'forklift battery',
  'emergency lighting', 'roof drain', 'access control panel', 'boiler', 'conveyor belt',
  'sprinkler valve', 'freight elevator', 'server room UPS'];
const AREAS = ['north wing', 'bay 3', 'main entrance', 'level 2', 'cold storage', 'yard'];

// Small seeded PRNG (mulberry32); Math.random would make every run different.
function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function workOrderNumber(id) {
  return `WO-${String(id).padStart(6, '0')}`;
}

function makeSites(rand) {
  return CITIES.map(([city, country], i) => ({
    id: i + 1,
    name: `${city} ${SITE_KINDS[Math.floor(rand() * SITE_KINDS.length)]}`,
    address: { street: `${10 + Math.floor(rand() * 190)} Industrial Road`, city, country },
    timezone: 'Europe/' + (country === 'GB' ? 'London' : city),
  }));
}

function makePeople(rand) {
  return FIRST.map((first, i) => ({
    id: 100 + i,
    name: `${first} ${LAST[Math.floor(rand() * LAST.length)]}`,
  }));
}

function makeWorkOrder(id, rand, sites, people) {
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const created = BASE_TIME + id * 3 * HOUR + Math.floor(rand() * 3600) * 1000;
  const updated = created + Math.floor(rand() * 240) * HOUR;
  const site = pick(sites);
  const assignee = pick(people);
  const tags = [...new Set([pick(TAGS), pick(TAGS)])].sort();
  return {
    id,
    number: workOrderNumber(id),
    title: `${pick(ACTIONS)} ${pick(ASSETS)} (${pick(AREAS)})`,
    status: pick(STATUSES),
    priority: pick(PRIORITIES),
    created_at: iso(created),
    updated_at: iso(updated),
    assignee: { id: assignee.id, name: assignee.name },
    site: { id: site.id, name: site.name, address: { city: site.address.city,
      country: site.address.country } },
    tags,
  };
}

export function createDataset({ seed = 20240108, workOrders = 240 } = {}) {
  const rand = seededRandom(seed);
  const sites = makeSites(rand);
  const people = makePeople(rand);
  const orders = [];
  for (let id = 1; id <= workOrders; id++) orders.push(makeWorkOrder(id, rand, sites, people));

  // Created orders are kept in memory only; a restart returns to the seeded state.
  function addWorkOrder(input) {
    const id = orders.length + 1;
    const site = sites.find((s) => s.id === input.site_id) ?? sites[0];
    const assignee = people.find((p) => p.id === input.assignee_id) ?? people[0];
    const now = iso(Date.now());
    const order = {
      id,
      number: workOrderNumber(id),
      title: input.title,
      status: 'open',
      priority: PRIORITIES.includes(input.priority) ? input.priority : 'medium',
      created_at: now,
      updated_at: now,
      assignee: { id: assignee.id, name: assignee.name },
      site: { id: site.id, name: site.name, address: { city: site.address.city,
        country: site.address.country } },
      tags: Array.isArray(input.tags) ? input.tags.filter((t) => typeof t === 'string') : [],
    };
    orders.push(order);
    return order;
  }

  return { sites, people, workOrders: orders, addWorkOrder };
}
