/** Durations in milliseconds, for workflow and activity code alike (workflows may import only pure modules). */
export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;
