export * from './errors.js';
export * from './health.js';
export * from './ingest.js';
export * from './sources.js';
export * from './imports.js';
export * from './analytics.js';
export * from './segments.js';
export * from './dashboard.js';
