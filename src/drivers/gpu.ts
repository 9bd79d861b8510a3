/**
 * The SVM GPU driver: its code lives in src/drivers/gpu/ (one file per concern; see
 * gpu/index.ts). This module keeps the old import path working.
 */
export * from './gpu/index.js';
