// Drives Greenroom's catalog API with Backstage's own client,
// @backstage/catalog-client, against a server running the demo catalog.
//
//   node catalog-client.mjs <base URL, e.g. http://127.0.0.1:PORT/api/catalog> <probe catalog file>
//
// The probe file holds one Component, `e2e-probe`, that is not in the
// catalog: it is registered, found and removed again. Prints one line per
// check; exits non-zero at the first failure. tests/e2e/catalog_client.rs
// runs it.

import assert from 'node:assert/strict';
import { CatalogClient } from '@backstage/catalog-client';

const [baseUrl, probeFile] = process.argv.slice(2);
if (!baseUrl || !probeFile) {
  console.error('usage: node catalog-client.mjs <catalog API base URL> <probe catalog file>');
  process.exit(2);
}

const catalog = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => baseUrl },
  fetchApi: { fetch },
});

let checks = 0;
async function check(name, body) {
  try {
    await body();
  } catch (error) {
    console.error(`FAIL ${name}`);
    console.error(error?.stack ?? error);
    if (error?.body) console.error(JSON.stringify(error.body));
    process.exit(1);
  }
  checks += 1;
  console.log(`ok   ${name}`);
}

/** The ResponseError a call rejects with; fails when it resolves. */
async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to be refused');
}

const CHECKOUT = 'component:default/checkout-service';
const PROBE = 'component:default/e2e-probe';
const names = items => items.map(e => e.metadata.name);

let components = [];

await check('getEntities filters and keeps only the fields asked for', async () => {
  const { items } = await catalog.getEntities({
    filter: { kind: 'Component', 'relations.ownedBy': 'group:default/team-checkout' },
    fields: ['kind', 'metadata.name', 'spec.owner'],
  });
  assert.ok(names(items).includes('checkout-service'), names(items).join(', '));
  for (const item of items) {
    assert.deepEqual(Object.keys(item).sort(), ['kind', 'metadata', 'spec']);
    assert.deepEqual(Object.keys(item.metadata), ['name']);
    assert.equal(item.kind, 'Component');
    assert.equal(item.spec.owner, 'team-checkout');
  }
});

await check('getEntities orders and pages with offset and limit', async () => {
  const all = await catalog.getEntities({
    filter: { kind: 'component' },
    fields: ['metadata.name'],
    order: { field: 'metadata.name', order: 'desc' },
  });
  components = names(all.items);
  assert.ok(components.length > 50, `${components.length} components`);
  assert.deepEqual(components, [...components].sort().reverse());
  const window = await catalog.getEntities({
    filter: { kind: 'component' },
    fields: ['metadata.name'],
    order: { field: 'metadata.name', order: 'desc' },
    offset: 5,
    limit: 3,
  });
  assert.deepEqual(names(window.items), components.slice(5, 8));
});

await check('queryEntities pages through every match with cursors, without overlap', async () => {
  const seen = [];
  let response = await catalog.queryEntities({
    filter: { kind: 'component' },
    fields: ['metadata.name'],
    orderFields: { field: 'metadata.name', order: 'asc' },
    limit: 7,
  });
  const total = response.totalItems;
  assert.equal(total, components.length);
  assert.equal(response.pageInfo.prevCursor, undefined, 'the first page has no previous one');
  let pages = 1;
  seen.push(...names(response.items));
  const firstPage = names(response.items);
  let secondPage;
  while (response.pageInfo.nextCursor) {
    response = await catalog.queryEntities({ cursor: response.pageInfo.nextCursor, limit: 7 });
    assert.equal(response.totalItems, total, 'every page counts the same total');
    pages += 1;
    if (pages === 2) secondPage = response;
    for (const name of names(response.items)) {
      assert.ok(!seen.includes(name), `${name} is on two pages`);
      seen.push(name);
    }
  }
  assert.equal(seen.length, total);
  assert.equal(pages, Math.ceil(total / 7));
  assert.deepEqual(seen, [...components].reverse(), 'in name order');
  const back = await catalog.queryEntities({ cursor: secondPage.pageInfo.prevCursor, limit: 7 });
  assert.deepEqual(names(back.items), firstPage, 'the previous page of page 2 is page 1');
});

await check('streamEntities reads every page', async () => {
  let count = 0;
  for await (const page of catalog.streamEntities({ filter: { kind: 'component' }, pageSize: 10 })) {
    count += page.length;
  }
  assert.equal(count, components.length);
});

await check('queryEntities filters on full text', async () => {
  const { items, totalItems } = await catalog.queryEntities({
    fullTextFilter: { term: 'Checkout', fields: ['metadata.name'] },
    fields: ['metadata.name'],
  });
  assert.ok(names(items).includes('checkout-service'), names(items).join(', '));
  assert.ok(names(items).every(n => n.includes('checkout')), names(items).join(', '));
  assert.equal(totalItems, items.length);
});

await check('queryEntities refuses a malformed cursor with an InputError', async () => {
  const error = await rejection(catalog.queryEntities({ cursor: 'bm90LWEtY3Vyc29y' }));
  assert.equal(error.response?.status, 400);
  assert.equal(error.body?.error?.name, 'InputError');
});

await check('getEntityByRef finds an entity with its relations', async () => {
  const entity = await catalog.getEntityByRef(CHECKOUT);
  assert.equal(entity.metadata.name, 'checkout-service');
  assert.equal(entity.spec.owner, 'team-checkout');
  assert.equal(entity.spec.system, 'storefront');
  const relations = type => entity.relations.filter(r => r.type === type).map(r => r.targetRef);
  assert.deepEqual(relations('providesApi'), ['api:default/checkout-api']);
  assert.equal(relations('consumesApi').length, 8);
  assert.deepEqual(relations('ownedBy'), ['group:default/team-checkout']);
  assert.equal(await catalog.getEntityByRef('component:default/does-not-exist'), undefined);
});

