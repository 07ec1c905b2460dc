/**
 * The four prom-client classes the daemon uses, each required from its own file. prom-client's
 * index also loads its default metrics, push gateway and cluster aggregator (and through them
 * @opentelemetry/api and node:cluster): about 7 MB of resident memory in a daemon that uses none
 * of them (npm run bench). The types are prom-client's own.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof PromClient.Histogram;
export type Registry = PromClient.Registry;
export type Counter = PromClient.Counter;
export type Gauge = PromClient.Gauge;
export type Histogram = PromClient.Histogram;
