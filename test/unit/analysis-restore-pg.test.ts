import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergePgDumps, partialPgDump, splitPgDump } from '../../src/engines/postgres/dump-text.ts';

// pg_dump 15 --schema-only --no-owner --no-privileges --no-comments of a small schema: an enum,
// a function, a table with a space in its name, a free-standing sequence, identity and serial
// columns, constraints, an index, a trigger and a foreign key.
const dump = readFileSync(join(import.meta.dirname, '../fixtures/pg-dump/schema.sql'), 'utf8');
const objects = (text: string): string[] => (splitPgDump(text)?.entries ?? []).map((e) => `${e.type}:${e.name}${e.table ? `@${e.table}` : ''}`);

describe('pg_dump cut per table (re-plan partial restore)', () => {
  it('finds the table each object belongs to, reading the statement rather than the header', () => {
    expect(objects(dump)).toEqual([
      'TYPE:mood',
      'FUNCTION:f()',
      'TABLE:Odd Name@Odd Name',
      'SEQUENCE:invoice_no',
      'TABLE:orders@orders',
      'SEQUENCE:orders_id_seq@orders',
      'TABLE:users@users',
      'SEQUENCE:users_id_seq',
      'SEQUENCE OWNED BY:users_id_seq@users',
      'DEFAULT:users id@users',
      'CONSTRAINT:Odd Name Odd Name_pkey@Odd Name',
      'CONSTRAINT:orders orders_pkey@orders',
      'CONSTRAINT:users users_email_key@users',
      'CONSTRAINT:users users_pkey@users',
      'INDEX:orders_user@orders',
      'TRIGGER:orders tr@orders',
      'FK CONSTRAINT:orders orders_user_id_fkey@orders',
    ]);
  });

  it('keeps the schema-wide objects and the chosen tables with their sequences, nothing else', () => {
    const cut = partialPgDump(dump, new Set(['users']))!;
    expect(objects(cut)).toEqual([
      'TYPE:mood',
      'FUNCTION:f()',
      'SEQUENCE:invoice_no',
      'TABLE:users@users',
      'SEQUENCE:users_id_seq',
      'SEQUENCE OWNED BY:users_id_seq@users',
      'DEFAULT:users id@users',
      'CONSTRAINT:users users_email_key@users',
      'CONSTRAINT:users users_pkey@users',
    ]);
    expect(cut.startsWith('--\n-- PostgreSQL database dump')).toBe(true);
  });

  it('declines a cut whose foreign key would point at a table left out, or a table it does not have', () => {
    expect(partialPgDump(dump, new Set(['orders']))).toBeUndefined();
    expect(partialPgDump(dump, new Set(['orders', 'users']))).toBeDefined();
    expect(partialPgDump(dump, new Set(['nope']))).toBeUndefined();
  });

  it('declines objects it does not know (a view), so the caller restores everything', () => {
    const withView = dump.replace(
      '--\n-- Name: orders_user; Type: INDEX',
      '--\n-- Name: v; Type: VIEW; Schema: public; Owner: -\n--\n\nCREATE VIEW public.v AS SELECT 1;\n\n\n--\n-- Name: orders_user; Type: INDEX',
    );
    expect(splitPgDump(withView)).toBeUndefined();
  });

  it('merges a partial run back into the full dump in pg_dump order', () => {
    const cut = partialPgDump(dump, new Set(['Odd Name']))!;
    // What the shadow holds after the new migration: the table changed, a new table beside it.
    const fresh = cut
      .replace('CREATE TABLE public."Odd Name" (\n    id integer NOT NULL\n);', 'CREATE TABLE public."Odd Name" (\n    id integer NOT NULL,\n    note text\n);')
      .replace(
        '--\n-- Name: Odd Name Odd Name_pkey',
        '--\n-- Name: extra; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.extra (\n    id integer\n);\n\n\n--\n-- Name: Odd Name Odd Name_pkey',
      );
    expect(fresh).toContain('note text');
    const merged = mergePgDumps(dump, fresh, new Set(['Odd Name']))!;
    const names = objects(merged);
    expect(names.filter((n) => n.startsWith('TABLE:'))).toEqual(['TABLE:orders@orders', 'TABLE:users@users', 'TABLE:Odd Name@Odd Name', 'TABLE:extra@extra']);
    expect(names.filter((n) => n === 'TYPE:mood' || n === 'SEQUENCE:invoice_no')).toEqual(['TYPE:mood', 'SEQUENCE:invoice_no']);
    expect(names.at(-1)).toBe('FK CONSTRAINT:orders orders_user_id_fkey@orders');
    expect(merged).toContain('note text');
    expect(names).toHaveLength(objects(dump).length + 1);
  });
});
