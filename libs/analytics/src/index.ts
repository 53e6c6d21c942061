export * from './sql-files.js';
export * from './model/index.js';
export * from './catalog.js';
export * from './schema.js';
export * from './run-sql.js';
