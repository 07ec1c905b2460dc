/**
 * String order without ICU. `localeCompare` and `Intl.Collator` load ICU's collation data on
 * first use, which then stays resident (several MB in the daemon, for its whole life); names,
 * ids and file names only need an order that is stable and the same on every host.
 */

/** Compares by UTF-16 code units (the order of a plain `.sort()` of strings): a sort comparator. */
export const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
