/** Wall clock, for adapters and services only: the engine takes time from its events. */
export interface Clock {
  now(): number;
}
