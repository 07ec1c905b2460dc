/** Rounding for the numbers the checks put in messages and details. */

/** Rounds to one decimal. */
export const round1 = (n: number): number => Math.round(n * 10) / 10;
