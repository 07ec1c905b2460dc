/** A usage problem of doctor: raised as a coded error with exit code 3 (UNKNOWN: nothing was judged). */
export class UsageProblem extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
