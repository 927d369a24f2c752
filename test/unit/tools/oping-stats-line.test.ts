import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowStatsLine } from '../../../src/tools/oping/client.js';
import type { Flow } from '../../../src/lib/api.js';

test('oping prints an FRCT line only for flows with FRCT', () => {
  const frct = { retransmitted: 3, duplicates: 1, outOfOrder: 2, srttMs: 1.23456, window: 200 };
  assert.equal(
    flowStatsLine({ stats: { crcErrors: 4, frct } } as unknown as Flow),
    'frct: 3 retransmitted, 1 duplicates, 2 out of order, 4 crc errors, srtt 1.235 ms, window 200',
  );
  assert.equal(flowStatsLine({ stats: { crcErrors: 0, frct: undefined } } as unknown as Flow), undefined);
  assert.equal(flowStatsLine({} as unknown as Flow), undefined);
});
