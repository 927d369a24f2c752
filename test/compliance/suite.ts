/**
 * The compliance suite every IPCP type must pass. A fixture provides two
 * systems joined by a layer of the type under test, with `serverName`
 * reachable from the client system only through that layer (never as a
 * direct flow), and a way to start a server for it on the server system.
 */
import type { TestSystem } from '../helpers/system.js';

export interface ComplianceFixture {
  /** The IPCP type under test, e.g. `local`, `udp4`. */
  type: string;
  /** Where clients run. */
  client: TestSystem;
  /** Where servers run (may be the same system as `client` for the local type). */
  server: TestSystem;
  /**
   * Registers a fresh name in the layer on the server system and makes it
   * resolvable from the client system; returns the name.
   */
  newName(): Promise<string>;
  /** Stops everything the fixture started. */
  stop(): Promise<void>;
}

export type FixtureFactory = () => Promise<ComplianceFixture>;

/** Defines the suite's tests for one IPCP type (call at the top level of a test file). */
export { defineComplianceSuite } from './cases.js';
