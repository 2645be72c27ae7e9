/**
 * The in-process API of icsim, as the package exports it (`import { Instance } from 'icsim'`):
 * the `Instance` class, the types it takes and returns, call results, and the IC's reject and
 * error codes with the simulator's own typed errors.
 *
 * @example
 * import { Instance } from 'icsim';
 * const ic = Instance.create({ subnets: [{ kind: 'Application' }] });
 */
export { Instance, type InstanceOptions } from './instance.ts';
export type { CallResult, MessageLink, Reply, Reject, TrapReport } from './result.ts';
export * from './types.ts';
export * from './errors.ts';
export {
  MockReject,
  type MockCallResult,
  type MockContext,
  type MockHandler,
  type MockMethod,
  type MockMethods,
} from './mocks/types.ts';
export { candidMethod } from './mocks/candid.ts';
