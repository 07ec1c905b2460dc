/** The error catalogue lives in the SDK (sdk/errors.ts) so plugins raise the same coded errors. */
export * from '../sdk/errors.js';