await check('the broken demo entity was left out and its neighbour kept', async () => {
  assert.ok(await catalog.getEntityByRef('component:default/legacy-billing-adapter'));
  const { items } = await catalog.getEntities({ filter: { 'metadata.name': 'Legacy_Billing!' } });
  assert.deepEqual(items, []);
});

await check('getEntitiesByRefs answers in order, with undefined for a missing ref', async () => {
  const { items } = await catalog.getEntitiesByRefs({
    entityRefs: [CHECKOUT, 'group:default/team-checkout', 'component:default/nope', 'user:default/priya.raman'],
    fields: ['kind', 'metadata.name'],
  });
  assert.equal(items.length, 4);
  assert.deepEqual(items[0], { kind: 'Component', metadata: { name: 'checkout-service' } });
  assert.deepEqual(items[1], { kind: 'Group', metadata: { name: 'team-checkout' } });
  assert.equal(items[2], undefined);
  assert.deepEqual(items[3], { kind: 'User', metadata: { name: 'priya.raman' } });
});

await check('getEntityFacets counts values of the matching entities', async () => {
  const { facets } = await catalog.getEntityFacets({
    facets: ['kind', 'spec.lifecycle'],
    filter: { kind: 'component' },
  });
  assert.deepEqual(facets.kind, [{ value: 'Component', count: components.length }]);
  const lifecycles = facets['spec.lifecycle'];
  assert.ok(lifecycles.some(f => f.value === 'production'), JSON.stringify(lifecycles));
  assert.equal(lifecycles.reduce((sum, f) => sum + f.count, 0), components.length);
});

await check('getEntityAncestors leads from the entity up to its location', async () => {
  const { rootEntityRef, items } = await catalog.getEntityAncestors({ entityRef: CHECKOUT });
  assert.equal(rootEntityRef, CHECKOUT);
  assert.equal(items[0].entity.metadata.name, 'checkout-service');
  assert.equal(items[0].parentEntityRefs.length, 1);
  assert.ok(items.length >= 2, `${items.length} items`);
  for (const item of items.slice(1)) assert.equal(item.entity.kind, 'Location');
});

await check('getLocations lists the demo location', async () => {
  const { items } = await catalog.getLocations();
  assert.ok(items.length >= 1);
  for (const location of items) {
    assert.ok(location.id && location.type && location.target, JSON.stringify(location));
  }
  const demo = await catalog.getLocationByEntity(CHECKOUT);
  assert.ok(items.some(l => l.id === demo.id), 'the location of checkout-service is listed');
  assert.deepEqual(await catalog.getLocationById(demo.id), demo);
});

let probeLocation;

await check('addLocation with dryRun reads without registering', async () => {
  const { location, entities, exists } = await catalog.addLocation({ type: 'file', target: probeFile, dryRun: true });
  assert.equal(exists, false);
  assert.equal(location.target, probeFile);
  assert.ok(names(entities).includes('e2e-probe'), names(entities).join(', '));
  assert.equal(await catalog.getEntityByRef(PROBE), undefined, 'nothing was stored');
});

await check('addLocation registers, and the entity is in the catalog', async () => {
  const { location, entities } = await catalog.addLocation({ type: 'file', target: probeFile });
  assert.deepEqual(entities, []);
  assert.equal(location.type, 'file');
  assert.equal(location.target, probeFile);
  assert.match(location.entityRef, /^location:default\/generated-/);
  probeLocation = location;
  const probe = await catalog.getEntityByRef(PROBE);
  assert.equal(probe?.spec?.owner, 'team-checkout');
});

await check('getLocationById and getLocationByEntity find it', async () => {
  assert.deepEqual(await catalog.getLocationById(probeLocation.id), probeLocation);
  assert.deepEqual(await catalog.getLocationByEntity(PROBE), probeLocation);
  assert.equal(await catalog.getLocationById('no-such-location'), undefined);
});

await check('addLocation refuses a location registered already (409 ConflictError)', async () => {
  const error = await rejection(catalog.addLocation({ type: 'file', target: probeFile }));
  assert.equal(error.response?.status, 409);
  assert.equal(error.body?.error?.name, 'ConflictError');
});

await check('refreshEntity reads the entity\'s location again', async () => {
  await catalog.refreshEntity(PROBE);
  await catalog.refreshEntity(CHECKOUT);
});

await check('removeLocationById removes the location and its entities', async () => {
  await catalog.removeLocationById(probeLocation.id);
  assert.equal(await catalog.getLocationById(probeLocation.id), undefined);
  assert.equal(await catalog.getEntityByRef(PROBE), undefined);
});

await check('validateEntity accepts a valid entity and explains an invalid one', async () => {
  const entity = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'fresh-service' },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-checkout' },
  };
  const location = 'url:https://example.com/catalog-info.yaml';
  assert.deepEqual(await catalog.validateEntity(entity, location), { valid: true });
  const bad = { ...entity, metadata: { name: 'Not A Name!' } };
  const result = await catalog.validateEntity(bad, location);
  assert.equal(result.valid, false);
  assert.ok(result.errors.length > 0);
  assert.ok(result.errors.some(e => e.message.includes('metadata.name')), JSON.stringify(result.errors));
});

console.log(`${checks} checks passed`);
