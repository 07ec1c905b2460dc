// Shared test helper.
import type { CxError } from '../../core/errors.js';

/** The rejection of a promise (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<CxError & Record<string, any>> {
  try {
    await p;
  } catch (e) {
    return e as CxError & Record<string, any>;
  }
  throw new Error('expected a rejection');
}
