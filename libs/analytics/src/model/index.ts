export * from './churn-model.js';
export * from './features.js';
export * from './heuristic.js';
export * from './logistic.js';
export * from './metrics.js';
