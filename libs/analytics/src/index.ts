export * from './sql-files.js';
