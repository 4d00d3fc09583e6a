import { describe, expect, test } from 'vitest';
import { constraintsInStatement } from '../../src/analysis/data/shadow-violations.ts';

/** Which constraint a statement adds, read before it runs on the shadow (check's DL108 counts). */
describe('constraintsInStatement', () => {
  test('FOREIGN KEY, named or not, quoted, with a schema-qualified parent; NOT VALID is not counted', () => {
    expect(
      constraintsInStatement('ALTER TABLE `orders` ADD CONSTRAINT `fk_u` FOREIGN KEY (`user_id`) REFERENCES app.`users` (`id`) ON DELETE CASCADE;', false),
    ).toEqual([{ kind: 'foreign key', table: 'orders', name: 'fk_u', columns: ['user_id'], parent: { table: 'users', columns: ['id'] } }]);
    expect(constraintsInStatement('ALTER TABLE Orders ADD FOREIGN KEY (User_Id) REFERENCES Users (Id)', true)).toEqual([
      { kind: 'foreign key', table: 'orders', name: '(unnamed)', columns: ['user_id'], parent: { table: 'users', columns: ['id'] } },
    ]);
    expect(constraintsInStatement('ALTER TABLE orders ADD CONSTRAINT fk_u FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID', true)).toEqual([]);
    expect(constraintsInStatement('ALTER TABLE orders ADD CONSTRAINT c CHECK (qty > 0) NOT VALID', true)).toEqual([]);
  });

  test('UNIQUE as a clause or an index (prefix lengths and a partial WHERE kept), CHECK, several clauses in one ALTER', () => {
    expect(
      constraintsInStatement('ALTER TABLE orders ADD UNIQUE KEY uq_code (code(10), region), ADD CONSTRAINT pos CHECK (qty > 0 AND (total >= 0))', false),
    ).toEqual([
      { kind: 'unique', table: 'orders', name: 'uq_code', columns: ['code', 'region'] },
      { kind: 'check', table: 'orders', name: 'pos', columns: [], expression: 'qty > 0 AND (total >= 0)' },
    ]);
    expect(
      constraintsInStatement('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq ON ONLY public.orders USING btree (code DESC) WHERE deleted_at IS NULL;', true),
    ).toEqual([{ kind: 'unique', table: 'orders', name: 'uq', columns: ['code'], where: 'deleted_at IS NULL' }]);
  });

  test('NOT NULL on an existing column (MODIFY, CHANGE, SET NOT NULL); a new column, a plain index and other statements add none', () => {
    expect(constraintsInStatement('ALTER TABLE orders MODIFY COLUMN qty INT NOT NULL DEFAULT 0', false)).toEqual([
      { kind: 'not null', table: 'orders', name: 'qty', columns: ['qty'] },
    ]);
    expect(constraintsInStatement('ALTER TABLE orders CHANGE qty quantity INT NOT NULL', false)).toEqual([
      { kind: 'not null', table: 'orders', name: 'qty', columns: ['qty'] },
    ]);
    expect(constraintsInStatement('ALTER TABLE orders ALTER COLUMN qty SET NOT NULL', true)).toEqual([
      { kind: 'not null', table: 'orders', name: 'qty', columns: ['qty'] },
    ]);
    expect(constraintsInStatement('ALTER TABLE orders ADD COLUMN note INT NOT NULL DEFAULT 0, MODIFY qty INT NULL', false)).toEqual([]);
    expect(constraintsInStatement('CREATE INDEX i ON orders (code)', false)).toEqual([]);
    expect(constraintsInStatement("INSERT INTO orders VALUES (1, 'a, b')", false)).toEqual([]);
  });
});
