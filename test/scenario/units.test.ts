import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../src/scenario/units.js';

describe('sizes', () => {
  it('reads numbers of bytes and binary units', () => {
    expect(parseSize(4096)).toEqual({ ok: true, value: 4096 });
    expect(parseSize('4096')).toEqual({ ok: true, value: 4096 });
    expect(parseSize('512B')).toEqual({ ok: true, value: 512 });
    expect(parseSize('64KiB')).toEqual({ ok: true, value: 65536 });
    expect(parseSize('2 MiB')).toEqual({ ok: true, value: 2 ** 21 });
    expect(parseSize('1GiB')).toEqual({ ok: true, value: 2 ** 30 });
    expect(parseSize('1TiB')).toEqual({ ok: true, value: 2 ** 40 });
    // Fractions of a byte are dropped.
    expect(parseSize('12.8GiB')).toEqual({ ok: true, value: 13743895347 });
    expect(parseSize('.5KiB')).toEqual({ ok: true, value: 512 });
  });

  it('refuses the rest, suggesting a binary unit for a decimal or lower-case one', () => {
    expect(parseSize(-1)).toEqual({ ok: false, reason: 'negative' });
    expect(parseSize('-1GiB')).toEqual({ ok: false, reason: 'negative' });
    expect(parseSize(1.5)).toEqual({ ok: false, reason: 'malformed' });
    expect(parseSize(Number.POSITIVE_INFINITY)).toEqual({ ok: false, reason: 'malformed' });
    expect(parseSize('lots')).toEqual({ ok: false, reason: 'malformed' });
    expect(parseSize('1GB')).toEqual({ ok: false, reason: 'unit', unit: 'GB', suggestion: '1GiB' });
    expect(parseSize('4kib')).toEqual({ ok: false, reason: 'unit', unit: 'kib', suggestion: '4KiB' });
    expect(parseSize('4 parsecs')).toEqual({ ok: false, reason: 'unit', unit: 'parsecs' });
  });

  it('formats exactly, in the largest unit that divides', () => {
    expect(formatSize(2 ** 21)).toBe('2MiB');
    expect(formatSize(3 * 2 ** 10)).toBe('3KiB');
    expect(formatSize(4097)).toBe('4097B');
    expect(formatSize(2 ** 40)).toBe('1TiB');
  });
});

describe('durations', () => {
  it('reads ns numbers and ns/us/µs/ms/s strings', () => {
    expect(parseDuration(1500)).toEqual({ ok: true, value: 1500 });
    expect(parseDuration('2s')).toEqual({ ok: true, value: 2e9 });
    expect(parseDuration('10ms')).toEqual({ ok: true, value: 1e7 });
    expect(parseDuration('150us')).toEqual({ ok: true, value: 150_000 });
    expect(parseDuration('3µs')).toEqual({ ok: true, value: 3000 });
    expect(parseDuration('7 ns')).toEqual({ ok: true, value: 7 });
    expect(parseDuration('0.5s')).toEqual({ ok: true, value: 5e8 });
  });

  it('refuses the rest', () => {
    expect(parseDuration('-1s')).toEqual({ ok: false, reason: 'negative' });
    expect(parseDuration('2 sec')).toEqual({ ok: false, reason: 'unit', unit: 'sec', suggestion: '2s' });
    expect(parseDuration('2h')).toEqual({ ok: false, reason: 'unit', unit: 'h' });
    expect(parseDuration('soon')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('formats exactly', () => {
    expect(formatDuration(2e9)).toBe('2s');
    expect(formatDuration(150_000)).toBe('150us');
    expect(formatDuration(7)).toBe('7ns');
  });
});
