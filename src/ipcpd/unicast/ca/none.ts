/** Congestion avoidance off: never waits, never marks, never answers. */
import { CongestionPolicy } from '../../../common/ipcp-types.js';
import type { CaFlow, CaPolicy } from './index.js';

const noneFlow: CaFlow = Object.freeze({
  beforeSend: () => 0,
  onReceive: () => undefined,
  onUpdate: () => {},
  stats: () => ({}),
});

export const nonePolicy: CaPolicy = Object.freeze({
  name: 'none',
  type: CongestionPolicy.NONE,
  newFlow: () => noneFlow,
  mark: () => 0,
});
