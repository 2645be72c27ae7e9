import { describe, expect, it } from 'vitest';
import { InstanceError, MAX_TIMER_DELAY_MS } from './errors.ts';
import { Instance } from './instance.ts';

describe('Instance.startAutoProgress', () => {
  it('refuses a delay no Node timer can wait (it would fire every millisecond) and stays not live', () => {
    const ic = Instance.create({ subnets: [{ kind: 'Application' }] });
    try {
      for (const bad of [MAX_TIMER_DELAY_MS + 1, 2 ** 53, -1, 0.5]) {
        let error: unknown;
        try {
          ic.startAutoProgress(bad);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(InstanceError);
        expect((error as InstanceError).kind).toBe('InvalidAutoProgressDelay');
        expect((error as Error).message).toContain(`artificial_delay_ms ${bad} is out of range`);
        expect(ic.isAutoProgress()).toBe(false);
      }
      ic.startAutoProgress(MAX_TIMER_DELAY_MS);
      expect(ic.isAutoProgress()).toBe(true);
    } finally {
      ic.delete();
    }
  });
});
