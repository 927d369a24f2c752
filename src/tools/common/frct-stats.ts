/** The FRCT statistics of a flow, for the tools' o7s lines (oping, operf). */
import type { Flow } from '../../lib/api.js';
import type { PathStats } from '../../lib/sdu-path.js';
import type { FrctStats } from '../../lib/frct/frct.js';

/** A flow's CRC errors and FRCT statistics; undefined for flows without FRCT (raw). */
export function frctStatsOf(flow: Flow): { crcErrors: number; frct: FrctStats } | undefined {
  const st = (flow as Flow & { stats?: PathStats }).stats;
  return st?.frct ? { crcErrors: st.crcErrors, frct: st.frct } : undefined;
}
