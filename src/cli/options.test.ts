import { describe, expect, it } from 'vitest';
import {
  decimalInteger,
  looksLikeRunIds,
  OptionError,
  parseMaxFileSize,
  parseMaxWork,
  parseRunIds,
  parseSizeOption,
} from './options.js';

describe('decimalInteger: the one integer parser', () => {
  it('takes plain decimal digits up to 2^53 - 1', () => {
    expect(decimalInteger('0')).toBe(0);
    expect(decimalInteger('42')).toBe(42);
    expect(decimalInteger('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
  });
  it('refuses every other form Number() would take', () => {
    for (const bad of [
      '',
      ' 1',
      '1 ',
      '+1',
      '-1',
      '01',
      '0x10',
      '0b1',
      '0o7',
      '1e3',
      '1.0',
      '.5',
      '1_000',
      'Infinity',
      '9007199254740992',
      '１',
    ]) {
      expect(decimalInteger(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe('sizes', () => {
  it('digits with an optional binary unit, within the bounds', () => {
    expect(parseMaxFileSize(undefined)).toBe(2 ** 20);
    expect(parseMaxFileSize('100MiB')).toBe(100 * 2 ** 20);
    expect(parseMaxFileSize('2GiB')).toBe(2 ** 31);
    expect(parseMaxFileSize('2097152KiB')).toBe(2 ** 31);
    expect(parseMaxFileSize('1')).toBe(1);
    expect(parseMaxFileSize('1B')).toBe(1);
    expect(() => parseMaxFileSize('2147483649B')).toThrow(OptionError);
    expect(() => parseMaxFileSize('1.5MiB')).toThrow(/--max-file-size must be a size .*, not '1.5MiB'$/);
    expect(() => parseSizeOption('--x', '9007199254740991TiB', 0, Number.MAX_SAFE_INTEGER, 'a size')).toThrow(
      /--x must be a size, not '9007199254740991TiB'/,
    );
  });
});

describe('--max-work', () => {
  it('a positive integer or unlimited', () => {
    expect(parseMaxWork('1')).toBe(1);
    expect(parseMaxWork('unlimited')).toBe(Number.POSITIVE_INFINITY);
    for (const bad of ['0x10', '1e9', ' 1', '0', 'Unlimited', 'unlimited ']) {
      expect(() => parseMaxWork(bad), bad).toThrow(/^--max-work must be a positive integer/);
    }
  });
});

describe('run ids', () => {
  it('comma lists without blanks; a range gets a hint', () => {
    expect(parseRunIds('--runs', '3,1,2')).toEqual([3, 1, 2]);
    expect(() => parseRunIds('--runs', '1, 2')).toThrow(/'1, 2' is not a run id list: ' 2' is not a run id/);
    expect(() => parseRunIds('--runs', '2-4')).toThrow(/ranges are not taken: list them \(2,3,4\)/);
    expect(() => parseRunIds('--runs', '1,5-90')).toThrow(/ranges are not taken: list the ids/);
  });
  it('report arguments that mean ids, and those that mean files', () => {
    for (const ids of ['1', '3,4', '0x1', '1-3', '1e1', ' 1', '+1', '-1'])
      expect(looksLikeRunIds(ids), ids).toBe(true);
    for (const file of ['scenario.yaml', '2024.yaml', '7.json', './1', 'runs/3', 'x1', '']) {
      expect(looksLikeRunIds(file), file).toBe(false);
    }
  });
});
