import { describe, expect, it } from 'vitest';
import { diffSnapshots, enumChange } from '../../src/analysis/diff.ts';
import type { SchemaSnapshot, TableSnapshot } from '../../src/analysis/types.ts';
import { col, table } from '../helpers/schema.ts';

const snap = (tables: TableSnapshot[], extra: Partial<SchemaSnapshot> = {}): SchemaSnapshot => ({
  dialect: 'mysql',
  tables: Object.fromEntries(tables.map((t) => [t.name, t])),
  views: {},
  enumTypes: {},
  ...extra,
});

const users = table('users', [col('id', 1, 'int(11)', { nullable: false, default: null }), col('name', 2, 'varchar(50)'), col('email', 3, 'varchar(100)')]);

describe('diffSnapshots', () => {
  it('reports a column added at the end and one in the middle', () => {
    const after = table('users', [
      users.columns[0]!,
      col('age', 2),
      col('name', 3, 'varchar(50)'),
      col('email', 4, 'varchar(100)'),
      col('zip', 5, 'varchar(10)'),
    ]);
    const changes = diffSnapshots(snap([users]), snap([after]));
    const added = changes.filter((c) => c.kind === 'column_added');
    expect(added.map((c) => c.kind === 'column_added' && [c.column.name, c.atEnd])).toEqual([
      ['age', false],
      ['zip', true],
    ]);
    expect(changes.some((c) => c.kind === 'column_moved')).toBe(false);
  });

  it('tells the last dropped column from a middle one', () => {
    const dropLast = diffSnapshots(snap([users]), snap([table('users', users.columns.slice(0, 2))]));
    expect(dropLast).toEqual([expect.objectContaining({ kind: 'column_dropped', wasLast: true })]);
    const dropMiddle = diffSnapshots(snap([users]), snap([table('users', [users.columns[0]!, { ...users.columns[2]!, position: 2 }])]));
    expect(dropMiddle).toEqual([expect.objectContaining({ kind: 'column_dropped', wasLast: false })]);
  });

  it('sees a rename only when the SQL says RENAME', () => {
    const after = table('users', [users.columns[0]!, users.columns[1]!, { ...users.columns[2]!, name: 'mail' }]);
    const noHint = diffSnapshots(snap([users]), snap([after]));
    expect(noHint.map((c) => c.kind).sort()).toEqual(['column_added', 'column_dropped']);
    const hinted = diffSnapshots(snap([users]), snap([after]), { tables: [], columns: [{ table: 'users', from: 'email', to: 'mail' }] });
    expect(hinted).toEqual([{ kind: 'column_renamed', table: 'users', column: 'mail', from: 'email' }]);
  });

  it('follows table renames and chains', () => {
    const renamed = { ...users, name: 'people' };
    const changes = diffSnapshots(snap([users]), snap([renamed]), {
      tables: [
        { from: 'users', to: 'tmp' },
        { from: 'tmp', to: 'people' },
      ],
      columns: [],
    });
    expect(changes).toEqual([{ kind: 'table_renamed', table: 'people', from: 'users' }]);
  });

  it('classifies type changes', () => {
    const widen = diffSnapshots(snap([users]), snap([table('users', [users.columns[0]!, col('name', 2, 'varchar(80)'), users.columns[2]!])]));
    expect(widen).toEqual([expect.objectContaining({ kind: 'column_type_changed', change: 'widening' })]);
    const narrow = diffSnapshots(snap([users]), snap([table('users', [users.columns[0]!, col('name', 2, 'varchar(20)'), users.columns[2]!])]));
    expect(narrow).toEqual([expect.objectContaining({ kind: 'column_type_changed', change: 'narrowing' })]);
    const family = diffSnapshots(
      snap([users]),
      snap([table('users', [col('id', 1, 'varchar(20)', { nullable: false, default: null }), users.columns[1]!, users.columns[2]!])]),
    );
    expect(family).toEqual([expect.objectContaining({ kind: 'column_type_changed', change: 'family-change' })]);
  });

  it('reports nullability and default changes without noise from the implicit NULL default', () => {
    const after = table('users', [users.columns[0]!, col('name', 2, 'varchar(50)', { nullable: false, default: null }), users.columns[2]!]);
    expect(diffSnapshots(snap([users]), snap([after])).map((c) => c.kind)).toEqual(['column_nullability_changed']);
  });

  it('detects index, primary key, foreign key and check changes', () => {
    const after = table('users', users.columns, {
      primaryKey: ['id', 'name'],
      indexes: [{ name: 'uq_email', unique: true, columns: ['email'] }],
      foreignKeys: [{ name: 'fk', columns: ['id'], refTable: 'x', refColumns: ['id'], onDelete: 'CASCADE', onUpdate: 'RESTRICT' }],
      checks: [{ name: 'ck', expression: 'id > 0' }],
    });
    expect(
      diffSnapshots(snap([users]), snap([after]))
        .map((c) => c.kind)
        .sort(),
    ).toEqual(['check_added', 'foreign_key_added', 'index_added', 'primary_key_changed']);
  });

  it('reports a table rewrite from a changed storage id (PG relfilenode)', () => {
    const b = snap([{ ...users, storageId: '1' }], { dialect: 'postgres' });
    const a = snap([{ ...users, storageId: '2' }], { dialect: 'postgres' });
    expect(diffSnapshots(b, a)).toEqual([{ kind: 'table_rewritten', table: 'users' }]);
  });

  it('reports views and enum types', () => {
    const b = snap([], { views: { v: { name: 'v', definition: 'select 1' } }, enumTypes: { mood: ['a', 'b'] } });
    const a = snap([], { views: { w: { name: 'w', definition: 'select 1' } }, enumTypes: { mood: ['a', 'b', 'c'] } });
    expect(
      diffSnapshots(b, a)
        .map((c) => c.kind)
        .sort(),
    ).toEqual(['enum_type_changed', 'view_added', 'view_dropped']);
  });
});

describe('enumChange', () => {
  it('distinguishes append, insert, removal and reorder', () => {
    expect(enumChange(['a', 'b'], ['a', 'b', 'c'])).toEqual({ added: ['c'], removed: [], appendedOnly: true, shifted: false });
    expect(enumChange(['a', 'b'], ['a', 'x', 'b'])).toMatchObject({ appendedOnly: false, shifted: true });
    expect(enumChange(['a', 'b', 'c'], ['a', 'b'])).toMatchObject({ removed: ['c'], shifted: false });
    expect(enumChange(['a', 'b'], ['b', 'a'])).toMatchObject({ removed: [], added: [], shifted: true });
  });
});
