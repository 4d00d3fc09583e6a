import { describe, expect, it } from 'vitest';
import { checkWidens } from '../../src/analysis/rules/bc-constraints.ts';

/** BC110 stays silent only when every row the old CHECK accepts passes the new one. */
describe('checkWidens', () => {
  it('the same check, however it is written, widens nothing away', () => {
    expect(checkWidens('CHECK ((age >= 0))', '`age` >= 0')).toBe(true);
  });
  it('the same bound written with decimals (a check re-added after int -> decimal) widens nothing away', () => {
    // Caught by the mutation check: with `nop === '<=' && oop === '<'` these read as narrowings.
    expect(checkWidens('price <= 100', 'price <= 100.00')).toBe(true);
    expect(checkWidens('price < 100', 'price < 100.0')).toBe(true);
    expect(checkWidens('price >= 0', 'price >= 0.00')).toBe(true);
    expect(checkWidens('price > 0', 'price > 0.0')).toBe(true);
  });
  it('a list of allowed values that gained values widens; one that lost a value does not', () => {
    expect(checkWidens("status IN ('a','b')", "status IN ('a','b','c')")).toBe(true);
    expect(checkWidens("status IN ('a','b','c')", "status IN ('a','b')")).toBe(false);
    expect(checkWidens("status IN ('a','b')", "kind IN ('a','b','c')")).toBe(false);
  });
  it('an upper bound moved up widens; moved down does not; < to <= on the same bound widens, <= to < does not', () => {
    expect(checkWidens('age < 100', 'age < 150')).toBe(true);
    expect(checkWidens('age < 150', 'age < 100')).toBe(false);
    expect(checkWidens('age < 100', 'age <= 100')).toBe(true);
    expect(checkWidens('age <= 100', 'age < 100')).toBe(false);
    expect(checkWidens('age <= 100', 'age <= 100.5')).toBe(true);
  });
  it('a lower bound moved down widens; moved up does not; > to >= on the same bound widens, >= to > does not', () => {
    expect(checkWidens('age > 0', 'age > -1')).toBe(true);
    expect(checkWidens('age > -1', 'age > 0')).toBe(false);
    expect(checkWidens('age > 0', 'age >= 0')).toBe(true);
    expect(checkWidens('age >= 0', 'age > 0')).toBe(false);
  });
  it('a bound on another column, a bound turned around, or a form it does not know: not a widening', () => {
    expect(checkWidens('age < 100', 'height < 150')).toBe(false);
    expect(checkWidens('age < 100', 'age > 0')).toBe(false);
    expect(checkWidens('age < 100', 'age < 150 AND age > 0')).toBe(false);
    expect(checkWidens('length(name) > 0', 'length(name) > 1')).toBe(false);
  });
});
